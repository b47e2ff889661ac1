"""`liner serve` screens the unscreened backlog in the background, one process at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from recsys.domain import Artist, Credit, FeedbackEvent, Listener, Track
from recsys.integrity.backlog import BacklogScreener, screening_lock
from recsys.store import IngestBatch, SqliteStore

T0 = datetime(2025, 6, 1, tzinfo=UTC)


def _store(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(tmp_path / "liner.db")
    tracks = [
        Track(
            track_id=f"t{i}",
            title=f"Song {i}",
            credits=(Credit(artist_id="a", share=1.0),),
            duration_ms=9_000 if i == 0 else 200_000,  # t0: ultra-short
            uploaded_at=T0 + timedelta(days=i),
        )
        for i in range(4)
    ]
    events = [
        FeedbackEvent(event_id=f"e{i}", listener_id="L", track_id=f"t{i % 4}", at=T0)
        for i in range(8)
    ]
    store.ingest(
        IngestBatch(
            artists=[Artist(artist_id="a", name="Paper Lanterns", rights_holder_id="h")],
            tracks=tracks,
            listeners=[Listener(listener_id="L")],
            events=events,
        )
    )
    return store


def test_backlog_is_screened_by_one_process_at_a_time(tmp_path: Path) -> None:
    store = _store(tmp_path)
    try:
        screener = BacklogScreener(store, audio_cache=None, interval_s=60)
        assert len(store.unscreened_ids()) == 4
        with screening_lock(store) as mine:  # another worker is screening
            assert mine
            assert screener.screen_once() is False
        assert len(store.unscreened_ids()) == 4
        assert screener.screen_once() is True
        assert store.unscreened_ids() == frozenset()
        assert "t0" in store.quarantined_ids()
        assert screener.screen_once() is False  # nothing left to do
    finally:
        store.close()


def test_background_thread_screens_on_start(tmp_path: Path) -> None:
    store = _store(tmp_path)
    screener = BacklogScreener(store, audio_cache=None, interval_s=0.05)
    try:
        screener.start()
        deadline = datetime.now(UTC) + timedelta(seconds=120)
        while screener.runs == 0 and datetime.now(UTC) < deadline:
            screener._stop.wait(0.1)
        assert store.unscreened_ids() == frozenset() and screener.runs == 1
    finally:
        screener.stop(timeout=60)
        store.close()
