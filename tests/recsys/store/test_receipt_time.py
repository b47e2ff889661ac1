"""Receipt time is the store's own clock: set on a row's first write, never from input, never
moved by later upserts or raw SQL (``backend``: on SQLite and PostgreSQL), and backfilled in
rowid order for SQLite rows stored before it."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recsys.domain import Artist, Credit, Listener, Track
from recsys.errors import StoreError
from recsys.ingest import run_ingest
from recsys.store import IngestBatch, SqliteStore
from recsys.store.schema import MIGRATIONS, _statements
from tests.recsys.ingest.folders import valid_tables, write_folder
from tests.recsys.store.conftest import Backend

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
CLAIMED = datetime(2001, 1, 1, tzinfo=UTC)


class Clock:
    """A settable clock."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _track(track_id: str, title: str = "Song", **kw: object) -> Track:
    return Track(
        track_id=track_id,
        title=title,
        credits=(Credit(artist_id="a1", share=1.0),),
        uploaded_at=CLAIMED,
        **kw,  # type: ignore[arg-type]
    )


def _artist(**kw: object) -> Artist:
    return Artist(artist_id="a1", name="Ada", rights_holder_id="h1", created_at=CLAIMED, **kw)  # type: ignore[arg-type]


def test_first_write_stamps_the_service_clock_and_ignores_claimed_times(backend: Backend) -> None:
    clock = Clock(NOW)
    store = backend.open(clock=clock)
    forged = CLAIMED - timedelta(days=3000)
    store.ingest(
        IngestBatch(
            artists=[_artist(received_at=forged)],
            tracks=[_track("t1", received_at=forged), _track("t2")],
            listeners=[Listener(listener_id="u1", received_at=forged)],
        )
    )
    artist, t1, t2 = store.get_artist("a1"), store.get_track("t1"), store.get_track("t2")
    listener = store.get_listener("u1")
    assert artist is not None and t1 is not None and t2 is not None and listener is not None
    # One microsecond apart in write order: artists, then tracks, then listeners.
    assert artist.received_at == NOW
    assert t1.received_at == NOW + timedelta(microseconds=1)
    assert t2.received_at == NOW + timedelta(microseconds=2)
    assert listener.received_at == NOW + timedelta(microseconds=3)
    assert t1.uploaded_at == CLAIMED  # the claim is kept, as a claim


def test_upserts_never_move_receipt_time_and_new_rows_come_after(backend: Backend) -> None:
    clock = Clock(NOW)
    store = backend.open(clock=clock)
    store.ingest(IngestBatch(artists=[_artist()], tracks=[_track("t1")]))
    first = store.get_track("t1")
    assert first is not None and first.received_at is not None
    # A later upsert, with new content and a forged receipt time, and a clock set back.
    clock.at = NOW - timedelta(days=365)
    changed = dataclasses.replace(first, title="Renamed", received_at=CLAIMED)
    store.ingest(IngestBatch(tracks=[changed, _track("t_new")]))
    again, new = store.get_track("t1"), store.get_track("t_new")
    assert again is not None and new is not None
    assert again.title == "Renamed" and again.received_at == first.received_at
    # A clock that went back never orders a new row before an older one.
    assert new.received_at is not None and new.received_at > first.received_at
    # Batches are a millisecond apart on the receipt clock, so a batch is a run of stamps.
    assert new.received_at - first.received_at >= timedelta(milliseconds=1)
    frame = store.read_frame("tracks").set_index("track_id")
    assert frame.loc["t1", "received_at"] == first.received_at


def test_raw_sql_cannot_move_receipt_time(backend: Backend) -> None:
    store = backend.open(clock=Clock(NOW))
    store.ingest(IngestBatch(artists=[_artist()], tracks=[_track("t1")]))
    for table in ("tracks", "artists"):
        with pytest.raises(StoreError, match="receipt time"):
            store.execute_sql(f"UPDATE {table} SET received_at = 0")  # type: ignore[attr-defined]


def test_a_data_file_cannot_set_receipt_time(backend: Backend, tmp_path: Path) -> None:
    tables = valid_tables()
    tables["items"]["received_at"] = "2000-01-01T00:00:00Z"
    tables["artists"]["received_at"] = "2000-01-01T00:00:00Z"
    store = backend.open(clock=Clock(NOW))
    run_ingest(write_folder(tmp_path / "data", tables), store)
    tracks = store.read_frame("tracks")
    artists = store.read_frame("artists")
    assert (tracks["received_at"] >= NOW).all() and (artists["received_at"] >= NOW).all()


def test_migration_backfills_existing_rows_in_rowid_order(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in _statements(dict(MIGRATIONS)[1]):
        conn.execute(statement)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER)")
    conn.execute("INSERT INTO schema_version VALUES (1, 0)")
    for track_id in ("t_b", "t_a", "t_c"):  # rowid order differs from id order
        conn.execute("INSERT INTO tracks (track_id, title) VALUES (?, 'x')", (track_id,))
    conn.close()
    before = datetime.now(UTC)
    store = SqliteStore(path)
    stamps = {t.track_id: t.received_at for t in store.iter_tracks()}
    assert all(s is not None for s in stamps.values())
    assert stamps["t_b"] < stamps["t_a"] < stamps["t_c"] <= before + timedelta(seconds=1)  # type: ignore[operator]
    store.ingest(IngestBatch(tracks=[Track(track_id="t_new", title="y")]))
    new = store.get_track("t_new")
    assert new is not None and new.received_at > stamps["t_c"]  # type: ignore[operator]
