"""What the agent's tools need from the recommender, as one interface.

The guardrails live behind :meth:`DiscoveryBackend.permitted`: every tool passes every track it
returns through it, so no planner, rule-based or LLM, can surface a quarantined upload, a
consent-violating imitation, an unlabelled item, or an AI-generated track to a listener who
opted out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from recsys.domain import AiInvolvement, Artist, ArtistKind, Track
from recsys.pipeline.api import AudioFacts, Recommendation


@dataclass(frozen=True, kw_only=True)
class TrackFacts:
    """What the tools filter and rank on, plus the label and credits shown to listeners.

    Attributes:
        track: the track with its provenance label and credits.
        artists: credited artists, in credit order.
        tempo: beats per minute, when known.
        year: release year, when known.
        emerging: whether the primary artist is an emerging human artist.
        popularity: play count share in the catalog (0..1).
        audio: what the service measured from the audio (tempo, key, loudness, energy).
    """

    track: Track
    artists: tuple[Artist, ...]
    tempo: float | None = None
    year: int | None = None
    emerging: bool = False
    popularity: float = 0.0
    audio: AudioFacts = field(default_factory=AudioFacts)

    @property
    def is_human(self) -> bool:
        """All credited artists are human and no AI generated the track."""
        return (
            bool(self.artists)
            and all(a.kind is ArtistKind.HUMAN for a in self.artists)
            and (self.track.provenance.ai_involvement is not AiInvolvement.GENERATED)
        )


@dataclass(frozen=True, kw_only=True)
class ListenerProfile:
    """A listener's taste as the tools describe it."""

    listener_id: str
    known: bool
    top_genres: tuple[str, ...] = ()
    top_tags: tuple[str, ...] = ()
    top_artists: tuple[str, ...] = ()
    recent_track_ids: tuple[str, ...] = ()
    ai_opt_out: bool = False
    plays: int = 0
    extra: dict[str, float] = field(default_factory=dict)


class DiscoveryBackend(Protocol):
    """The recommender seen from the agent's tools."""

    def search_text(self, query: str, k: int) -> list[tuple[str, float]]:
        """Tracks whose text best matches ``query`` (semantic search)."""
        ...

    def similar_tracks(self, track_ids: Sequence[str], k: int) -> list[tuple[str, float]]:
        """Tracks near the given seeds (track → track space), seeds excluded."""
        ...

    def find_artists(self, name: str, limit: int = 3) -> list[Artist]:
        """Artists whose name matches ``name`` best (exact, then fuzzy)."""
        ...

    def find_tracks(self, title: str, limit: int = 3) -> list[Track]:
        """Tracks whose title matches ``title`` best."""
        ...

    def artist_track_ids(self, artist_id: str, limit: int = 20) -> list[str]:
        """An artist's most played tracks."""
        ...

    def recommend(self, listener_id: str, k: int) -> Recommendation:
        """The full pipeline's personal slate for the listener."""
        ...

    def profile(self, listener_id: str) -> ListenerProfile:
        """The listener's taste summary."""
        ...

    def facts(self, track_ids: Sequence[str]) -> list[TrackFacts]:
        """Facts for known tracks, in the given order; unknown ids are dropped."""
        ...

    def permitted(self, track_ids: Sequence[str], listener_id: str | None) -> list[str]:
        """The subset (order kept) that may be shown to the listener: not quarantined, no
        consent-violating imitation, labelled, and not AI-generated for opted-out listeners.
        Consent is read from the current ledger."""
        ...

    def tag_vocabulary(self) -> Sequence[str]:
        """The catalog's own tags and genres."""
        ...

    def genre_vocabulary(self) -> Sequence[str]:
        """The catalog's genres (hard constraints when named; other tags are preferences)."""
        ...

    def term_similarity(self, track_ids: Sequence[str], terms: Sequence[str]) -> np.ndarray:
        """Cosine similarity of each track's text vector to each term (tracks × terms)."""
        ...

    def embed_terms(self, terms: Sequence[str]) -> np.ndarray:
        """Unit-norm text embeddings of ``terms`` (same model as the catalog's text space)."""
        ...


__all__ = ["DiscoveryBackend", "ListenerProfile", "TrackFacts"]
