"""The first stage before the reranker: which candidates it keeps, and that it changes nothing
when it keeps them all."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.params import CandidateQuotas, PolicyParams
from recsys.pipeline import PipelineRecommender, RecommendRequest
from recsys.pipeline.candidates import MISSING_RANK, CandidateSet
from recsys.pipeline.first_stage import MIN_POOL_PER_SLOT, candidate_depth, first_stage
from tests.recsys.pipeline.world import make_world


def _cands(long: int = 100, short: int = 10) -> CandidateSet:
    """Source ``long`` ranks rows 0..long-1; source ``short`` ranks rows long..long+short-1."""
    n = long + short
    a = np.full(n, MISSING_RANK, np.float32)
    b = np.full(n, MISSING_RANK, np.float32)
    a[:long] = np.arange(long)
    b[long:] = np.arange(short)
    zeros = np.zeros(n, np.float32)
    return CandidateSet(
        rows=np.arange(n, dtype=np.int64),
        ranks={"long": a, "short": b},
        scores={"long": zeros, "short": zeros},
    )


def test_depth_is_the_best_relative_rank() -> None:
    depth = candidate_depth(_cands())
    assert depth[0] == pytest.approx(0.01)  # first of 100
    assert depth[100] == pytest.approx(0.1)  # first of 10
    assert depth[109] == pytest.approx(1.0)  # last of 10


def test_each_source_keeps_the_same_top_share() -> None:
    cands = _cands()
    kept = first_stage(cands, pool=44, k=10)
    assert kept is not None
    assert len(kept) == 44
    assert np.all(np.diff(kept) > 0)
    # 40 % of each list: the long list's first 40, the short list's first 4.
    assert set(kept.tolist()) == set(range(40)) | {100, 101, 102, 103}
    depth = candidate_depth(cands)
    dropped = np.setdiff1d(np.arange(len(cands)), kept)
    assert depth[kept].max() <= depth[dropped].min()


@pytest.mark.parametrize(
    ("pool", "k", "expected"),
    [(0, 10, None), (500, 10, None), (110, 10, None), (5, 10, MIN_POOL_PER_SLOT * 10)],
    ids=["off", "larger-than-the-set", "equal-to-the-set", "never-below-4-per-slot"],
)
def test_pool_size(pool: int, k: int, expected: int | None) -> None:
    kept = first_stage(_cands(), pool=pool, k=k)
    assert (None if kept is None else len(kept)) == expected


def test_a_pool_holding_every_candidate_serves_the_same_slates() -> None:
    world = make_world()
    rec = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    quotas = CandidateQuotas(personal=20, item_to_item=10, emerging=5, popular=10)
    for listener in world.store.iter_listeners():
        uid = listener.listener_id
        full = rec.recommend(
            RecommendRequest(listener_id=uid, k=5, params=PolicyParams(candidates=quotas))
        )
        same = rec.recommend(
            RecommendRequest(
                listener_id=uid, k=5, params=PolicyParams(candidates=quotas, rerank_pool=5000)
            )
        )
        assert [i.track.track_id for i in same.items] == [i.track.track_id for i in full.items]
        small = rec.recommend(
            RecommendRequest(
                listener_id=uid, k=5, params=PolicyParams(candidates=quotas, rerank_pool=20)
            )
        )
        # A small pool still fills the slate, every item labelled.
        assert len(small.items) == len(full.items)
        assert all(i.track.provenance is not None for i in small.items)
