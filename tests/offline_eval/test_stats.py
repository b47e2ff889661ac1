from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from offline_eval.metrics.scorecard import Scorecard
from offline_eval.stats import bootstrap, compare


def card(values: np.ndarray) -> Scorecard:
    n = len(values)
    exposure = sp.csc_matrix(np.eye(n))
    return Scorecard(
        per_user=pd.DataFrame({"ndcg@10": values}),
        exposure=exposure,
        artist_exposure=exposure,
        group_exp=np.ones((n, 1)),
        total_exp=np.ones(n),
        emerging_exp=np.zeros(n),
        group_rel=np.ones((n, 1)),
        groups=("human",),
        n_items=n,
    )


def test_interval_contains_value_and_is_seeded() -> None:
    rng = np.random.default_rng(0)
    cards = {"m": card(rng.random(200))}
    a = bootstrap(cards, n_boot=300, seed=1, progress=False)
    b = bootstrap(cards, n_boot=300, seed=1, progress=False)
    est = a.estimates["m"]["ndcg@10"]
    assert est.ci[0] < est.value < est.ci[1]
    assert est.ci == b.estimates["m"]["ndcg@10"].ci
    # the interval width is close to the normal approximation 2 * 1.96 * sd / sqrt(n)
    sd = np.std(cards["m"].per_user["ndcg@10"]) / np.sqrt(200)
    assert est.ci[1] - est.ci[0] == pytest.approx(2 * 1.96 * sd, rel=0.25)


def test_coverage_interval_is_centred_on_observed_value() -> None:
    cards = {"m": card(np.ones(50))}
    est = bootstrap(cards, n_boot=200, seed=0, progress=False).estimates["m"]["coverage"]
    assert est.value == pytest.approx(1.0)
    assert est.ci[0] <= est.value <= est.ci[1]


def test_paired_comparison_detects_a_shift_and_not_noise() -> None:
    rng = np.random.default_rng(2)
    base = rng.random(300)
    cards = {
        "control": card(base),
        "better": card(base + 0.05 + rng.normal(0, 0.01, 300)),
        "same": card(base.copy()),
    }
    result = bootstrap(cards, n_boot=300, seed=0, progress=False)
    better = {c.metric: c for c in compare(result, cards, "better", "control")}["ndcg@10"]
    assert better.significant and better.p_value < 1e-6 and better.test == "paired t"
    assert better.ci[0] > 0.04 and better.ci[1] < 0.06
    same = {c.metric: c for c in compare(result, cards, "same", "control")}["ndcg@10"]
    assert not same.significant and same.diff == 0.0 and same.p_value == 1.0
