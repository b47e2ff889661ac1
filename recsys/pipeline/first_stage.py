"""The cheap first stage before the reranker: keep the candidates worth reranking.

The reranker (features, then the LightGBM trees) costs time per candidate; most of the ~500
merged candidates never reach a slate. The first stage keeps at most ``PolicyParams.rerank_pool``
of them (0 keeps all) by a fixed rule on the sources' own ranks: a candidate's depth is its best
*relative* rank over the sources that proposed it, ``min_s (rank_s + 1) / len_s``, so every
source keeps the same top share of its list (the emerging and popular sources are not crowded
out by the longer personal list), and the shallowest candidates are kept.

Features depend on one candidate alone, so a kept candidate gets exactly the score it would
get without the first stage: a slate changes only where the full reranker would have picked a
candidate the rule dropped. Figures (slates kept, NDCG@10 and exposure on HetRec, CPU) are in
``benchmarks/README.md``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from recsys.pipeline.candidates import MISSING_RANK, CandidateSet

MIN_POOL_PER_SLOT = 4
"""The pool is never smaller than this many candidates per slate position (a request for a
long slate keeps enough to fill it under the caps and per-artist limits)."""


@njit(cache=True, nogil=True)
def _depth_into(depth: np.ndarray, ranks: np.ndarray) -> None:  # pragma: no cover - compiled
    """``depth = min(depth, (rank + 1) / length)`` where the source ranked the candidate, in
    float32 as numpy computes ``(ranks + 1.0) / length`` on the float32 ranks."""
    missing = np.float32(MISSING_RANK)
    top = np.float32(-1.0)
    for r in ranks:
        if r < missing and r > top:
            top = r
    if top < 0:
        return
    length = np.float32(top + np.float32(1.0))
    for i in range(len(ranks)):
        if ranks[i] < missing:
            d = np.float32(ranks[i] + np.float32(1.0)) / length
            if d < depth[i]:
                depth[i] = d


def candidate_depth(cands: CandidateSet) -> np.ndarray:
    """Per candidate, its best relative rank ``(rank + 1) / list length`` over its sources
    (lower is better; a candidate no source ranked gets ``inf``)."""
    depth = np.full(len(cands), np.inf)
    for ranks in cands.ranks.values():
        _depth_into(depth, np.asarray(ranks, dtype=np.float32))
    return depth


def first_stage(cands: CandidateSet, pool: int, k: int) -> np.ndarray | None:
    """Indices (ascending) of the candidates to rerank, or None to keep them all.

    Args:
        cands: the filtered candidates.
        pool: the most to keep (``PolicyParams.rerank_pool``; 0 keeps all).
        k: the slate size (the pool is at least ``MIN_POOL_PER_SLOT × k``).
    """
    if pool <= 0:
        return None
    keep = max(pool, MIN_POOL_PER_SLOT * k)
    if len(cands) <= keep:
        return None
    depth = candidate_depth(cands)
    # Stable: equal depths keep the candidate order (row order), so the choice is reproducible.
    chosen = np.argsort(depth, kind="stable")[:keep]
    return np.sort(chosen)


__all__ = ["MIN_POOL_PER_SLOT", "candidate_depth", "first_stage"]
