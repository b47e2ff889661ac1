"""How big an adversarial suite is and which attacks it holds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from offline_eval.adversarial.confusables import (
    CONFUSABLE_KINDS,
    DECORATIONS,
    HANDMADE_CONFUSABLES,
    HANDMADE_DECORATIONS,
)
from offline_eval.adversarial.edits import HANDMADE_COPIES, SINGLE_EDITS


class SuiteConfig(BaseModel):
    """Counts and kinds of an adversarial suite (the seed is given separately).

    Defaults are the full suite; :meth:`quick` is a small one that generates in about a
    minute. Every count may be 0 to leave a kind out.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    sample_rate: int = Field(22_050, ge=8_000)
    """Sample rate of the written audio (mono)."""
    min_track_s: float = Field(40.0, gt=0)
    """Shortest excerpt cut from a recording."""
    max_track_s: float = Field(90.0, gt=0)
    """Longest excerpt cut from a recording."""
    filler_track_s: tuple[float, float] = (35.0, 50.0)
    """Length range of the machine-made filler that slow drips and bursts upload."""
    ogg_share: float = Field(0.3, ge=0, le=1)
    """Share of tracks written as Ogg Vorbis (the rest FLAC; MP3 edits stay MP3)."""

    established_artists: int = Field(10, ge=1)
    """Artists in the catalog before any upload (their tracks are the originals)."""
    verified_share: float = Field(0.5, ge=0, le=1)
    """Share of them that are verified (the rest are protected by their listeners' plays)."""
    originals_per_artist: int = Field(3, ge=1)
    established_listeners: int = Field(60, ge=1)
    """Long-standing listeners whose plays make the established artists known."""
    plays_per_original: tuple[int, int] = (15, 50)

    genuine_artists: int = Field(12, ge=0)
    """New artists with innocent uploads (different pieces): what must not be quarantined."""
    genuine_tracks_per_artist: int = Field(2, ge=1)
    similar_name_share: float = Field(0.4, ge=0, le=1)
    """Share of genuine artists whose name shares a word with an established artist."""
    anti_ai_text_share: float = Field(0.2, ge=0, le=1)
    """Share of genuine uploads whose description mentions AI innocently ("no AI used")."""

    copy_edits: tuple[str, ...] = SINGLE_EDITS
    """Edit kinds of single-edit copies (keys of ``EDIT_KINDS``)."""
    copies_per_edit: int = Field(3, ge=0)
    combined_copies: int = Field(8, ge=0)
    """Copies with two or three edits at once."""
    cross_uploader_clusters: int = Field(4, ge=0)
    """Originals copied by several new uploaders each; every copy must be flagged."""
    cluster_size: tuple[int, int] = (2, 4)
    backdated_copies: int = Field(6, ge=0)
    """Copies whose ``uploaded_at`` claims years before the original's."""
    undated_copies: int = Field(6, ge=0)
    """Copies with a blank ``uploaded_at``."""

    confusable_kinds: tuple[str, ...] = tuple(
        k for k in CONFUSABLE_KINDS if k not in HANDMADE_CONFUSABLES
    )
    confusables_per_kind: int = Field(3, ge=0)
    decoration_kinds: tuple[str, ...] = tuple(
        k for k in DECORATIONS if k not in HANDMADE_DECORATIONS
    )
    decorations_per_kind: int = Field(2, ge=0)
    decorated_confusables: int = Field(4, ge=0)
    """Names with both a confusable spelling and a decoration."""
    backdated_artists: int = Field(4, ge=0)
    """Impersonators whose ``created_at`` claims years before the artist they imitate."""
    ring_size: int = Field(4, ge=1)
    """Impersonator profiles one operator (one rights holder) runs; they share recordings."""
    bot_impersonators: int = Field(2, ge=0)
    """Impersonators given plays from freshly created listener accounts."""
    bot_listeners: int = Field(40, ge=1)
    bot_plays: int = Field(900, ge=1)

    drip_uploads: int = Field(60, ge=0)
    """Uploads of one account spread over days at a few per hour."""
    drip_per_hour: tuple[float, float] = (2.0, 4.0)
    payee_drip_accounts: int = Field(6, ge=0)
    payee_drip_uploads: int = Field(36, ge=0)
    """Uploads of several accounts paying one rights holder, each account slow."""
    undated_burst_uploads: int = Field(30, ge=0)
    """Uploads of one account, all with a blank ``uploaded_at``."""
    machine_tracks: int = Field(10, ge=0)
    """Machine-made tracks declared ``NONE`` with Suno/Udio text: should be DISPUTED."""

    handmade_copies: tuple[str, ...] = tuple(HANDMADE_COPIES)
    """Hand-made copy kinds added later (keys of ``HANDMADE_COPIES``), planned after all the
    kinds above so the tracks those draw stay as they were."""
    handmade_confusables: tuple[str, ...] = HANDMADE_CONFUSABLES
    handmade_decorations: tuple[str, ...] = HANDMADE_DECORATIONS
    handmade_per_kind: int = Field(2, ge=0)
    bare_name_machine_tracks: int = Field(4, ge=0)
    """Declared-``NONE`` machine tracks whose only AI text names a generator bare: a tag, a
    hashtag, a credit-like title decoration (``suno``, ``#udio``, ``Night [AIVA]``)."""
    silent_machine_tracks: int = Field(8, ge=0)
    """Declared-``NONE`` machine tracks with no AI text at all: only the audio gives them away."""
    disguised_machine_tracks: int = Field(8, ge=0)
    """The same, dressed as recordings (:func:`~offline_eval.adversarial.machine.disguise`:
    noise floor, gain, room or tape wow), half of them as MP3."""

    @classmethod
    def quick(cls, **overrides: object) -> SuiteConfig:
        """A small suite (about a hundred clips, most of them short)."""
        values: dict[str, object] = {
            "max_track_s": 60.0,
            "established_artists": 4,
            "originals_per_artist": 2,
            "established_listeners": 20,
            "genuine_artists": 5,
            "genuine_tracks_per_artist": 1,
            "copies_per_edit": 1,
            "combined_copies": 2,
            "cross_uploader_clusters": 1,
            "cluster_size": (3, 3),
            "backdated_copies": 2,
            "undated_copies": 2,
            "confusables_per_kind": 1,
            "decorations_per_kind": 1,
            "decorated_confusables": 1,
            "backdated_artists": 1,
            "bot_impersonators": 1,
            "bot_listeners": 15,
            "bot_plays": 200,
            "drip_uploads": 20,
            "payee_drip_accounts": 4,
            "payee_drip_uploads": 16,
            "undated_burst_uploads": 18,
            "machine_tracks": 3,
            "handmade_per_kind": 1,
            "bare_name_machine_tracks": 2,
            "silent_machine_tracks": 2,
            "disguised_machine_tracks": 2,
        }
        values.update(overrides)
        return cls.model_validate(values)


__all__ = ["SuiteConfig"]
