"""``--tune``: settings chosen on a validation split carved from training, same budget for every
model, the curve and the choice reported."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

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


@pytest.mark.slow
def test_the_pipelines_two_builds_at_once_score_as_in_order(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """With two CPUs, ``--tune`` builds the served pipeline on the training split while its
    validation build runs in another process; the tuning curve, the choice and the figures
    are those of one build after the other (one CPU)."""
    from tests.offline_eval.test_liner_ensemble import _checkerboard

    docs, beside = {}, {}
    for workers in ("1", "2"):
        monkeypatch.setenv("LINER_WORKERS", workers)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="offline_eval.runner"):
            docs[workers] = run_evaluation(
                eval_dataset=_checkerboard(),
                models=["liner"],
                model_options={"liner": {"text_model": "hash"}},
                split="user-kfold",
                k=5,
                n_boot=20,
                progress=False,
                tune=True,
            ).metrics
        beside[workers] = "validation build in a second process" in caplog.text
    assert beside == {"1": False, "2": True}
    one, two = docs["1"], docs["2"]
    assert [c["ndcg"] for c in two["tuning"]["liner"]["curve"]] == [
        c["ndcg"] for c in one["tuning"]["liner"]["curve"]
    ]
    assert two["tuning"]["liner"]["chosen"] == one["tuning"]["liner"]["chosen"]
    assert two["models"]["liner"] == one["models"]["liner"]
    assert two["models"]["liner"]["ndcg@5"]["value"] > 0  # a real fit, not empty slates


def test_a_second_build_of_the_catalog_reads_the_shared_text_vectors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``share_text`` embeds the catalog once into the text cache: the model's own build
    carries its text step over, and another model's build (the validation build of
    ``--tune``) embeds nothing. Without a cache a named model shares nothing."""
    import dataclasses

    from offline_eval.models import create_model
    from offline_eval.models.liner import HashTextModel, ServedLinerModel
    from tests.offline_eval.test_liner_ensemble import _checkerboard

    class Named(HashTextModel):
        name = "named-test-model"  # a model the text cache keys by name, as a real one

    ds = _checkerboard()
    split = make_split(ds.interactions, "user-kfold", k=5, fold=0)
    train = dataclasses.replace(ds, interactions=split.train)

    def served(options: dict[str, str]) -> ServedLinerModel:
        model = create_model("liner", options=options)
        assert isinstance(model, ServedLinerModel)
        return model

    assert served({"text_cache": "none"}).share_text(train) is False

    models = [served({"text_cache": str(tmp_path)}) for _ in range(2)]
    for m in models:
        monkeypatch.setattr(m, "_text_model", Named)
    try:
        assert models[0].share_text(train) is True
        assert any(p.glob("part-*.npy") for p in tmp_path.glob("text-*.parts"))
        with caplog.at_level(logging.INFO, logger="recsys.build"):
            models[0].fit(train, split)
        assert "step text is up to date; skipped" in caplog.text
        models[1].fit(train, split)
        assert models[1].manifest_steps["text"]["embedded"] == 0
        assert models[0].manifest_steps["text"]["embedded"] == len(ds.items)
    finally:
        for m in models:
            m.close()
