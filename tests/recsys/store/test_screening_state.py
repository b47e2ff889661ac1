"""Screening state in the store (SQLite and PostgreSQL, the conftest's ``store``): unscreened
marks written with the tracks, cleared only with a screening's decisions, and the append-only
dispute audit."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from recsys.domain import AiInvolvement, Artist, Credit, Track
from recsys.errors import LinerError
from recsys.store import DisputeRecord, IngestBatch, QuarantineRecord, SqliteStore
from recsys.store.schema import MIGRATIONS, _statements

T0 = datetime(2025, 5, 1, tzinfo=UTC)
ARTIST = Artist(artist_id="a1", name="Paper Lanterns", rights_holder_id="h1")


def _track(track_id: str, **kw: object) -> Track:
    return Track(
        track_id=track_id,
        title=str(kw.pop("title", f"Song {track_id}")),
        credits=(Credit(artist_id="a1", share=1.0),),
        duration_ms=180_000,
        **kw,  # type: ignore[arg-type]
    )


def test_ingest_marks_new_tracks_unscreened_and_held(store: Any) -> None:
    store.ingest(IngestBatch(artists=[ARTIST], tracks=[_track("t1"), _track("t2")]))
    assert store.unscreened_ids() == {"t1", "t2"}
    assert store.held_ids() == {"t1", "t2"}
    store.finish_screening(screened=store.unscreened_marks())
    assert store.unscreened_ids() == frozenset() and store.held_ids() == frozenset()


def test_unchanged_reingest_keeps_state_and_a_change_is_screened_again(
    store: Any,
) -> None:
    store.ingest(IngestBatch(artists=[ARTIST], tracks=[_track("t1"), _track("t2")]))
    store.finish_screening(screened=store.unscreened_marks())
    store.ingest(IngestBatch(artists=[ARTIST], tracks=[_track("t1"), _track("t2")]))
    assert store.unscreened_ids() == frozenset()
    store.ingest(IngestBatch(tracks=[_track("t2", description="now with words")]))
    assert store.unscreened_ids() == {"t2"}


def test_a_track_rewritten_during_screening_stays_unscreened(store: Any) -> None:
    store.ingest(IngestBatch(artists=[ARTIST], tracks=[_track("t1"), _track("t2")]))
    read = store.unscreened_marks()  # a screening starts here ...
    store.ingest(IngestBatch(tracks=[_track("t1", title="Another upload")]))
    quarantine = QuarantineRecord(
        track_id="t2", quarantined=True, reasons=("x",), actor="screening", at=T0
    )
    store.finish_screening(screened=read, quarantines=[quarantine])  # ... and commits here
    assert store.unscreened_ids() == {"t1"}
    assert store.quarantined_ids() == {"t2"}


def test_finish_screening_is_all_or_nothing(store: Any) -> None:
    store.ingest(IngestBatch(artists=[ARTIST], tracks=[_track("t1")]))
    marks = store.unscreened_marks()
    bad = DisputeRecord(
        track_id="t1",
        opened=True,
        declared=AiInvolvement.NONE,
        actor="screening",
        at=None,  # type: ignore[arg-type]  # NOT NULL: the write fails
    )
    quarantine = QuarantineRecord(track_id="t1", quarantined=True, actor="screening", at=T0)
    with pytest.raises(LinerError):
        store.finish_screening(screened=marks, quarantines=[quarantine], disputes=[bad])
    assert store.unscreened_ids() == {"t1"} and store.quarantined_ids() == frozenset()


def test_dispute_audit_is_append_only_and_latest_entry_is_in_force(store: Any) -> None:
    store.ingest(IngestBatch(artists=[ARTIST], tracks=[_track("t1")]))
    opened = DisputeRecord(
        track_id="t1",
        opened=True,
        declared=AiInvolvement.NONE,
        probability=0.97,
        evidence={"text": "strong mention in description: 'made with suno'"},
        actor="screening",
        at=T0,
    )
    store.record_disputes([opened])
    assert store.disputed_ids() == {"t1"} and "t1" in store.held_ids()
    decided = replace(
        opened,
        opened=False,
        probability=None,
        evidence={},
        decided=AiInvolvement.GENERATED,
        actor="admin-7",
        reason="the uploader confirmed",
        at=T0 + timedelta(days=1),
    )
    store.record_disputes([decided])
    assert store.disputed_ids() == frozenset()
    assert store.dispute_history("t1") == [opened, decided]
    for sql in ("UPDATE disputes SET opened = 1", "DELETE FROM disputes"):
        with pytest.raises(LinerError, match="append-only"):
            store.execute_sql(sql)


def test_migration_marks_existing_tracks_for_screening(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER)")
    for number, script in MIGRATIONS:
        if number >= 3:
            break
        for statement in _statements(script):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version VALUES (?, 0)", (number,))
    conn.execute("INSERT INTO artists (artist_id, name, rights_holder_id) VALUES ('a1', 'A', 'h')")
    conn.execute("INSERT INTO tracks (track_id, title) VALUES ('old1', 'Old song')")
    conn.close()
    store = SqliteStore(path)
    try:
        # Nothing said whether the old code ever screened it: it is screened again.
        assert store.unscreened_ids() == {"old1"}
    finally:
        store.close()
