"""What `Recommend` takes and returns, as domain values (the service converts protobuf to and
from these in one place)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Protocol

from recsys.domain import Artist, Track
from recsys.params import PolicyParams


@dataclass(frozen=True, kw_only=True)
class RequestFilters:
    """Listener-chosen filters; they can only narrow what the rules already allow."""

    genres: tuple[str, ...] = ()
    human_only: bool = False
    exclude_ai_generated: bool = False
    exclude_track_ids: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RecommendRequest:
    """One recommendation request.

    Attributes:
        listener_id: who; an unknown id is served as a listener with no history.
        k: slate size.
        context_track_ids: seed or now-playing tracks for item-to-item candidates.
        surface: where the slate is shown (``home``, ``radio``, ``search``, ``agent``).
        query: optional free text (``"rainy day jazz"``).
        filters: listener-chosen filters.
        explain: include per-item feature contributions.
        params: pipeline parameters (the listener's variant resolved by the experiments layer).
        variant: the experiment assignments, for logging.
        request_id: echoed in the response and the slate log; generated when empty.
    """

    listener_id: str
    k: int = 10
    context_track_ids: tuple[str, ...] = ()
    surface: str = "home"
    query: str = ""
    filters: RequestFilters = field(default_factory=RequestFilters)
    explain: bool = False
    params: PolicyParams = field(default_factory=PolicyParams)
    variant: str = ""
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True, kw_only=True)
class AudioFacts:
    """What the service measured from a track's audio at build time (None where unknown).

    Attributes:
        tempo_bpm: beats per minute.
        key: estimated key, e.g. ``"A minor"``.
        loudness_db: mean loudness in dBFS.
        energy: mean RMS energy.
    """

    tempo_bpm: float | None = None
    key: str | None = None
    loudness_db: float | None = None
    energy: float | None = None


@dataclass(frozen=True, kw_only=True)
class RecommendedItem:
    """One item of a slate, always with its AI label and credits (on ``track`` / ``artists``).

    Attributes:
        track: the track, including its provenance label and credits.
        artists: the credited artists, in credit order.
        position: 0-based position.
        score: final score.
        reasons: human-readable reasons ("because you played X").
        contributions: top feature contributions when ``explain`` was asked.
        sources: the candidate sources that proposed it.
        audio: measured audio facts (tempo, key, loudness, energy) where known.
    """

    track: Track
    artists: tuple[Artist, ...]
    position: int
    score: float
    reasons: tuple[str, ...] = ()
    contributions: dict[str, float] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    audio: AudioFacts = field(default_factory=AudioFacts)


@dataclass(frozen=True, kw_only=True)
class Recommendation:
    """A served slate.

    Attributes:
        notes: what the listener should know about the answer, e.g. that nothing matched
            the query (the slate is then empty rather than unrelated).
    """

    request_id: str
    listener_id: str
    variant: str
    items: tuple[RecommendedItem, ...]
    stage_ms: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


class Recommender(Protocol):
    """Anything that serves slates: the full pipeline, or a baseline in the harness."""

    def recommend(self, request: RecommendRequest) -> Recommendation:
        """Serve one slate."""
        ...


__all__ = [
    "AudioFacts",
    "RecommendRequest",
    "Recommendation",
    "RecommendedItem",
    "Recommender",
    "RequestFilters",
]
