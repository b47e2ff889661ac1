"""Events keep who sent them and when the store received them: ``sender`` from the writer
(an authenticated principal, or ``ingest:<folder>``), ``received_at`` from the store's own
clock, never from input; neither changes later, and events stored before migration 0004 read
as ``unknown`` with no receipt time (SQLite). ``backend`` runs the rest on SQLite and
PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from recsys.domain import FeedbackEvent
from recsys.errors import ConstraintError, StoreError
from recsys.ingest import run_ingest
from recsys.store import IngestBatch, SqliteStore
from recsys.store.schema import MIGRATIONS, _statements
from tests.recsys.ingest.folders import valid_tables, write_folder
from tests.recsys.store.conftest import Backend

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
CLAIMED = datetime(2001, 1, 1, tzinfo=UTC)


def _event(event_id: str, **kw: object) -> FeedbackEvent:
    return FeedbackEvent(event_id=event_id, listener_id="u1", track_id="t1", at=CLAIMED, **kw)  # type: ignore[arg-type]


def test_add_events_keeps_the_sender_and_stamps_the_store_clock(backend: Backend) -> None:
    store = backend.open(clock=lambda: NOW)
    # A received_at on the way in is a claim like any other: the store's clock replaces it.
    store.add_events([_event("e1", sender="feedback:ab12", received_at=CLAIMED)])
    (event,) = store.listener_events("u1")
    assert (event.sender, event.received_at, event.at) == ("feedback:ab12", NOW, CLAIMED)
    frame = store.read_frame("events")
    assert frame["sender"].tolist() == ["feedback:ab12"]
    assert frame["received_at"].tolist() == [pd.Timestamp(NOW)]


def test_ingest_stamps_the_folder_as_sender(backend: Backend, tmp_path: Path) -> None:
    store = backend.open(clock=lambda: NOW)
    run_ingest(write_folder(tmp_path / "spring-drop", valid_tables()), store)
    frame = store.read_frame("events")
    assert len(frame) > 0
    assert set(frame["sender"]) == {"ingest:spring-drop"}
    assert (frame["received_at"] == pd.Timestamp(NOW)).all()


def test_an_event_frame_cannot_set_receipt_time(backend: Backend) -> None:
    store = backend.open(clock=lambda: NOW)
    frame = pd.DataFrame(
        {
            "event_id": ["e1", "e2"],
            "listener_id": "u1",
            "track_id": "t1",
            "event_type": "play",
            "at": pd.to_datetime([CLAIMED, CLAIMED], utc=True),
            "ms_played": pd.array([None, 1000], dtype="Int64"),
            "weight": 1.0,
            "request_id": None,
            "position": pd.array([None, None], dtype="Int64"),
            "sender": ["ingest:x", None],
            "received_at": [0, 0],
        }
    )
    store.ingest(IngestBatch(event_frame=frame))
    stored = store.read_frame("events")
    assert stored["sender"].tolist() == ["ingest:x", "unknown"]
    assert (stored["received_at"] == pd.Timestamp(NOW)).all()


def test_raw_sql_cannot_rewrite_sender_or_receipt_time(backend: Backend) -> None:
    store: Any = backend.open()
    store.add_events([_event("e1", sender="listener:u1")])
    with pytest.raises(ConstraintError, match="never change"):
        store.execute_sql("UPDATE events SET sender = 'feedback:someone'")
    with pytest.raises(StoreError):  # a ConstraintError is a StoreError for old callers
        store.execute_sql("UPDATE events SET received_at = 0")
    assert store.listener_events("u1")[0].sender == "listener:u1"


def test_events_stored_before_the_migration_read_as_unknown(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER)")
    for version, script in MIGRATIONS:
        if version >= 4:
            break
        for statement in _statements(script):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version VALUES (?, 0)", (version,))
    conn.execute(
        "INSERT INTO events (event_id, listener_id, track_id, at) VALUES ('e0', 'u1', 't1', 0)"
    )
    conn.close()
    store = SqliteStore(path, clock=lambda: NOW)
    store.add_events([_event("e1", sender="anonymous")])
    events = {e.event_id: e for e in store.listener_events("u1")}
    assert (events["e0"].sender, events["e0"].received_at) == ("unknown", None)
    assert (events["e1"].sender, events["e1"].received_at) == ("anonymous", NOW)


def test_unknown_ids_names_what_is_missing(backend: Backend, tmp_path: Path) -> None:
    store = backend.open()
    run_ingest(write_folder(tmp_path / "data", valid_tables()), store)
    tracks = set(store.read_frame("tracks")["track_id"])
    some = sorted(tracks)[:2]
    assert store.unknown_ids("tracks", [*some, "nope", "nope"]) == frozenset({"nope"})
    artists = set(store.read_frame("artists")["artist_id"])
    assert store.unknown_ids("artists", artists) == frozenset()
    many = [f"x{i}" for i in range(1200)]  # more than one query's worth
    assert store.unknown_ids("listeners", many) == frozenset(many)
