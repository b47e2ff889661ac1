"""The heavy-tail diagnostic of slate weights (PSIS's Pareto k̂) and the withholding it drives."""

from __future__ import annotations

import numpy as np
import pytest

from offline_eval.off_policy.estimators import SlateLogs, estimate, pareto_khat


@pytest.mark.parametrize("k", [0.3, 0.8, 1.2])
def test_pareto_khat_recovers_a_known_tail(k: float) -> None:
    rng = np.random.default_rng(0)
    weights = rng.pareto(1.0 / k, size=20_000) + 1.0  # generalized Pareto tail of shape k
    assert pareto_khat(weights) == pytest.approx(k, abs=0.12)


def test_light_tails_read_as_light() -> None:
    rng = np.random.default_rng(1)
    assert pareto_khat(rng.uniform(0.5, 1.5, 5000)) < 0.0
    assert pareto_khat(rng.exponential(size=5000)) < 0.2
    assert pareto_khat(np.ones(100)) == 0.0
    assert pareto_khat(np.ones(3)) == float("inf")  # too few to judge


def _one_position_logs(target: np.ndarray, logging: np.ndarray, rewards: np.ndarray) -> SlateLogs:
    n = len(target)
    col = (n, 1)
    return SlateLogs(
        rewards=rewards.reshape(col), mask=np.ones(col, bool), logging=logging.reshape(col),
        target=target.reshape(col), unsupported=np.zeros(col), model_logged=np.zeros(col),
        model_target=np.zeros(col), groups=np.arange(n), examination=np.ones(1),
        item_target=np.ones(col), item_logging=np.ones(col), item_unsupported=np.zeros(n),
        model_item_logged=np.zeros(col), model_item_target=np.zeros(n),
    )  # fmt: skip


def test_heavy_tailed_slate_weights_are_withheld_with_a_warning() -> None:
    rng = np.random.default_rng(2)
    n = 2000
    target = rng.uniform(0.5, 1.0, n)
    rewards = rng.binomial(1, 0.3, n).astype(float)
    light = _one_position_logs(target, target / rng.uniform(0.8, 1.25, n), rewards)
    # The logging policy rarely made the target's picks: weights with a Pareto tail of 0.9.
    heavy = _one_position_logs(target, target / (rng.pareto(1.0 / 0.9, n) + 1.0), rewards)
    est_light, _ = estimate(light, ("ips", "cascade_dr"), n_boot=100)
    est_heavy, _ = estimate(heavy, ("ips", "cascade_dr"), n_boot=100)
    assert all(e.value is not None for e in est_light.values())
    for e in est_heavy.values():
        assert e.value is None and e.ess >= 30
        assert any("heavy tail" in w for w in e.warnings), e.warnings
