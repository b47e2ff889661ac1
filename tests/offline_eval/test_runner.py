"""End to end on tiny data: runner, variants with guardrails, report files, CLI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from offline_eval import run_evaluation
from offline_eval.datasets import EvalDataset
from offline_eval.models import PopularityRecommender, register_model
from offline_eval.models.base import Slates
from offline_eval.variants import VariantPlan, plan_variants
from recsys.cli import main
from recsys.params import PolicyParams
from tests.offline_eval.conftest import checkerboard


class HumanFirst(PopularityRecommender):
    """Popularity, but with human_artist_boost > 0.2 it moves human tracks to the front."""

    def recommend(self, user_ids: Sequence[str], k: int) -> Slates:
        slates = super().recommend(user_ids, 24)
        params = self.spec.params or PolicyParams()
        if params.human_artist_boost > 0.2:
            items = self.train_items
            human = set(items.loc[items["provider_group"] == "human", "item_id"])
            slates = {u: sorted(s, key=lambda x: x[0] not in human) for u, s in slates.items()}
        return {u: s[:k] for u, s in slates.items()}

    def fit(self, train: EvalDataset, split: object) -> None:
        self.train_items = train.items
        super().fit(train, split)  # type: ignore[arg-type]


register_model("test-humanfirst", lambda spec: HumanFirst(spec), replace=True)


def test_run_writes_metrics_json_and_report(tmp_path: Path) -> None:
    result = run_evaluation(
        eval_dataset=checkerboard(),
        out=tmp_path,
        models=["popularity", "itemknn", "ease"],
        split="user-kfold",
        k=5,
        n_boot=50,
        progress=False,
    )
    doc = json.loads((tmp_path / "metrics.json").read_text())
    assert doc["dataset"] == "checkerboard" and doc["split"] == "user-kfold"
    assert set(doc["models"]) == {"popularity", "itemknn", "ease"}
    for name in ("ndcg@5", "recall@5", "coverage", "human_exposure_share", "novelty"):
        entry = doc["models"]["ease"][name]
        assert entry["ci"][0] <= entry["value"] <= entry["ci"][1]
    assert doc["control"] in {"itemknn", "ease"}  # the best baseline, not popularity
    assert "popularity" in doc["comparisons"]
    assert set(doc["slices"]["ease"]["listener_activity"]) == {"low", "mid", "high"}
    html = (tmp_path / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4
    assert "SIMULATED" not in html and "declared in the data" in html
    assert result.metrics == doc
    assert (tmp_path / "per_listener.csv").read_text().startswith("model,user_id,ndcg@5")


def test_variants_get_guardrail_verdicts(tmp_path: Path) -> None:
    plan = VariantPlan(
        experiment="inline",
        models={
            "test-humanfirst:control": PolicyParams(),
            "test-humanfirst:boost": PolicyParams(human_artist_boost=0.4),
        },
        control="test-humanfirst:control",
        guardrails=(("ai_generated_share", "lower_is_better", 0.0),),
        primary=("human_artist_play_share", "higher_is_better"),
    )
    result = run_evaluation(
        eval_dataset=checkerboard(),
        models=["popularity"],
        variant_plan=plan,
        split="leave-last-n",
        k=5,
        n_boot=100,
        progress=False,
    )
    doc = result.metrics
    assert doc["control"] == "test-humanfirst:control"
    verdict = doc["experiment"]["verdicts"]["test-humanfirst:boost"]
    assert verdict["primary"]["proxy"] == "human_exposure_share"
    assert verdict["primary"]["improved"] is True
    rail = verdict["guardrails"][0]
    assert rail["proxy"] == "ai_generated_exposure_share" and rail["passed"] is True


def test_plan_from_experiment_file(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(
        "name: t1\ndescription: d\nowner: o\nsalt: s\nstart: 2026-01-01\nend: 2026-02-01\n"
        "primary_metric: play_through_rate\n"
        "guardrails:\n  - metric: skip_rate\n    threshold: 0.02\n"
        "control: base\nvariants:\n  - name: base\n  - name: more\n"
        "    overrides:\n      human_artist_boost: 0.3\n"
    )
    plan = plan_variants(path)
    assert list(plan.models) == ["liner:base", "liner:more"]
    assert plan.control == "liner:base"
    assert plan.models["liner:more"].human_artist_boost == 0.3
    assert plan.guardrails == (("skip_rate", "lower_is_better", 0.02),)


def test_cli_help_has_example() -> None:
    out = CliRunner().invoke(main, ["eval", "--help"])
    assert out.exit_code == 0 and "Example:" in out.output and "--data-root" in out.output


def test_cli_runs_on_an_unseen_folder(tmp_path: Path) -> None:
    folder = tmp_path / "unseen"
    folder.mkdir()
    ds = checkerboard()
    ds.items[["item_id", "title"]].to_csv(folder / "items.csv", index=False)
    ds.interactions[["user_id", "item_id"]].to_csv(folder / "interactions.csv", index=False)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main,
        [
            "eval",
            "--data",
            str(folder),
            "--out",
            str(out),
            "--models",
            "popularity,ease",
            "--bootstrap",
            "20",
            "--no-progress",
            "--k",
            "3",
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["split"] == "user-kfold"  # no times in the folder
    assert doc["provenance_simulated"] is True
    assert "SIMULATED" in (out / "report.html").read_text()


def test_cli_reports_bad_options_cleanly(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["eval", "--out", str(tmp_path)])
    assert res.exit_code != 0 and "exactly one of --dataset" in res.output


@pytest.mark.parametrize("bad", ["ease", "ease.l2"])
def test_cli_model_option_format(tmp_path: Path, bad: str) -> None:
    res = CliRunner().invoke(
        main, ["eval", "--data", str(tmp_path), "--out", str(tmp_path), "--model-option", bad]
    )
    assert res.exit_code != 0 and "MODEL.OPTION=VALUE" in res.output
