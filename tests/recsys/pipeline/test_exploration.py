"""Exploration in the policy stage: off means today's deterministic slates; on draws slates
that keep every artist-first rule and logs the probability of what it drew."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.params import PolicyParams
from recsys.pipeline import PipelineRecommender, RecommendRequest
from recsys.pipeline.slate_log import SlateLogger
from tests.recsys.pipeline.test_recommender import _check_slate
from tests.recsys.pipeline.world import World, make_world

EXPLORE = PolicyParams(exploration=0.3, exploration_temperature=0.3)


@pytest.fixture()
def world() -> World:
    return make_world()


@pytest.fixture()
def rec(world: World) -> PipelineRecommender:
    return PipelineRecommender(
        spaces=world.spaces,
        catalog=world.catalog,
        store=world.store,
        slate_logger=SlateLogger(world.store, background=False),
    )


def _inputs(rec: PipelineRecommender, listener: str, params: PolicyParams, k: int = 8):  # type: ignore[no-untyped-def]
    from offline_eval.off_policy.replay import PipelineReplay

    return PipelineReplay(rec).inputs(listener, k, params)


def test_exploration_off_is_deterministic_with_propensity_one(
    world: World, rec: PipelineRecommender
) -> None:
    req = RecommendRequest(listener_id="u1", k=8)
    first = [i.track.track_id for i in rec.recommend(req).items]
    again = [i.track.track_id for i in rec.recommend(req).items]
    assert first == again
    logged = world.store.slates[-1]
    assert logged.propensity == 1.0
    assert [i.propensity for i in logged.items] == [1.0] * len(first)


def test_exploring_slates_keep_every_rule_and_log_their_probability(
    world: World, rec: PipelineRecommender
) -> None:
    seen: set[tuple[str, ...]] = set()
    for listener in world.store.iter_listeners():
        for _ in range(6):
            req = RecommendRequest(listener_id=listener.listener_id, k=10, params=EXPLORE)
            out = rec.recommend(req)
            _check_slate(world, req, out.items, banned=set())
            logged = world.store.slates[-1]
            probs = [float(i.propensity or 0.0) for i in logged.items]
            assert all(0.0 < p <= 1.0 for p in probs)
            assert logged.propensity == pytest.approx(float(np.prod(probs)))
            seen.add(tuple(i.track.track_id for i in out.items))
    # Exploration actually varies slates, and most of them are not the greedy one.
    assert len(seen) > len(list(world.store.iter_listeners())) * 2


def test_logged_probability_is_the_draw_frequency(rec: PipelineRecommender) -> None:
    """The first position's logged probability matches how often the draw takes it."""
    inp = _inputs(rec, "u1", EXPLORE)
    policy = rec.policy
    rng = np.random.default_rng(0)
    draws = 3000
    firsts: dict[int, int] = {}
    props: dict[int, float] = {}
    for _ in range(draws):
        slate = policy.select(inp.ctx, inp.cands, inp.scores, rng)
        assert slate.propensities is not None
        j = int(slate.picks[0])
        firsts[j] = firsts.get(j, 0) + 1
        props[j] = float(slate.propensities[0])
    for j, count in firsts.items():
        p = props[j]
        assert abs(count / draws - p) <= 4 * np.sqrt(p * (1 - p) / draws) + 1e-9


def test_replay_reproduces_the_drawn_probabilities(rec: PipelineRecommender) -> None:
    inp = _inputs(rec, "u2", EXPLORE)
    rng = np.random.default_rng(1)
    for _ in range(20):
        slate = rec.policy.select(inp.ctx, inp.cands, inp.scores, rng)
        again = rec.policy.replay(inp.ctx, inp.cands, inp.scores, slate.picks)
        assert slate.propensities is not None
        np.testing.assert_allclose(again.probs, slate.propensities, rtol=1e-9)
        np.testing.assert_allclose(again.dists.sum(axis=1), 1.0, rtol=1e-9)
    # A deterministic variant gives 1 to its own greedy slate and 0 once a pick differs.
    greedy = _inputs(rec, "u2", PolicyParams())
    own = rec.policy.select(greedy.ctx, greedy.cands, greedy.scores)
    rep = rec.policy.replay(greedy.ctx, greedy.cands, greedy.scores, own.picks)
    assert rep.probs.tolist() == [1.0] * len(own.picks)
    swapped = own.picks.copy()
    swapped[[0, 1]] = swapped[[1, 0]]
    assert rec.policy.replay(greedy.ctx, greedy.cands, greedy.scores, swapped).probs[0] == 0.0


def test_exposure_sums_to_the_position_weights(rec: PipelineRecommender) -> None:
    inp = _inputs(rec, "u3", EXPLORE)
    weights = 1.0 / np.log2(np.arange(8) + 2.0)
    expo = rec.policy.exposure(inp.ctx, inp.cands, inp.scores, weights, samples=50)
    assert expo.sum() == pytest.approx(weights.sum())
    assert (expo > 0).sum() > 8  # every reachable candidate gets some exposure
