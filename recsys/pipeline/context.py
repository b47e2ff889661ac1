"""What every stage knows about one request: the listener's history as rows, their taste
vectors in each embedding space, the seed tracks and the query vector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Protocol

import numpy as np
from numba import njit

from recsys.domain import AiPreference, EventType, FeedbackEvent, Listener
from recsys.pipeline.api import RecommendRequest
from recsys.pipeline.catalog import CatalogSnapshot
from recsys.store.base import EventHistory

SPACES: tuple[str, ...] = ("fused", "text", "audio", "collab")
"""Embedding spaces the features read; a missing space gives zero similarities."""

NEGATIVE_EVENTS = frozenset({EventType.DISLIKE})


class AnnIndex(Protocol):
    """What the pipeline needs from a FAISS index (``recsys.index.FaissIndex``)."""

    def search_rows(
        self, queries: np.ndarray, k: int, *, exclude_rows: Any = None, ef: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores and rows (``-1`` padded) of the ``k`` nearest rows per query; ``ef`` is the
        search effort (HNSW beam width, None for the index's default)."""
        ...


class SpacesView(Protocol):
    """What the pipeline needs from ``recsys.embeddings.spaces.EmbeddingSpaces``."""

    @property
    def vectors(self) -> Mapping[str, np.ndarray]:
        """L2-normalised ``n × d`` vectors per space, rows in catalog order."""
        ...

    @property
    def indexes(self) -> Mapping[str, AnnIndex]:
        """ANN indexes by space (``fused`` and ``text``)."""
        ...

    def query_vector(self, text: str) -> np.ndarray:
        """The text-space vector of a free-text query."""
        ...


@dataclass(frozen=True, kw_only=True, eq=False)
class ListenerContext:
    """One request, resolved to rows and vectors.

    Attributes:
        request: the request.
        listener: the listener (a default one for unknown ids).
        history_rows: rows the listener played, liked or saved, newest first, unique.
        history_weights: weight per history row (sum of event weights, recency-decayed).
        recent_rows: the most recent plays that must not be recommended again.
        disliked_rows: rows the listener disliked.
        seed_rows: rows of the request's context tracks.
        profiles: L2-normalised taste vector per space (absent when there is no history).
        query_vec: text-space vector of the query, or None.
        artist_keys: artist rows of the history (ascending), with ``artist_shares``: each
            one's share of the listener's weighted history (``artist_affinity`` as a dict).
        genre_keys: genre codes of the history (ascending), with ``genre_shares``.
    """

    request: RecommendRequest
    listener: Listener
    history_rows: np.ndarray
    history_weights: np.ndarray
    recent_rows: np.ndarray
    disliked_rows: np.ndarray
    seed_rows: np.ndarray
    profiles: dict[str, np.ndarray] = field(default_factory=dict)
    query_vec: np.ndarray | None = None
    artist_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """Artist rows of the history, ascending (``artist_shares`` holds their shares)."""
    artist_shares: np.ndarray = field(default_factory=lambda: np.zeros(0))
    genre_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """Genre codes of the history, ascending (``genre_shares`` holds their shares)."""
    genre_shares: np.ndarray = field(default_factory=lambda: np.zeros(0))
    history_vectors: dict[str, np.ndarray] = field(default_factory=dict)
    """Per space, the vectors of ``history_rows`` as gathered for the profiles (the features
    read their first rows instead of gathering them again)."""

    def history_vecs(self, space: str, vectors: np.ndarray, count: int) -> np.ndarray:
        """The vectors of the first ``count`` history rows in ``space`` (``vectors``)."""
        gathered = self.history_vectors.get(space)
        if gathered is not None and len(gathered) == len(self.history_rows):
            return gathered[:count]
        return vectors[self.history_rows[:count]]

    @property
    def artist_affinity(self) -> dict[int, float]:
        """Artist row → share of the listener's weighted history."""
        return dict(zip(self.artist_keys.tolist(), self.artist_shares.tolist(), strict=True))

    @property
    def genre_affinity(self) -> dict[int, float]:
        """Genre code → share of the listener's weighted history."""
        return dict(zip(self.genre_keys.tolist(), self.genre_shares.tolist(), strict=True))

    @property
    def opted_out(self) -> bool:
        """The listener opted out of AI-generated music."""
        return self.listener.ai_preference is AiPreference.OPT_OUT

    @property
    def is_cold(self) -> bool:
        """No usable history."""
        return len(self.history_rows) == 0


def _normalise(v: np.ndarray) -> np.ndarray | None:
    norm = float(np.linalg.norm(v))
    return (v / norm).astype(np.float32) if norm > 1e-12 else None


_TYPE_CODES = {t.value: i for i, t in enumerate(EventType)}
_PLAY, _SKIP = _TYPE_CODES[EventType.PLAY.value], _TYPE_CODES[EventType.SKIP.value]
_NEGATIVE = np.asarray([t in NEGATIVE_EVENTS for t in EventType])


@njit(cache=True, nogil=True)
def _group_sum(keys: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``keys`` (ascending, int64) and the sum of ``weights`` of each (float64,
    added in index order, as ``np.bincount`` adds them)."""
    order = np.argsort(keys, kind="mergesort")  # stable: a key's weights stay in index order
    uniq = np.empty(len(keys), np.int64)
    sums = np.zeros(len(keys))
    m = -1
    for i in order:
        if m < 0 or keys[i] != uniq[m]:
            m += 1
            uniq[m] = keys[i]
        sums[m] += weights[i]
    return uniq[: m + 1], sums[: m + 1]


@njit(cache=True, nogil=True)
def _first_seen_sums(
    rows: np.ndarray, weights: np.ndarray, limit: int
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Distinct ``rows`` in order of first appearance (the first ``limit``) and the sum of
    ``weights`` of each (float64, added in index order, as ``np.bincount`` adds them)."""
    size = 16
    while size < 2 * len(rows):
        size *= 2
    table = np.full(size, -1, np.int64)  # open addressing: slot -> index into ``uniq``
    uniq = np.empty(len(rows), np.int64)
    sums = np.zeros(len(rows))
    m = 0
    for i in range(len(rows)):
        r = rows[i]
        h = (r * 2654435761) & (size - 1)
        while table[h] >= 0 and uniq[table[h]] != r:
            h = (h + 1) & (size - 1)
        if table[h] < 0:
            table[h] = m
            uniq[m] = r
            m += 1
        sums[table[h]] += weights[i]
    m = min(m, limit)
    return uniq[:m], sums[:m]


def build_context(
    request: RecommendRequest,
    *,
    listener: Listener | None,
    events: Sequence[FeedbackEvent] | EventHistory,
    catalog: CatalogSnapshot,
    spaces: SpacesView,
    max_history: int = 200,
) -> ListenerContext:
    """Resolve a request and the listener's events (newest first) into a context.

    History weights: each positive event adds ``max(weight, 0) · 0.5^(position / 100)`` to
    its track (position in the newest-first list), skips add nothing, dislikes go to
    ``disliked_rows``; only the ``max_history`` most recently touched tracks are kept.
    """
    listener = listener or Listener(listener_id=request.listener_id)
    history = events if isinstance(events, EventHistory) else EventHistory.of(events)
    count = len(history.track_ids)
    rows = np.fromiter(map(catalog.row_of.get, history.track_ids, repeat(-1)), np.int64, count)
    kinds = np.fromiter(map(_TYPE_CODES.__getitem__, history.event_types), np.int64, count)
    known = rows >= 0
    negative = known & _NEGATIVE[kinds]
    plays = np.flatnonzero(known & ~negative & (kinds == _PLAY))
    positive = known & ~negative & (kinds != _SKIP)
    pos = np.flatnonzero(positive)
    decayed = np.maximum(np.asarray(history.weights, dtype=np.float64)[pos], 0.0)
    decayed *= 0.5 ** (pos / 100.0)
    # Tracks in order of their most recent event; keep the first ``max_history``.
    hist, sums = _first_seen_sums(rows[pos], decayed, max_history)
    w = sums.astype(np.float32)
    if len(hist):
        # Dampen play counts so one obsessively replayed track does not dominate.
        w = np.log1p(w)
        w = w / w.sum() if w.sum() > 0 else np.full(len(w), 1.0 / len(w), dtype=np.float32)
    profiles: dict[str, np.ndarray] = {}
    gathered: dict[str, np.ndarray] = {}
    if len(hist):
        for name in SPACES:
            vecs = spaces.vectors.get(name)
            if vecs is None:
                continue
            gathered[name] = vecs[hist]
            prof = _normalise(w @ gathered[name])
            if prof is not None:
                profiles[name] = prof
    artists = catalog.artist_row[hist]
    genres = catalog.genre_code[hist]
    artist_keys, artist_shares = _group_sum(
        artists[artists >= 0], w[artists >= 0].astype(np.float64)
    )
    genre_keys, genre_shares = _group_sum(genres[genres >= 0], w[genres >= 0].astype(np.float64))
    recent = rows[plays[: request.params.recent_play_exclusion]]
    disliked = rows[negative]
    query_vec = None
    if request.query.strip():
        query_vec = _normalise(np.asarray(spaces.query_vector(request.query), dtype=np.float32))
    return ListenerContext(
        request=request,
        listener=listener,
        history_rows=hist,
        history_weights=w,
        recent_rows=recent,
        disliked_rows=disliked,
        seed_rows=catalog.rows(request.context_track_ids),
        profiles=profiles,
        query_vec=query_vec,
        artist_keys=artist_keys,
        artist_shares=artist_shares,
        genre_keys=genre_keys,
        genre_shares=genre_shares,
        history_vectors=gathered,
    )


__all__ = ["SPACES", "AnnIndex", "ListenerContext", "SpacesView", "build_context"]
