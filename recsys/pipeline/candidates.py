"""Candidate sources: small components that each propose rows with their own quota.

Sources run independently; :func:`merge_candidates` de-duplicates their proposals and keeps
each source's rank and score per candidate, which become features of the reranker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numba import njit

from recsys.pipeline.catalog import CatalogSnapshot
from recsys.pipeline.context import ListenerContext, SpacesView
from recsys.pipeline.query import QueryStage
from recsys.pipeline.search_cache import SearchCache

MISSING_RANK = 5000.0
"""Rank feature of a candidate that a source did not propose (larger than any quota)."""

EMERGING_POOL_MAX = 20_000
"""Largest emerging-artist pool scored exactly per request (the most played of them)."""


@dataclass(frozen=True, kw_only=True)
class Proposal:
    """One source's proposals, best first."""

    source: str
    rows: np.ndarray
    scores: np.ndarray


class CandidateSource(Protocol):
    """A candidate source; ``name`` is also the suffix of its features."""

    @property
    def name(self) -> str:
        """The source's name."""
        ...

    def propose(self, ctx: ListenerContext) -> Proposal:
        """Rows for this request, best first, at most the source's quota."""
        ...


class ExternalScorer(Protocol):
    """A collaborative model scoring every row for a listener (EASE, ALS in the harness).

    Plugged into the pipeline it is both a candidate source and a feature.
    """

    name: str

    def score_all(self, ctx: ListenerContext) -> np.ndarray:
        """Scores for every catalog row (higher is better)."""
        ...


@njit(cache=True, nogil=True)
def _sift_down(heap_s: np.ndarray, heap_i: np.ndarray, at: int) -> None:  # pragma: no cover
    """Restore the heap below ``at``: the root is the worst entry (lowest score; of equal
    scores, the highest index)."""
    k = heap_s.shape[0]
    while True:
        worst, left = at, 2 * at + 1
        for c in (left, left + 1):
            if c < k and (
                heap_s[c] < heap_s[worst]
                or (heap_s[c] == heap_s[worst] and heap_i[c] > heap_i[worst])
            ):
                worst = c
        if worst == at:
            return
        heap_s[at], heap_s[worst] = heap_s[worst], heap_s[at]
        heap_i[at], heap_i[worst] = heap_i[worst], heap_i[at]
        at = worst


@njit(cache=True, nogil=True)
def _largest(scores: np.ndarray, k: int) -> np.ndarray:  # pragma: no cover - compiled
    """Indices of the ``k`` largest ``scores``, best first, equal scores by index (lower
    first): one pass keeping the best ``k`` in a heap, instead of a partition of a negated
    copy (a request's 20k-row emerging pool spent more time selecting than multiplying)."""
    k = min(k, scores.shape[0])
    heap_s = scores[:k].copy()
    heap_i = np.arange(k)
    for at in range(k // 2 - 1, -1, -1):
        _sift_down(heap_s, heap_i, at)
    for i in range(k, scores.shape[0]):
        if k > 0 and scores[i] > heap_s[0]:  # (an equal score has a higher index: worse)
            heap_s[0] = scores[i]
            heap_i[0] = i
            _sift_down(heap_s, heap_i, 0)
    by_index = np.argsort(heap_i)
    best = np.argsort(-heap_s[by_index], kind="mergesort")  # stable: ties stay by index
    return heap_i[by_index][best]


def top_k_desc(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest ``scores`` (float32), best first; equal scores in index
    order. The same set and order as a partition and a stable sort wherever scores differ."""
    return np.asarray(_largest(np.ascontiguousarray(scores, dtype=np.float32), int(k)))


def _top_k(source: str, rows: np.ndarray, scores: np.ndarray, k: int) -> Proposal:
    if k <= 0 or len(rows) == 0:
        return Proposal(source=source, rows=np.empty(0, np.int64), scores=np.empty(0, np.float32))
    if len(rows) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        rows, scores = rows[part], scores[part]
    order = np.argsort(-scores, kind="stable")
    return Proposal(
        source=source, rows=rows[order].astype(np.int64), scores=scores[order].astype(np.float32)
    )


def _ann(
    source: str,
    spaces: SpacesView,
    space: str,
    query: np.ndarray,
    k: int,
    cache: SearchCache | None = None,
) -> Proposal:
    index = spaces.indexes.get(space)
    if index is None or k <= 0:
        return _top_k(source, np.empty(0, np.int64), np.empty(0, np.float32), 0)
    if cache is not None:
        scores, rows = cache.search(index, query, k)
    else:
        found = index.search_rows(query.reshape(1, -1).astype(np.float32), k)
        scores, rows = found[0][0], found[1][0]
    keep = rows >= 0
    return Proposal(
        source=source,
        rows=rows[keep].astype(np.int64),
        scores=scores[keep].astype(np.float32),
    )


@dataclass
class PersonalSource:
    """The listener's fused taste vector → ANN over the fused index (through ``cache``: a
    listener asking again with an unchanged history gets the same rows without a search)."""

    spaces: SpacesView
    name: str = "personal"
    cache: SearchCache | None = None

    def propose(self, ctx: ListenerContext) -> Proposal:
        profile = ctx.profiles.get("fused")
        if profile is None:
            return _top_k(self.name, np.empty(0, np.int64), np.empty(0, np.float32), 0)
        quota = ctx.request.params.candidates.personal
        return _ann(self.name, self.spaces, "fused", profile, quota, self.cache)


@dataclass
class ItemToItemSource:
    """Neighbours of the seed tracks, or of the most recent plays when there is no seed.

    The neighbours are lookups into the build's neighbour table (``spaces.neighbours``, see
    :mod:`recsys.embeddings.neighbours`: each track's top neighbours, searched in batch at
    build time with the beam below) when the table holds at least the quota; otherwise (an
    artifact set built before the table, or a larger quota) the seeds are searched.

    Each seed's search runs with a beam of exactly the quota (``ef = k``) rather than the
    index's default, which is sized for recall of a listener's top 10: the seeds are catalog
    tracks, their neighbourhoods overlap, and the quota is cut from their union. At 1M tracks
    (the pipeline benchmark's vectors) this keeps 0.84 of each seed's exact top-150 (0.90 at
    ef 256) for 0.65× the search time; the whole pipeline ran 0.89× as long (candidate stage
    0.79×, interleaved in one process) and 99 of 100 slates came out identical.
    """

    spaces: SpacesView
    fallback_seeds: int = 3
    name: str = "item_to_item"

    def propose(self, ctx: ListenerContext) -> Proposal:
        seeds = ctx.seed_rows if len(ctx.seed_rows) else ctx.history_rows[: self.fallback_seeds]
        quota = ctx.request.params.candidates.item_to_item
        index = self.spaces.indexes.get("fused")
        if len(seeds) == 0 or quota <= 0 or index is None:
            return _top_k(self.name, np.empty(0, np.int64), np.empty(0, np.float32), 0)
        table = getattr(self.spaces, "neighbours", None)
        if table is not None and (quota <= table.k or table.k >= len(table)):
            # (A table holding every track answers any quota.)
            scores, rows = table.lookup(seeds, min(quota, table.k))
        else:
            queries = self.spaces.vectors["fused"][seeds].astype(np.float32)
            scores, rows = index.search_rows(queries, quota, ef=quota)
        flat_rows, flat_scores = rows.ravel(), scores.ravel()
        keep = flat_rows >= 0
        flat_rows, flat_scores = flat_rows[keep], flat_scores[keep]
        # Best score per row across seeds.
        order = np.argsort(-flat_scores, kind="stable")
        uniq, first = np.unique(flat_rows[order], return_index=True)
        return _top_k(self.name, uniq, flat_scores[order][first], quota)


@dataclass
class TextQuerySource:
    """The request's free-text query → tracks carrying the genres and tags it names (two
    thirds of the quota, nearest the listener's taste first), then the text index.

    The score is the text similarity to the query (the ``query_sim`` of every row), so the
    lexical matches and the index's hits share one scale.
    """

    spaces: SpacesView
    query: QueryStage | None = None
    name: str = "text_query"
    cache: SearchCache | None = None

    def propose(self, ctx: ListenerContext) -> Proposal:
        quota = ctx.request.params.candidates.text_query
        lexical = np.empty(0, np.int64)
        if self.query is not None:
            lexical, lex_scores = self.query.lexical_pool(ctx, (2 * quota + 2) // 3)
        if ctx.query_vec is None:
            if len(lexical):
                return Proposal(source=self.name, rows=lexical, scores=lex_scores)
            return _top_k(self.name, np.empty(0, np.int64), np.empty(0, np.float32), 0)
        ann = _ann(self.name, self.spaces, "text", ctx.query_vec, quota, self.cache)
        if not len(lexical):
            return ann
        extra = ann.rows[~np.isin(ann.rows, lexical)][: max(quota - len(lexical), 0)]
        rows = np.concatenate([lexical, extra])
        scores = (self.spaces.vectors["text"][rows] @ ctx.query_vec).astype(np.float32)
        return Proposal(source=self.name, rows=rows, scores=scores)


@dataclass
class EmergingSource:
    """Tracks by low-exposure human artists, nearest to the listener's taste (or the query)."""

    spaces: SpacesView
    catalog: CatalogSnapshot
    name: str = "emerging"
    cache: SearchCache | None = None
    """Exact results by (quantile, space, query vector, quota): a listener asking again
    with an unchanged history skips the pool's product."""
    _pools: dict[float, np.ndarray] = field(default_factory=dict)
    _pool_vectors: dict[tuple[float, str], np.ndarray] = field(default_factory=dict)

    def _vectors(self, quantile: float, space: str) -> np.ndarray:
        # A contiguous copy per (quantile, space): gathering 20k rows on every request
        # would cost more than the dot products themselves.
        key = (quantile, space)
        vecs = self._pool_vectors.get(key)
        if vecs is None:
            vecs = np.ascontiguousarray(self.spaces.vectors[space][self.pool(quantile)])
            self._pool_vectors[key] = vecs
        return vecs

    def pool(self, quantile: float) -> np.ndarray:
        """Rows by emerging human artists for ``quantile`` (cached)."""
        pool = self._pools.get(quantile)
        if pool is None:
            self._pool_vectors.clear()
            pool = np.flatnonzero(self.catalog.emerging_tracks(quantile))
            if len(pool) > EMERGING_POOL_MAX:
                pop = self.catalog.popularity[pool]
                pool = np.sort(pool[np.argsort(-pop, kind="stable")[:EMERGING_POOL_MAX]])
            self._pools[quantile] = pool
        return pool

    def propose(self, ctx: ListenerContext) -> Proposal:
        params = ctx.request.params
        q = params.emerging_exposure_quantile
        quota = params.candidates.emerging
        space, query = "", None
        if ctx.query_vec is not None and "text" in self.spaces.vectors:
            space, query = "text", ctx.query_vec
        elif "fused" in ctx.profiles:
            space, query = "fused", ctx.profiles["fused"]
        elif len(ctx.seed_rows):
            space, query = "fused", self.spaces.vectors["fused"][ctx.seed_rows].mean(axis=0)

        def compute() -> Proposal:
            pool = self.pool(q)
            if query is not None:
                scores = self._vectors(q, space) @ query
            else:
                scores = self.catalog.popularity[pool].astype(np.float32)
            scores = np.asarray(scores, np.float32)
            best = top_k_desc(scores, max(quota, 0))
            found = Proposal(
                source=self.name, rows=pool[best].astype(np.int64), scores=scores[best]
            )
            found.rows.setflags(write=False)
            found.scores.setflags(write=False)
            return found

        if self.cache is None:
            return compute()
        vec = b"" if query is None else query.dtype.str.encode() + query.tobytes()
        return self.cache.memo((self.name, id(self), q, space, vec, quota), compute)


@dataclass
class PopularSource:
    """Popular and rising tracks; the main source for listeners with no history."""

    catalog: CatalogSnapshot
    name: str = "popular"
    max_quota: int = 1000
    _order: np.ndarray | None = None
    _scores: np.ndarray | None = None

    def _ranked(self) -> tuple[np.ndarray, np.ndarray]:
        if self._order is None or self._scores is None:
            score = self.catalog.popularity + 0.25 * np.clip(self.catalog.trend, -2.0, 2.0)
            k = min(self.max_quota, len(score))
            prop = _top_k(self.name, np.arange(len(score)), score.astype(np.float32), k)
            self._order, self._scores = prop.rows, prop.scores
        return self._order, self._scores

    def propose(self, ctx: ListenerContext) -> Proposal:
        order, scores = self._ranked()
        quota = ctx.request.params.candidates.popular
        return Proposal(source=self.name, rows=order[:quota], scores=scores[:quota])


@dataclass
class ScorerSource:
    """The top rows of an :class:`ExternalScorer`; its full score vector is kept for features."""

    scorer: ExternalScorer
    quota: int | None = None
    """Fixed quota; None uses the request's ``personal`` quota."""

    @property
    def name(self) -> str:
        return self.scorer.name

    def propose(self, ctx: ListenerContext) -> Proposal:
        scores = np.asarray(self.scorer.score_all(ctx), dtype=np.float32)
        quota = self.quota if self.quota is not None else ctx.request.params.candidates.personal
        return _top_k(self.name, np.arange(len(scores)), scores, quota)


@dataclass(frozen=True, kw_only=True, eq=False)
class CandidateSet:
    """Merged candidates.

    Attributes:
        rows: unique candidate rows.
        ranks: per source, the 0-based rank of each candidate (``MISSING_RANK`` if absent).
        scores: per source, the source's score of each candidate (0 if absent).
        columns: when the ranks and scores are the rows of two ``sources × candidates``
            matrices (as :func:`merge_candidates` makes them), the source names and the two
            matrices, so :meth:`subset` takes two gathers instead of two per source.
    """

    rows: np.ndarray
    ranks: dict[str, np.ndarray]
    scores: dict[str, np.ndarray]
    columns: tuple[tuple[str, ...], np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.rows)

    def sources_of(self, i: int) -> tuple[str, ...]:
        """Names of the sources that proposed candidate ``i``."""
        return tuple(s for s, r in self.ranks.items() if r[i] < MISSING_RANK)

    def subset(self, keep: np.ndarray) -> CandidateSet:
        """The candidates where ``keep`` (bool mask or indices) selects."""
        if self.columns is not None:
            names, ranks, scores = self.columns
            keep = np.asarray(keep)
            idx = np.flatnonzero(keep) if keep.dtype == np.bool_ else keep.astype(np.int64)
            return _from_columns(
                self.rows.take(idx), names, ranks.take(idx, axis=1), scores.take(idx, axis=1)
            )
        return CandidateSet(
            rows=self.rows[keep],
            ranks={s: r[keep] for s, r in self.ranks.items()},
            scores={s: v[keep] for s, v in self.scores.items()},
        )


def _from_columns(
    rows: np.ndarray, names: tuple[str, ...], ranks: np.ndarray, scores: np.ndarray
) -> CandidateSet:
    return CandidateSet(
        rows=rows,
        ranks=dict(zip(names, ranks, strict=True)),
        scores=dict(zip(names, scores, strict=True)),
        columns=(names, ranks, scores),
    )


@njit(cache=True, nogil=True)
def _merge(
    rows: np.ndarray, scores: np.ndarray, starts: np.ndarray, sources: np.ndarray, n_sources: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Distinct ``rows`` (ascending) and the ``n_sources × distinct`` rank and score
    matrices: proposal ``p`` (rows ``starts[p]:starts[p + 1]``, best first) writes its
    source's row; a row a proposal repeats keeps its first (best) rank and score, and a
    later proposal of the same source overwrites an earlier one."""
    n = rows.shape[0]
    order = np.argsort(rows, kind="mergesort")
    slot = np.empty(n, np.int64)
    uniq = np.empty(n, np.int64)
    m = 0
    for t in range(n):
        i = order[t]
        if m == 0 or rows[i] != uniq[m - 1]:
            uniq[m] = rows[i]
            m += 1
        slot[i] = m - 1
    rank_m = np.full((n_sources, m), np.float32(MISSING_RANK), np.float32)
    score_m = np.zeros((n_sources, m), np.float32)
    for p in range(sources.shape[0]):
        src = sources[p]
        for j in range(starts[p + 1] - starts[p] - 1, -1, -1):
            rank_m[src, slot[starts[p] + j]] = np.float32(j)
            score_m[src, slot[starts[p] + j]] = scores[starts[p] + j]
    return uniq[:m], rank_m, score_m


def merge_candidates(proposals: Sequence[Proposal], source_names: Sequence[str]) -> CandidateSet:
    """De-duplicate proposals, keeping every source's rank and score as columns (one
    compiled pass: a sort of the proposed rows, then each proposal's ranks and scores)."""
    names = tuple(source_names)
    position = {s: i for i, s in enumerate(names)}
    sources = np.asarray([position[p.source] for p in proposals], dtype=np.int64)
    lengths = [len(p.rows) for p in proposals]
    starts = np.zeros(len(proposals) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    if proposals:
        rows = np.concatenate([np.asarray(p.rows, dtype=np.int64) for p in proposals])
        scores = np.concatenate([np.asarray(p.scores, dtype=np.float32) for p in proposals])
    else:
        rows, scores = np.empty(0, np.int64), np.empty(0, np.float32)
    uniq, ranks, score_m = _merge(rows, scores, starts, sources, len(names))
    return _from_columns(uniq, names, ranks, score_m)


def default_sources(
    spaces: SpacesView,
    catalog: CatalogSnapshot,
    scorers: Sequence[ExternalScorer] = (),
    *,
    query: QueryStage | None = None,
    cache: SearchCache | None = None,
) -> list[CandidateSource]:
    """The standard source list, plus one :class:`ScorerSource` per external scorer.

    ``query`` is the pipeline's query stage (its catalog vocabulary feeds the text-query
    source); a new one is made for ``catalog`` when not given. ``cache`` serves the personal
    and text-query searches (default: a new :class:`SearchCache`, one per source list, so
    one per loaded artifact set).
    """
    cache = SearchCache() if cache is None else cache
    sources: list[CandidateSource] = [
        PersonalSource(spaces, cache=cache),
        ItemToItemSource(spaces),
        TextQuerySource(spaces, query or QueryStage(catalog, spaces), cache=cache),
        EmergingSource(spaces, catalog, cache=cache),
        PopularSource(catalog),
    ]
    sources.extend(ScorerSource(s) for s in scorers)
    return sources


__all__ = [
    "MISSING_RANK",
    "CandidateSet",
    "CandidateSource",
    "EmergingSource",
    "ExternalScorer",
    "ItemToItemSource",
    "PersonalSource",
    "PopularSource",
    "Proposal",
    "ScorerSource",
    "TextQuerySource",
    "default_sources",
    "merge_candidates",
    "top_k_desc",
]
