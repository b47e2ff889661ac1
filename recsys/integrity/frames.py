"""Turn store table frames into domain values for the integrity and metering jobs.

The jobs read whole tables with :meth:`Store.read_frame` (so they run as functions over batches
of rows) and convert only the columns they need. Column names follow the domain fields; the
data-folder spellings (``user_id``, ``item_id``, ``timestamp``) are accepted as well.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from recsys.domain import EventType, FeedbackEvent

_ALIASES = {
    "listener_id": ("listener_id", "user_id"),
    "track_id": ("track_id", "item_id"),
    "at": ("at", "timestamp", "time"),
    "event_type": ("event_type", "type"),
}


def _column(frame: pd.DataFrame, name: str) -> str | None:
    for candidate in _ALIASES.get(name, (name,)):
        if candidate in frame.columns:
            return candidate
    return None


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def to_datetime(value: Any) -> datetime | None:
    """A frame cell as an aware UTC datetime (ISO text, epoch seconds or a timestamp)."""
    if _missing(value):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=UTC)
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    result: datetime = stamp.to_pydatetime()
    return result


def events_from_frame(frame: pd.DataFrame) -> Iterator[FeedbackEvent]:
    """Feedback events from an ``events`` frame, in frame order."""
    cols = {name: _column(frame, name) for name in FeedbackEvent.__dataclass_fields__}
    for record in frame.to_dict("records"):

        def get(name: str, rec: dict[str, Any] = record) -> Any:
            col = cols[name]
            return None if col is None or _missing(rec.get(col)) else rec[col]

        at = to_datetime(get("at")) or datetime.fromtimestamp(0, tz=UTC)
        weight = get("weight")
        position = get("position")
        ms_played = get("ms_played")
        request_id = get("request_id")
        yield FeedbackEvent(
            event_id=str(get("event_id")),
            listener_id=str(get("listener_id")),
            track_id=str(get("track_id")),
            event_type=EventType(get("event_type") or EventType.PLAY),
            at=at,
            ms_played=None if ms_played is None else int(ms_played),
            weight=1.0 if weight is None or math.isnan(float(weight)) else float(weight),
            request_id=None if request_id in (None, "") else str(request_id),
            position=None if position is None else int(position),
        )


__all__ = ["events_from_frame", "to_datetime"]
