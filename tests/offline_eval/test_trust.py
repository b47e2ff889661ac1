"""Output a person can trust: p-values never print as p=0, metrics that cannot be computed are
left out with the reason, synthetic times do not silently get the temporal split."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from offline_eval.datasets.base import EvalDataset, finalize_interactions, finalize_items
from offline_eval.runner import run_evaluation
from offline_eval.splits import degenerate_times, make_split
from offline_eval.stats import _paired_t, format_p


def _world(timestamps: str) -> EvalDataset:
    rng = np.random.default_rng(1)
    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(40)], "title": "t"})
    rows = []
    for u in range(30):
        for n, i in enumerate(rng.choice(40, size=8, replace=False)):
            ts = {"same-start": 1_600_000_000 + n, "real": 1_600_000_000 + u * 977 + n * 86_400}
            rows.append({"user_id": f"u{u}", "item_id": f"i{i}", "timestamp": ts[timestamps]})
    return EvalDataset(
        name="tiny",
        items=finalize_items(items),
        interactions=finalize_interactions(pd.DataFrame(rows)),
    )


def test_p_values_print_as_a_bound_below_0_001() -> None:
    assert format_p(0.0) == "p<0.001"
    assert format_p(0.0004) == "p<0.001"
    assert format_p(0.0123) == "p=0.012"
    assert format_p(float("nan")) == "p n/a"
    assert format_p(None) == "p n/a"


def test_nothing_to_compare_has_no_p_value() -> None:
    nan = np.full(5, np.nan)
    assert math.isnan(_paired_t(nan, nan)[0])


def test_synthetic_start_times_are_detected_and_the_split_says_why() -> None:
    assert degenerate_times(_world("real").interactions) is None
    why = degenerate_times(_world("same-start").interactions)
    assert why is not None and "same instant" in why
    split = make_split(_world("same-start").interactions)
    assert split.kind == "user-kfold"
    assert "instead of temporal" in split.description
    assert make_split(_world("real").interactions).kind == "temporal"
    # asked for explicitly, the temporal split is still given
    assert make_split(_world("same-start").interactions, "temporal").kind == "temporal"


def test_a_metric_without_features_is_omitted_with_its_reason() -> None:
    ds = _world("real")  # no tags, no audio: intra-list diversity cannot be computed
    doc = run_evaluation(
        eval_dataset=ds, models=["popularity", "itemknn"], n_boot=20, progress=False
    ).metrics
    assert "intra_list_diversity" in doc["omitted_metrics"]
    assert "tags or audio" in doc["omitted_metrics"]["intra_list_diversity"]
    for est in doc["models"].values():
        assert "intra_list_diversity" not in est
    for comp in doc["comparisons"].values():
        assert "intra_list_diversity" not in comp
    if ds.provenance_simulated:
        assert "human_exposure_share" in doc["simulated_metrics"]
