"""Screening quarantines flagged uploads in the store; releases are audited; figures count."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recsys.domain import (
    Artist,
    ConsentAction,
    ConsentEntry,
    ConsentScope,
    Credit,
    FeedbackEvent,
    Listener,
    Track,
)
from recsys.errors import LinerError, NotFoundError
from recsys.integrity import (
    SCREENING_ACTOR,
    integrity_figures_from_store,
    metering_report_from_store,
    release_track,
    screen_store,
)
from recsys.store import IngestBatch, SqliteStore, Store

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
SCREEN_AT = T0 + timedelta(hours=2)


def _track(track_id: str, artist: str, **kw: object) -> Track:
    return Track(
        track_id=track_id,
        title=kw.pop("title", f"Song {track_id}"),  # type: ignore[arg-type]
        credits=(Credit(artist_id=artist, share=1.0),),
        duration_ms=kw.pop("duration_ms", 180_000),  # type: ignore[arg-type]
        uploaded_at=kw.pop("uploaded_at", T0),  # type: ignore[arg-type]
        uploader_id=artist,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = SqliteStore(tmp_path / "liner.db")
    artists = [
        Artist(artist_id="star", name="Midnight Rivers", verified=True, rights_holder_id="h1"),
        Artist(artist_id="fake", name="M1dnight R1vers", rights_holder_id="h2"),
        Artist(artist_id="indie", name="Paper Lanterns", rights_holder_id="h3"),
    ]
    tracks = [
        _track("t-real", "star"),
        _track("t-fake", "fake", uploaded_at=T0 + timedelta(minutes=30)),
        _track("t-short", "indie", duration_ms=9_000, uploaded_at=T0 + timedelta(hours=1)),
        _track("t-ok", "indie"),
    ]
    consent = [
        ConsentEntry(
            entry_id="c1",
            rights_holder_id="h1",
            scope=ConsentScope.AI_TRAINING,
            action=ConsentAction.GRANT,
            actor="h1",
            at=T0,
        )
    ]
    events = [
        FeedbackEvent(event_id=f"e{i}", listener_id="L1", track_id=t, at=T0)
        for i, t in enumerate(["t-real", "t-ok", "t-ok"])
    ]
    s.ingest(
        IngestBatch(
            artists=artists,
            tracks=tracks,
            consent=consent,
            listeners=[Listener(listener_id="L1")],
            events=events,
        )
    )
    yield s
    s.close()


def test_screen_quarantines_flagged_uploads_with_evidence(store: Store) -> None:
    result = screen_store(store, at=SCREEN_AT)
    assert set(result.quarantined) == {"t-fake", "t-short"}
    assert store.quarantined_ids() == {"t-fake", "t-short"}
    (record,) = store.quarantine_history("t-fake")
    assert record.actor == SCREENING_ACTOR and record.reasons == ("imitation_name",)
    assert "imitates 'Midnight Rivers'" in record.evidence["imitation_name"]
    again = screen_store(store, at=SCREEN_AT)
    assert again.quarantined == ()  # already quarantined: no duplicate decisions


def test_release_is_audited_and_sticks_for_the_same_reasons(store: Store) -> None:
    screen_store(store, at=SCREEN_AT)
    release_track(store, "t-fake", actor="admin-7", reason="licensed tribute act")
    assert "t-fake" not in store.quarantined_ids()
    history = store.quarantine_history("t-fake")
    assert [r.quarantined for r in history] == [True, False]
    assert history[-1].actor == "admin-7"
    assert history[-1].evidence["released"] == "licensed tribute act"
    rerun = screen_store(store, at=SCREEN_AT + timedelta(hours=1))
    assert rerun.skipped_released == ("t-fake",)
    assert "t-fake" not in store.quarantined_ids()


@pytest.mark.parametrize(
    ("track_id", "actor", "reason", "error"),
    [
        ("t-fake", "screening", "x", LinerError),
        ("t-fake", "admin", "  ", LinerError),
        ("t-ok", "admin", "x", LinerError),
        ("nope", "admin", "x", NotFoundError),
    ],
    ids=["screening-actor", "no-reason", "not-quarantined", "unknown-track"],
)
def test_release_refuses_bad_requests(
    store: Store, track_id: str, actor: str, reason: str, error: type[Exception]
) -> None:
    screen_store(store, at=SCREEN_AT)
    with pytest.raises(error):
        release_track(store, track_id, actor=actor, reason=reason)


def test_dry_run_writes_nothing(store: Store) -> None:
    result = screen_store(store, dry_run=True)
    assert set(result.flags) == {"t-fake", "t-short"}
    assert store.quarantined_ids() == frozenset()


def test_integrity_figures(store: Store) -> None:
    screen_store(store, at=SCREEN_AT)
    release_track(store, "t-short", actor="admin", reason="intro track", at=SCREEN_AT)
    figures = integrity_figures_from_store(store).to_dict()
    assert figures["uploads"] == 4
    assert figures["opt_in_rate"]["ai_training"] == 0.3333  # 1 of 3 holders
    assert figures["opt_in_rate"]["voice_likeness"] == 0.0
    assert figures["quarantined_ever"] == 2 and figures["quarantined_now"] == 1
    assert figures["quarantines_per_1000_uploads"] == 500.0
    assert figures["violations_by_reason"] == {"imitation_name": 1, "ultra_short": 1}
    # t-fake uploaded at +30 min, t-short at +60 min, both quarantined at +120 min.
    assert figures["hours_to_quarantine"] == {"median": 1.25, "p90": 1.45, "max": 1.5}


def test_metering_from_store_reads_the_event_frame(store: Store) -> None:
    unscreened = metering_report_from_store(store, pool="9")
    assert all(str(r.payout_pro_rata) == "0.000000" for r in unscreened.holders)
    screen_store(store, at=SCREEN_AT)  # nothing is paid before screening has finished
    report = metering_report_from_store(store, pool="9")
    assert report.plays == 3
    payouts = {r.rights_holder_id: str(r.payout_pro_rata) for r in report.holders}
    assert payouts == {"h3": "6.000000", "h1": "3.000000"}
