"""Assignment: traffic shares, holdouts, layer independence, merged params, exposure logs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from recsys.experiments import exposure_records, load_experiments, parse_label
from recsys.params import PolicyParams

NOW = datetime(2026, 6, 1, tzinfo=UTC)
IDS = [f"user-{i}" for i in range(100_000)]


def test_traffic_weights_and_holdout_over_100k_ids(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    write_experiment(
        "a.yaml",
        traffic=0.6,
        holdout=0.1,
        range=[0.0, 0.8],
        variants=[
            {"name": "control", "weight": 0.25},
            {"name": "mid", "weight": 0.25, "overrides": {"human_artist_boost": 0.2}},
            {"name": "high", "weight": 0.5, "overrides": {"human_artist_boost": 0.4}},
        ],
    )
    exps = load_experiments(tmp_path)
    counts = Counter(exps.assign(uid, now=NOW).label for uid in IDS)
    expected = {
        "a:control": 0.8 * 0.6 * 0.25,
        "a:mid": 0.8 * 0.6 * 0.25,
        "a:high": 0.8 * 0.6 * 0.5,
        "a:holdout": 0.8 * 0.1,
        "": 1 - 0.8 * 0.7,
    }
    observed = np.array([counts[k] for k in expected])
    assert observed.sum() == len(IDS)
    for (label, share), n in zip(expected.items(), observed, strict=True):
        sd = np.sqrt(len(IDS) * share * (1 - share))
        assert abs(n - len(IDS) * share) < 4.5 * sd, (label, n)
    _, p = stats.chisquare(observed, np.array(list(expected.values())) * len(IDS))
    assert p > 1e-4


def test_layers_are_independent(tmp_path: Path, write_experiment: Callable[..., Path]) -> None:
    write_experiment("a.yaml", layer="home")
    write_experiment(
        "b.yaml",
        layer="radio",
        variants=[
            {"name": "control", "weight": 0.5},
            {"name": "treatment", "weight": 0.5, "overrides": {"mmr_lambda": 0.7}},
        ],
    )
    exps = load_experiments(tmp_path)
    table = Counter()
    for uid in IDS[:40_000]:
        groups = parse_label(exps.assign(uid, now=NOW).label)
        table[(groups["a"], groups["b"])] += 1
    contingency = np.array(
        [[table[(a, b)] for b in ("control", "treatment")] for a in ("control", "treatment")]
    )
    _, p, _, _ = stats.chi2_contingency(contingency)
    assert p > 1e-3, contingency


def test_same_layer_experiments_are_exclusive(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    write_experiment("a.yaml", range=[0.0, 0.5])
    write_experiment("b.yaml", range=[0.5, 1.0])
    exps = load_experiments(tmp_path)
    sizes = Counter(len(exps.assign(uid, now=NOW).exposures) for uid in IDS[:20_000])
    assert set(sizes) == {1}


def test_assignment_is_deterministic_and_merges_params(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    write_experiment("a.yaml", layer="home")
    write_experiment(
        "b.yaml",
        layer="radio",
        variants=[
            {"name": "control", "weight": 0.5},
            {"name": "treatment", "weight": 0.5, "overrides": {"candidates": {"popular": 7}}},
        ],
    )
    exps = load_experiments(tmp_path)
    again = load_experiments(tmp_path)
    for uid in IDS[:3000]:
        first = exps.assign(uid, now=NOW)
        assert first == again.assign(uid, now=NOW)
        groups = parse_label(first.label)
        boost = 0.3 if groups["a"] == "treatment" else PolicyParams().human_artist_boost
        popular = 7 if groups["b"] == "treatment" else 100
        assert first.params.human_artist_boost == boost
        assert first.params.candidates.popular == popular
        assert first.params.labels is True and first.params.enforce_consent is True


def test_holdout_gets_defaults(tmp_path: Path, write_experiment: Callable[..., Path]) -> None:
    write_experiment(
        "a.yaml",
        traffic=0.5,
        holdout=0.5,
        variants=[
            {"name": "control", "weight": 0.5, "overrides": {"mmr_lambda": 0.9}},
            {"name": "treatment", "weight": 0.5, "overrides": {"mmr_lambda": 0.6}},
        ],
    )
    exps = load_experiments(tmp_path)
    held = [a for uid in IDS[:2000] if (a := exps.assign(uid, now=NOW)).label == "a:holdout"]
    assert 800 < len(held) < 1200
    assert all(a.params == PolicyParams() and a.exposures[0].in_holdout for a in held)


@pytest.mark.parametrize(
    "when",
    [datetime(2025, 12, 31, 23, 59, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)],
    ids=["before-start", "at-end"],
)
def test_inactive_experiments_assign_nothing(
    tmp_path: Path, write_experiment: Callable[..., Path], when: datetime
) -> None:
    write_experiment("a.yaml")
    assignment = load_experiments(tmp_path).assign("user-1", now=when)
    assert assignment.label == "" and assignment.params == PolicyParams()


def test_exposure_records(tmp_path: Path, write_experiment: Callable[..., Path]) -> None:
    write_experiment("a.yaml", layer="home")
    write_experiment("b.yaml", layer="radio", variants=[{"name": "control"}, {"name": "other"}])
    assignment = load_experiments(tmp_path).assign("user-9", now=NOW)
    rows = exposure_records(assignment, "req-1", listener_id="user-9", at=NOW)
    assert [r.experiment for r in rows] == ["a", "b"]
    assert assignment.label == ",".join(f"{r.experiment}:{r.variant}" for r in rows)
    assert rows[0].as_dict()["request_id"] == "req-1"
    assert parse_label(assignment.label) == {r.experiment: r.variant for r in rows}
