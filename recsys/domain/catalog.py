"""Artists, tracks, credits and provenance: the catalog side of the artist-first world."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime


class ArtistKind(enum.StrEnum):
    """Who an artist is: a person or group of people, an AI persona, or not known."""

    HUMAN = "human"
    AI_PERSONA = "ai_persona"
    UNKNOWN = "unknown"


class AiInvolvement(enum.StrEnum):
    """How much AI was involved in making a track.

    ``UNDISCLOSED`` means the distributor made no declaration and our detector has not found
    AI involvement with enough confidence; it is a label in its own right, never a missing one.
    """

    NONE = "NONE"
    ASSISTED = "ASSISTED"
    GENERATED = "GENERATED"
    UNDISCLOSED = "UNDISCLOSED"


class AiPart(enum.StrEnum):
    """The parts of a track that AI made or helped with."""

    COMPOSITION = "composition"
    LYRICS = "lyrics"
    VOCALS = "vocals"
    INSTRUMENTATION = "instrumentation"
    PRODUCTION = "production"


class LabelSource(enum.StrEnum):
    """Where an AI-involvement label comes from."""

    DECLARED = "DECLARED"
    DETECTED = "DETECTED"


class CreditRole(enum.StrEnum):
    """A contributor's role on a track."""

    PRIMARY = "primary"
    FEATURED = "featured"
    COMPOSER = "composer"
    LYRICIST = "lyricist"
    PRODUCER = "producer"
    PERFORMER = "performer"


@dataclass(frozen=True, kw_only=True)
class Artist:
    """An artist as listeners see it, with the rights holder who speaks for it.

    Attributes:
        artist_id: stable id.
        name: display name.
        kind: human, AI persona or unknown.
        verified: whether the distributor verified the artist's identity.
        rights_holder_id: who grants or revokes consent for this artist's work (often the
            artist itself, sometimes a label or estate).
        created_at: when the artist first appeared in the catalog, as the data file claims.
        received_at: when the service itself first stored this artist (its own clock, set by
            the store on first write, never from input); None until stored. Ordering and
            "prior use" rest on this, never on ``created_at``. Not part of equality: the
            same artist read back from the store equals the one written.
    """

    artist_id: str
    name: str
    kind: ArtistKind = ArtistKind.UNKNOWN
    verified: bool = False
    rights_holder_id: str
    created_at: datetime | None = None
    received_at: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True, kw_only=True)
class Credit:
    """One contributor's credit on a track; shares of a track sum to 1."""

    artist_id: str
    role: CreditRole = CreditRole.PRIMARY
    share: float


@dataclass(frozen=True, kw_only=True)
class Provenance:
    """The AI-involvement label of a track.

    Attributes:
        ai_involvement: the label shown to listeners.
        ai_parts: which parts AI made or helped with (empty for ``NONE``).
        label_source: declared by the distributor, or detected by our model.
        confidence: 1.0 for declared labels; the calibrated probability for detected ones.
        references_artist_ids: artists the track imitates or references (style, voice); an
            AI track may only be served while each of them grants the matching consent scope.
    """

    ai_involvement: AiInvolvement = AiInvolvement.UNDISCLOSED
    ai_parts: tuple[AiPart, ...] = ()
    label_source: LabelSource = LabelSource.DECLARED
    confidence: float = 1.0
    references_artist_ids: tuple[str, ...] = ()

    @property
    def is_ai_generated(self) -> bool:
        """True when the whole track is AI-generated."""
        return self.ai_involvement is AiInvolvement.GENERATED


@dataclass(frozen=True, kw_only=True)
class Track:
    """A track in the catalog.

    Attributes:
        track_id: stable id.
        title: display title.
        credits: contributors with roles and shares (shares sum to 1).
        tags: free-text tags (moods, styles, activities).
        genre: primary genre, empty when unknown.
        description: optional free text.
        duration_ms: length in milliseconds.
        release_date: release date, if known.
        audio_path: path to an audio file, relative to the data folder or absolute.
        audio_descriptors: named numeric descriptors (e.g. Spotify's ``danceability``) used
            when the dataset ships descriptors instead of audio.
        uploader_id: the account that uploaded the track.
        uploaded_at: upload time, as the uploader claims it.
        provenance: the AI-involvement label.
        received_at: when the service itself first stored this track (its own clock, set by
            the store on first write, never from input); None until stored. First claim
            between duplicates and rate screens rest on this, never on ``uploaded_at``.
    """

    track_id: str
    title: str
    credits: tuple[Credit, ...] = ()
    tags: tuple[str, ...] = ()
    genre: str = ""
    description: str = ""
    duration_ms: int = 0
    release_date: date | None = None
    audio_path: str | None = None
    audio_descriptors: dict[str, float] = field(default_factory=dict)
    uploader_id: str = ""
    uploaded_at: datetime | None = None
    provenance: Provenance = field(default_factory=Provenance)
    received_at: datetime | None = field(default=None, compare=False)

    @property
    def artist_ids(self) -> tuple[str, ...]:
        """Ids of all credited artists, primary first, without repeats."""
        ordered = sorted(self.credits, key=lambda c: c.role is not CreditRole.PRIMARY)
        return tuple(dict.fromkeys(c.artist_id for c in ordered))

    @property
    def primary_artist_id(self) -> str | None:
        """The first primary artist, or the first credited one."""
        ids = self.artist_ids
        return ids[0] if ids else None


__all__ = [
    "AiInvolvement",
    "AiPart",
    "Artist",
    "ArtistKind",
    "Credit",
    "CreditRole",
    "LabelSource",
    "Provenance",
    "Track",
]
