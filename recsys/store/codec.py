"""Domain objects to SQL rows and back, with the storage conventions of ``schema.py``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from recsys.domain import (
    AiInvolvement,
    AiPart,
    AiPreference,
    Artist,
    ArtistKind,
    ConsentAction,
    ConsentEntry,
    ConsentScope,
    Credit,
    CreditRole,
    EventType,
    FeedbackEvent,
    LabelSource,
    Listener,
    Provenance,
    SlateItem,
    Track,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(value: datetime | None) -> int | None:
    """Microseconds since the epoch (naive times are UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int | None) -> datetime | None:
    """The UTC datetime of a stored time."""
    if value is None:
        return None
    seconds, micros = divmod(int(value), 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=micros)


def join(values: Sequence[str]) -> str:
    """A ``|``-joined list cell."""
    return "|".join(values)


def split(cell: str | None) -> tuple[str, ...]:
    """The list in a ``|``-joined cell."""
    return tuple(v for v in (cell or "").split("|") if v)


ARTIST_COLUMNS = ("artist_id", "name", "kind", "verified", "rights_holder_id", "created_at")
RECEIVED_AT = "received_at"
"""The store's own receipt time: read with the ``*_READ_COLUMNS``, written only by the store on
a row's first insert (it is not in the write columns, so no input can set it)."""
ARTIST_READ_COLUMNS = (*ARTIST_COLUMNS, RECEIVED_AT)


def artist_row(a: Artist) -> tuple[Any, ...]:
    return (
        a.artist_id,
        a.name,
        str(a.kind),
        int(a.verified),
        a.rights_holder_id,
        to_micros(a.created_at),
    )


def row_artist(r: Sequence[Any]) -> Artist:
    return Artist(
        artist_id=r[0],
        name=r[1],
        kind=ArtistKind(r[2]),
        verified=bool(r[3]),
        rights_holder_id=r[4],
        created_at=from_micros(r[5]),
        received_at=from_micros(r[6]) if len(r) > 6 else None,
    )


TRACK_COLUMNS = (
    "track_id",
    "title",
    "genre",
    "tags",
    "description",
    "duration_ms",
    "release_date",
    "audio_path",
    "audio_descriptors",
    "uploader_id",
    "uploaded_at",
    "ai_involvement",
    "ai_parts",
    "label_source",
    "label_confidence",
    "references_artist_ids",
)
TRACK_READ_COLUMNS = (*TRACK_COLUMNS, RECEIVED_AT)


def provenance_row(p: Provenance) -> tuple[Any, ...]:
    """The five provenance columns, in ``TRACK_COLUMNS`` order."""
    return (
        str(p.ai_involvement),
        join([str(x) for x in p.ai_parts]),
        str(p.label_source),
        float(p.confidence),
        join(p.references_artist_ids),
    )


def track_row(t: Track) -> tuple[Any, ...]:
    return (
        t.track_id,
        t.title,
        t.genre,
        join(t.tags),
        t.description,
        int(t.duration_ms),
        t.release_date.isoformat() if t.release_date else None,
        t.audio_path,
        json.dumps(t.audio_descriptors, sort_keys=True),
        t.uploader_id,
        to_micros(t.uploaded_at),
        *provenance_row(t.provenance),
    )


def row_track(r: Sequence[Any], credits: tuple[Credit, ...]) -> Track:
    return Track(
        track_id=r[0],
        title=r[1],
        genre=r[2],
        tags=split(r[3]),
        description=r[4],
        duration_ms=int(r[5]),
        release_date=date.fromisoformat(r[6]) if r[6] else None,
        audio_path=r[7],
        audio_descriptors={k: float(v) for k, v in json.loads(r[8]).items()},
        uploader_id=r[9],
        uploaded_at=from_micros(r[10]),
        credits=credits,
        provenance=Provenance(
            ai_involvement=AiInvolvement(r[11]),
            ai_parts=tuple(AiPart(x) for x in split(r[12])),
            label_source=LabelSource(r[13]),
            confidence=float(r[14]),
            references_artist_ids=split(r[15]),
        ),
        received_at=from_micros(r[16]) if len(r) > 16 else None,
    )


def row_credit(r: Sequence[Any]) -> Credit:
    """A credit from ``(artist_id, role, share)``."""
    return Credit(artist_id=r[0], role=CreditRole(r[1]), share=float(r[2]))


LISTENER_COLUMNS = ("listener_id", "ai_preference", "blocked_artist_ids", "created_at")
LISTENER_READ_COLUMNS = (*LISTENER_COLUMNS, RECEIVED_AT)


def listener_row(listener: Listener) -> tuple[Any, ...]:
    return (
        listener.listener_id,
        str(listener.ai_preference),
        join(listener.blocked_artist_ids),
        to_micros(listener.created_at),
    )


def row_listener(r: Sequence[Any]) -> Listener:
    return Listener(
        listener_id=r[0],
        ai_preference=AiPreference(r[1]),
        blocked_artist_ids=split(r[2]),
        created_at=from_micros(r[3]),
        received_at=from_micros(r[4]) if len(r) > 4 else None,
    )


EVENT_COLUMNS = (
    "event_id",
    "listener_id",
    "track_id",
    "event_type",
    "at",
    "ms_played",
    "weight",
    "request_id",
    "position",
    "sender",
)
EVENT_READ_COLUMNS = (*EVENT_COLUMNS, RECEIVED_AT)
"""An event's ``received_at`` is the store's clock when it first wrote the event: not a write
column, so no event handed to the store can set it."""


def event_row(e: FeedbackEvent) -> tuple[Any, ...]:
    return (
        e.event_id,
        e.listener_id,
        e.track_id,
        str(e.event_type),
        to_micros(e.at),
        e.ms_played,
        float(e.weight),
        e.request_id,
        e.position,
        e.sender,
    )


def row_event(r: Sequence[Any]) -> FeedbackEvent:
    # Datasets without timestamps store NULL; the domain needs a time, so those read as the epoch.
    return FeedbackEvent(
        event_id=r[0],
        listener_id=r[1],
        track_id=r[2],
        event_type=EventType(r[3]),
        at=from_micros(r[4]) or EPOCH,
        ms_played=r[5],
        weight=float(r[6]),
        request_id=r[7],
        position=r[8],
        sender=r[9] if len(r) > 9 else "unknown",
        received_at=from_micros(r[10]) if len(r) > 10 else None,
    )


CONSENT_COLUMNS = ("entry_id", "rights_holder_id", "scope", "action", "actor", "reason", "at")
CONSENT_READ_COLUMNS = (*CONSENT_COLUMNS, "seq", "received_at")
"""``seq`` and ``received_at`` are the store's: assigned when an entry is appended, inside the
write transaction, never taken from the entry."""


def consent_row(c: ConsentEntry, received_at: datetime) -> tuple[Any, ...]:
    """The write columns plus the store's receipt time (``seq`` is assigned by SQLite)."""
    return (
        c.entry_id,
        c.rights_holder_id,
        str(c.scope),
        str(c.action),
        c.actor,
        c.reason,
        to_micros(c.at),
        to_micros(received_at),
    )


def row_consent(r: Sequence[Any]) -> ConsentEntry:
    at = from_micros(r[6])
    assert at is not None  # NOT NULL column
    return ConsentEntry(
        entry_id=r[0],
        rights_holder_id=r[1],
        scope=ConsentScope(r[2]),
        action=ConsentAction(r[3]),
        actor=r[4],
        reason=r[5],
        at=at,
        seq=int(r[7]) if len(r) > 7 else None,
        received_at=from_micros(r[8]) if len(r) > 8 else None,
    )


def slate_item_row(request_id: str, item: SlateItem) -> tuple[Any, ...]:
    return (
        request_id,
        item.position,
        item.track_id,
        float(item.score),
        json.dumps(item.features, sort_keys=True),
        item.propensity,
        join(item.sources),
    )


def row_slate_item(r: Sequence[Any]) -> SlateItem:
    """A slate item from ``(position, track_id, score, features, propensity, sources)``."""
    return SlateItem(
        position=int(r[0]),
        track_id=r[1],
        score=float(r[2]),
        features={k: float(v) for k, v in json.loads(r[3]).items()},
        propensity=r[4],
        sources=split(r[5]),
    )
