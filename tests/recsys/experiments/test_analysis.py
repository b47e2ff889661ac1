"""Online analysis on simulated logs with planted answers: an effect, an SRM, and nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recsys.domain import EventType, FeedbackEvent, ServedSlate, SlateItem
from recsys.experiments import ExperimentSet, load_experiments
from recsys.experiments.analysis import analyze, ratio_estimate
from recsys.experiments.logs import load_logs
from recsys.experiments.report import write_report
from recsys.experiments.simulate import SimulationConfig, simulate_logs, write_folder

NOW = datetime(2026, 6, 1, tzinfo=UTC)
GUARDRAILS = [
    {"metric": "skip_rate", "direction": "lower_is_better", "threshold": 0.05},
    {"metric": "ai_generated_share", "direction": "lower_is_better", "threshold": 0.02},
]


@pytest.fixture
def experiments(tmp_path: Path, write_experiment: Callable[..., Path]) -> ExperimentSet:
    folder = tmp_path / "exps"
    write_experiment("ab.yaml", folder=folder, traffic=0.9, holdout=0.1, guardrails=GUARDRAILS)
    return load_experiments(folder)


def _run(experiments: ExperimentSet, tmp_path: Path, **sim: Any) -> dict[str, Any]:
    slates, events = simulate_logs(
        experiments, SimulationConfig(listeners=3000, slates_per_listener=1, now=NOW, **sim)
    )
    write_folder(tmp_path / "logs", slates, events)
    result = analyze(experiments, load_logs(tmp_path / "logs"))
    assert len(result["experiments"]) == 1
    return result["experiments"][0]  # type: ignore[no-any-return]


def test_planted_effect_is_found_and_shipped(experiments: ExperimentSet, tmp_path: Path) -> None:
    exp = _run(experiments, tmp_path, effects={"ab:treatment": 1.25}, seed=1)
    assert not exp["srm"]["mismatch"], exp["srm"]
    comparison = exp["comparisons"][0]
    assert comparison["primary"]["significant"]
    ptr = comparison["metrics"]["play_through_rate"]
    assert 0.04 < ptr["diff"] < 0.11 and ptr["ci_low"] > 0  # planted +0.075
    assert all(g["passed"] for g in comparison["guardrails"])
    assert exp["verdict"] == "ship treatment"


def test_planted_srm_is_flagged(experiments: ExperimentSet, tmp_path: Path) -> None:
    exp = _run(
        experiments, tmp_path, effects={"ab:treatment": 1.25}, drop={"ab:treatment": 0.2}, seed=2
    )
    assert exp["srm"]["mismatch"] and exp["srm"]["p_value"] < 1e-4
    assert exp["verdict"] == "don't ship"
    assert any("sample ratio mismatch" in r for r in exp["comparisons"][0]["reasons"])


def test_null_case_is_not_flagged(experiments: ExperimentSet, tmp_path: Path) -> None:
    exp = _run(experiments, tmp_path, seed=3)
    assert not exp["srm"]["mismatch"] and exp["srm"]["p_value"] > 0.01
    assert not exp["comparisons"][0]["primary"]["significant"]
    assert exp["verdict"] == "don't ship"
    assert set(exp["groups"]) == {"control", "treatment", "holdout"}


def test_guardrail_harm_blocks_shipping(experiments: ExperimentSet, tmp_path: Path) -> None:
    # The treatment plays more but shows many more AI-generated tracks: guardrail fails.
    slates, events = simulate_logs(
        experiments,
        SimulationConfig(
            listeners=3000, slates_per_listener=1, now=NOW, seed=4, effects={"ab:treatment": 1.25}
        ),
    )
    for slate in slates:
        if slate["variant"] == "ab:treatment":
            for item in slate["items"][:3]:
                item["ai_involvement"] = "GENERATED"
    write_folder(tmp_path / "logs", slates, events)
    exp = analyze(experiments, load_logs(tmp_path / "logs"))["experiments"][0]
    rails = {g["metric"]: g["passed"] for g in exp["comparisons"][0]["guardrails"]}
    assert rails == {"skip_rate": True, "ai_generated_share": False}
    assert exp["comparisons"][0]["primary"]["significant"] and exp["verdict"] == "don't ship"


def test_delta_method_matches_bootstrap() -> None:
    rng = np.random.default_rng(0)
    den = rng.integers(1, 30, 800).astype(float)
    num = rng.binomial(den.astype(int), rng.beta(2, 5, 800)).astype(float)
    ratio, var = ratio_estimate(num, den)
    boots = []
    for _ in range(400):
        idx = rng.integers(0, 800, 800)
        boots.append(num[idx].sum() / den[idx].sum())
    assert ratio == pytest.approx(num.sum() / den.sum())
    assert np.sqrt(var) == pytest.approx(np.std(boots), rel=0.2)


def test_report_files(experiments: ExperimentSet, tmp_path: Path) -> None:
    slates, events = simulate_logs(
        experiments, SimulationConfig(listeners=300, slates_per_listener=1, now=NOW)
    )
    write_folder(tmp_path / "logs", slates, events)
    result = analyze(experiments, load_logs(tmp_path / "logs"))
    json_path, html_path = write_report(result, tmp_path / "out")
    loaded = json.loads(json_path.read_text())  # strict JSON: NaN would not parse back
    assert loaded["experiments"][0]["name"] == "ab"
    html = html_path.read_text()
    assert "Verdict:" in html and "play_through_rate" in html and "Sample ratio" in html


def test_store_logs_match_folder_logs(experiments: ExperimentSet, tmp_path: Path) -> None:
    from recsys.store import open_store

    slates, events = simulate_logs(
        experiments, SimulationConfig(listeners=200, slates_per_listener=1, now=NOW)
    )
    write_folder(tmp_path / "logs", slates, events)
    store = open_store(str(tmp_path / "liner.db"))
    try:
        store.log_slates(
            ServedSlate(
                request_id=s["request_id"],
                listener_id=s["listener_id"],
                variant=s["variant"],
                served_at=NOW,
                ai_features=s["ai_features"],
                items=tuple(
                    SlateItem(track_id=i["track_id"], position=i["position"], score=1.0)
                    for i in s["items"]
                ),
            )
            for s in slates
        )
        store.add_events(
            FeedbackEvent(
                event_id=f"e{n}",
                listener_id=e["listener_id"],
                track_id=e["track_id"],
                event_type=EventType(e["event_type"]),
                at=NOW,
                request_id=e["request_id"],
                position=e["position"],
            )
            for n, e in enumerate(events)
        )
    finally:
        store.close()
    from_store = analyze(experiments, load_logs(tmp_path / "liner.db"))["experiments"][0]
    from_folder = analyze(experiments, load_logs(tmp_path / "logs"))["experiments"][0]
    for group, stats in from_folder["groups"].items():
        mine = from_store["groups"][group]
        assert mine["listeners"] == stats["listeners"]
        for metric in ("play_through_rate", "skip_rate", "save_rate"):
            assert mine["metrics"][metric]["value"] == pytest.approx(
                stats["metrics"][metric]["value"]
            )
