"""What every stage knows about one request: the listener's history as rows, their taste
vectors in each embedding space, the seed tracks and the query vector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from recsys.domain import AiPreference, EventType, FeedbackEvent, Listener
from recsys.pipeline.api import RecommendRequest
from recsys.pipeline.catalog import CatalogSnapshot

SPACES: tuple[str, ...] = ("fused", "text", "audio", "collab")
"""Embedding spaces the features read; a missing space gives zero similarities."""

NEGATIVE_EVENTS = frozenset({EventType.DISLIKE})
SKIP_WEIGHT = 0.0


class AnnIndex(Protocol):
    """What the pipeline needs from a FAISS index (``recsys.index.FaissIndex``)."""

    def search_rows(
        self, queries: np.ndarray, k: int, *, exclude_rows: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores and rows (``-1`` padded) of the ``k`` nearest rows per query."""
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
        artist_affinity: artist row → share of the listener's weighted history.
        genre_affinity: genre code → share of the listener's weighted history.
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
    artist_affinity: dict[int, float] = field(default_factory=dict)
    genre_affinity: dict[int, float] = field(default_factory=dict)

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


def build_context(
    request: RecommendRequest,
    *,
    listener: Listener | None,
    events: Sequence[FeedbackEvent],
    catalog: CatalogSnapshot,
    spaces: SpacesView,
    max_history: int = 200,
) -> ListenerContext:
    """Resolve a request and the listener's events (newest first) into a context."""
    listener = listener or Listener(listener_id=request.listener_id)
    row_of = catalog.row_of
    weights: dict[int, float] = {}
    recent: list[int] = []
    disliked: list[int] = []
    n_recent = request.params.recent_play_exclusion
    for rank, ev in enumerate(events):
        row = row_of.get(ev.track_id)
        if row is None:
            continue
        if ev.event_type in NEGATIVE_EVENTS:
            disliked.append(row)
            continue
        if ev.event_type is EventType.PLAY and len(recent) < n_recent:
            recent.append(row)
        if ev.event_type is EventType.SKIP or (len(weights) >= max_history and row not in weights):
            continue
        decay = 0.5 ** (rank / 100.0)
        weights[row] = weights.get(row, 0.0) + max(ev.weight, 0.0) * decay
    hist = np.fromiter(weights.keys(), dtype=np.int64, count=len(weights))
    w = np.fromiter(weights.values(), dtype=np.float32, count=len(weights))
    if len(hist):
        # Dampen play counts so one obsessively replayed track does not dominate.
        w = np.log1p(w)
        w = w / w.sum() if w.sum() > 0 else np.full(len(w), 1.0 / len(w), dtype=np.float32)
    profiles: dict[str, np.ndarray] = {}
    if len(hist):
        for name in SPACES:
            vecs = spaces.vectors.get(name)
            if vecs is None:
                continue
            prof = _normalise(w @ vecs[hist])
            if prof is not None:
                profiles[name] = prof
    artist_aff: dict[int, float] = {}
    genre_aff: dict[int, float] = {}
    for row, weight in zip(hist.tolist(), w.tolist(), strict=True):
        a = int(catalog.artist_row[row])
        if a >= 0:
            artist_aff[a] = artist_aff.get(a, 0.0) + weight
        g = int(catalog.genre_code[row])
        if g >= 0:
            genre_aff[g] = genre_aff.get(g, 0.0) + weight
    query_vec = None
    if request.query.strip():
        query_vec = _normalise(np.asarray(spaces.query_vector(request.query), dtype=np.float32))
    return ListenerContext(
        request=request,
        listener=listener,
        history_rows=hist,
        history_weights=w,
        recent_rows=np.asarray(recent, dtype=np.int64),
        disliked_rows=np.asarray(disliked, dtype=np.int64),
        seed_rows=catalog.rows(request.context_track_ids),
        profiles=profiles,
        query_vec=query_vec,
        artist_affinity=artist_aff,
        genre_affinity=genre_aff,
    )


__all__ = ["SPACES", "AnnIndex", "ListenerContext", "SpacesView", "build_context"]
