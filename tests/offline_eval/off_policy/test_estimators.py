"""Off-policy estimators on a small simulation with known truth: the pipeline's test world,
listeners with random true play probabilities, a position-based click model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from offline_eval.off_policy import KnownTruth, PipelineReplay, PolicySimulator
from recsys.params import PolicyParams
from recsys.pipeline import PipelineRecommender
from tests.recsys.pipeline.world import make_world

LOGGING = PolicyParams(exploration=0.3, exploration_temperature=0.3)
TARGETS = {
    "greedy": PolicyParams(),
    "max-boost": PolicyParams(human_artist_boost=0.5, mmr_lambda=0.7),
    "explore-wider": PolicyParams(exploration=0.3, exploration_temperature=1.0),
}


@pytest.fixture(scope="module")
def sim() -> PolicySimulator:
    world = make_world()
    rec = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    listeners = [u.listener_id for u in world.store.iter_listeners()]
    rng = np.random.default_rng(5)
    tracks = [str(t) for t in world.catalog.track_ids]
    play = pd.DataFrame(rng.beta(1, 2, size=(len(listeners), len(tracks))), listeners, tracks)
    return PolicySimulator(PipelineReplay(rec), KnownTruth(play), listeners, k=6, samples=80)


@pytest.mark.slow
@pytest.mark.parametrize("target", list(TARGETS), ids=list(TARGETS))
def test_position_based_estimates_cover_the_on_policy_truth(
    sim: PolicySimulator, target: str
) -> None:
    rng = np.random.default_rng(11)
    truth = sim.on_policy_value(TARGETS[target], rng, draws=60)
    logged = sim.log(LOGGING, 40, rng)
    est, diag = sim.evaluate(logged, target=TARGETS[target], logging=LOGGING, n_boot=300)
    assert diag.unsupported_share == 0.0 and not diag.warnings
    for name in ("pbm_ips", "pbm_snips", "pbm_dr"):
        e = est[name]
        assert e.ci is not None and e.value is not None, name
        assert e.ci[0] <= truth <= e.ci[1], (name, e.value, e.ci, truth)
        assert e.ess > 100


@pytest.mark.slow
def test_slate_estimators_are_unbiased_for_the_greedy_variant(sim: PolicySimulator) -> None:
    rng = np.random.default_rng(100)
    target = TARGETS["greedy"]
    truth = sim.on_policy_value(target, rng)
    logged = sim.log(LOGGING, 80, rng)
    est, _ = sim.evaluate(logged, target=target, logging=LOGGING, n_boot=300)
    for name in ("ips", "snips", "cascade_ips", "cascade_dr"):
        e = est[name]
        assert e.ci is not None and e.ci[0] <= truth <= e.ci[1], (name, e.value, e.ci, truth)


def test_a_target_outside_the_logging_support_is_withheld_with_a_warning(
    sim: PolicySimulator,
) -> None:
    rng = np.random.default_rng(4)
    deterministic = PolicyParams()  # logs without exploration support only themselves
    logged = sim.log(deterministic, 5, rng)
    est, diag = sim.evaluate(logged, target=TARGETS["max-boost"], logging=deterministic)
    assert diag.unsupported_share > 0.01
    assert any("missing support" in w for w in diag.warnings)
    assert any("deterministic" in w for w in diag.warnings)
    for e in est.values():
        assert e.value is None and e.ci is None and e.warnings
    # The logging variant itself is still estimable from its own deterministic logs.
    own, own_diag = sim.evaluate(logged, target=deterministic, logging=deterministic)
    assert own_diag.unsupported_share == 0.0
    assert own["pbm_ips"].value == pytest.approx(
        np.mean([s.rewards.sum() for s in logged]), rel=1e-9
    )
