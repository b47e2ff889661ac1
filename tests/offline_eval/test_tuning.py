"""``--tune``: settings chosen on a validation split carved from training, same budget for every
model, the curve and the choice reported."""

from __future__ import annotations

from offline_eval.runner import run_evaluation
from offline_eval.splits import make_split
from offline_eval.tuning import BUDGET, GRIDS, LINER_GRID, settings_for
from tests.offline_eval.test_trust import _world


def test_every_grid_fits_the_budget_and_starts_with_the_defaults() -> None:
    for base in [*GRIDS, "liner"]:
        settings = settings_for(base)
        assert 1 <= len(settings) <= BUDGET
        grid = LINER_GRID if base == "liner" else GRIDS[base]
        assert settings[0] == {k: v[0] for k, v in grid.items()}
    assert settings_for("popularity") == [{}]


def test_tuning_chooses_on_validation_and_reports_the_curve() -> None:
    doc = run_evaluation(
        eval_dataset=_world("real"),
        models=["popularity", "itemknn"],
        n_boot=20,
        progress=False,
        tune=True,
    ).metrics
    tuned = doc["tuning"]["itemknn"]
    assert len(tuned["curve"]) == len(settings_for("itemknn"))
    assert tuned["chosen"] == max(tuned["curve"], key=lambda c: c["ndcg"])["setting"]
    assert "temporal" in tuned["validation"] or "cut-off" in tuned["validation"]
    assert doc["tuning"]["popularity"]["chosen"] == {}


def test_the_served_pipeline_is_built_once_and_tuned_on_request_parameters() -> None:
    from offline_eval.tuning import tune_model
    from tests.offline_eval.test_liner_ensemble import _checkerboard

    ds = _checkerboard()
    split = make_split(ds.interactions, "user-kfold", seed=0)
    train = ds.with_interactions(split.train)
    tuned = tune_model(
        "liner", train, split, k=5, seed=0, threads=1, options={"text_model": "hash"}, params=None
    )
    assert [c["setting"] for c in tuned["curve"]] == settings_for("liner")
    assert tuned["chosen"] == max(tuned["curve"], key=lambda c: c["ndcg"])["setting"]
    assert set(tuned["chosen"]) == {"mmr_lambda"}  # artist-first knobs are never tuned
