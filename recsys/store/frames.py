"""Whole tables as pandas frames, and frames back to rows, for the SQLite store.

The column names and types of each frame are documented in ``recsys/store/sqlite.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from recsys.store import codec

TIME_COLUMNS = frozenset({"created_at", "uploaded_at", "at", "served_at", "received_at"})
BOOL_COLUMNS = frozenset({"verified", "ai_features", "quarantined", "flagged"})
INT_COLUMNS = frozenset({"ms_played", "position"})

TABLE_SQL = {
    "artists": f"SELECT {', '.join(codec.ARTIST_READ_COLUMNS)} FROM artists ORDER BY artist_id",
    "tracks": f"SELECT {', '.join(codec.TRACK_READ_COLUMNS)} FROM tracks ORDER BY track_id",
    "credits": "SELECT track_id, artist_id, role, share FROM credits ORDER BY track_id, ord",
    "listeners": f"SELECT {', '.join(codec.LISTENER_READ_COLUMNS)} FROM listeners "
    "ORDER BY listener_id",
    "events": f"SELECT {', '.join(codec.EVENT_READ_COLUMNS)} FROM events ORDER BY at, event_id",
    "consent": f"SELECT {', '.join(codec.CONSENT_READ_COLUMNS)} FROM consent ORDER BY seq",
    "slates": "SELECT request_id, listener_id, surface, variant, served_at, ai_features, "
    "propensity FROM slates ORDER BY served_at, request_id",
    "slate_items": "SELECT request_id, position, track_id, score, features, propensity, "
    "sources FROM slate_items ORDER BY request_id, position",
    "quarantine": "SELECT seq, track_id, quarantined, reasons, evidence, actor, at "
    "FROM quarantine ORDER BY seq",
    "play_flags": "SELECT seq, event_id, flagged, reasons, score, run_id, actor, note, at "
    "FROM play_flags ORDER BY seq",
}


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Stored integers to UTC times, booleans and nullable ints."""
    for name in frame.columns:
        if name in TIME_COLUMNS:
            frame[name] = pd.to_datetime(
                pd.array(frame[name], dtype="Int64"), unit="us", utc=True
            ).astype("datetime64[us, UTC]")
        elif name in BOOL_COLUMNS:
            frame[name] = frame[name].astype(bool)
        elif name in INT_COLUMNS:
            frame[name] = pd.array(frame[name], dtype="Int64")
    return frame


def tracks_frame(frame: pd.DataFrame, credits: pd.DataFrame) -> pd.DataFrame:
    """Add ``artist_ids``/``primary_artist_id`` from credits and spread audio descriptors
    into ``audio_<name>`` columns."""
    ordered = credits.assign(_p=credits["role"] != "primary").sort_values(
        ["track_id", "_p"], kind="stable"
    )
    ids = ordered.drop_duplicates(["track_id", "artist_id"]).groupby("track_id")["artist_id"]
    frame["artist_ids"] = frame["track_id"].map(ids.agg("|".join)).fillna("")
    frame["primary_artist_id"] = frame["track_id"].map(ids.first())
    descriptors = pd.DataFrame.from_records(
        [json.loads(d) for d in frame.pop("audio_descriptors")], index=frame.index
    )
    for name in sorted(descriptors.columns):
        frame[f"audio_{name}"] = descriptors[name].astype("float64")
    return typed(frame)


def event_rows(frame: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    """Rows for ``INSERT INTO events`` (the write columns, then ``received_at``) from an events
    frame, without a Python loop per cell. A frame without ``sender`` reads as ``unknown``; the
    store sets ``received_at`` on the frame it passes."""
    columns: list[Any] = []
    for name in (*codec.EVENT_COLUMNS, codec.RECEIVED_AT):
        if name not in frame.columns:  # sender: unknown; received_at: not stamped
            columns.append(np.full(len(frame), "unknown" if name == "sender" else None, object))
            continue
        if name == "sender":
            columns.append(frame[name].astype(object).fillna("unknown").to_numpy(dtype=object))
            continue
        col = frame[name]
        missing = col.isna().to_numpy()
        if name == "at":
            stamps = pd.to_datetime(col, utc=True).astype("datetime64[us, UTC]")
            values = stamps.array.asi8.astype(object)
        elif name in INT_COLUMNS or name == codec.RECEIVED_AT:
            values = col.astype("Int64").to_numpy(dtype="int64", na_value=0).astype(object)
        elif name == "weight":
            values = col.to_numpy(dtype="float64", na_value=1.0).astype(object)
        else:
            values = np.array(col.astype(object), dtype=object)
        values[missing] = None
        columns.append(values)
    return zip(*columns, strict=True)


__all__ = [
    "BOOL_COLUMNS",
    "INT_COLUMNS",
    "TABLE_SQL",
    "TIME_COLUMNS",
    "event_rows",
    "tracks_frame",
    "typed",
]
