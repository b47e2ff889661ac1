"""The tables of one data folder, held as string-valued DataFrames, and their column orders.

Every cell is a string exactly as it will be written, so writing is byte-for-byte
deterministic and a foreign catalog passes through abuse injection unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pandas as pd

from recsys.demo.audio import ClipSpec

ITEM_COLUMNS: tuple[str, ...] = (
    "item_id",
    "title",
    "artist_ids",
    "artist_names",
    "genre",
    "tags",
    "description",
    "duration_ms",
    "release_date",
    "audio_path",
    "uploader_id",
    "uploaded_at",
    "ai_involvement",
    "ai_parts",
    "label_source",
    "label_confidence",
    "references_artist_ids",
)
ARTIST_COLUMNS = ("artist_id", "name", "kind", "verified", "rights_holder_id", "created_at")
CREDIT_COLUMNS = ("item_id", "artist_id", "role", "share")
LISTENER_COLUMNS = ("user_id", "ai_preference", "blocked_artist_ids", "created_at")
INTERACTION_COLUMNS = (
    "event_id",
    "user_id",
    "item_id",
    "timestamp",
    "event_type",
    "ms_played",
    "weight",
)
CONSENT_COLUMNS = (
    "entry_id",
    "rights_holder_id",
    "scope",
    "action",
    "actor",
    "reason",
    "timestamp",
)
TRUTH_COLUMNS: tuple[str, ...] = (
    "item_id",
    "organic",
    "true_genre",
    "true_ai_involvement",
    "true_ai_parts",
    "declared_ai_involvement",
    "undeclared_ai",
    "machine_audio",
    "abuse_kinds",
    "duplicate_of",
    "imitated_artist_ids",
    "imitation_scopes",
    "imitation_consented",
)


@dataclass(frozen=True, kw_only=True)
class AudioJob:
    """One audio file to produce: synthesise ``spec``, or perturb the clip at ``source``.

    Attributes:
        path: where to write, relative to the output folder.
        spec: synthesise this clip (when set).
        source: an existing audio file to re-encode with a perturbation (when ``spec`` is None),
            relative to ``source_dir`` of the writer or absolute.
        seed: seed of the perturbation.
    """

    path: str
    spec: ClipSpec | None = None
    source: str = ""
    seed: int = 0


@dataclass(frozen=True, kw_only=True)
class CatalogTables:
    """The files of one data folder. ``None`` means the file is absent.

    Attributes:
        items: the items table (required).
        interactions: the interactions table (required).
        artists: artists, or None.
        credits: credits, or None.
        listeners: listeners, or None.
        consent: the consent ledger, or None.
        truth: evaluation-only ground truth (``truth.csv``), or None.
        audio_jobs: audio files still to be written.
    """

    items: pd.DataFrame
    interactions: pd.DataFrame
    artists: pd.DataFrame | None = None
    credits: pd.DataFrame | None = None
    listeners: pd.DataFrame | None = None
    consent: pd.DataFrame | None = None
    truth: pd.DataFrame | None = None
    audio_jobs: tuple[AudioJob, ...] = field(default=())

    def with_changes(self, **changes: object) -> CatalogTables:
        """A copy with some tables replaced."""
        return replace(self, **changes)  # type: ignore[arg-type]


def frame(rows: list[dict[str, str]], columns: tuple[str, ...]) -> pd.DataFrame:
    """A string DataFrame with exactly ``columns`` (missing cells are empty strings)."""
    df = pd.DataFrame(rows, columns=list(columns), dtype=object)
    return df.fillna("").astype(object)


def iso(ts: float) -> str:
    """Unix seconds as an ISO 8601 UTC time with a ``Z`` suffix."""
    return datetime.fromtimestamp(int(ts), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_date(ts: float) -> str:
    """Unix seconds as a ``YYYY-MM-DD`` date."""
    return datetime.fromtimestamp(int(ts), tz=UTC).strftime("%Y-%m-%d")


def unix(text: str) -> float:
    """Parse an ISO time, a date or integer Unix seconds (as the data format allows)."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return float(text)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


__all__ = [
    "ARTIST_COLUMNS",
    "CONSENT_COLUMNS",
    "CREDIT_COLUMNS",
    "INTERACTION_COLUMNS",
    "ITEM_COLUMNS",
    "LISTENER_COLUMNS",
    "TRUTH_COLUMNS",
    "AudioJob",
    "CatalogTables",
    "frame",
    "iso",
    "iso_date",
    "unix",
]
