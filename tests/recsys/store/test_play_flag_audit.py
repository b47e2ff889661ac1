"""The play-flag audit on both backends: append-only decisions, the latest per event in force,
flagged plays left out of what serving learns from, and a decision made through one handle
seen at the next call of another."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from recsys.domain import Artist, ArtistKind, Credit, FeedbackEvent, Listener, Track
from recsys.store import IngestBatch
from recsys.store.play_flags import PlayFlagRecord
from tests.recsys.store.conftest import Backend

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _flag(event_id: str, flagged: bool, minutes: int, actor: str = "streams") -> PlayFlagRecord:
    return PlayFlagRecord(
        event_id=event_id,
        flagged=flagged,
        reasons=("coordinated",) if flagged else (),
        score=0.9 if flagged else 0.0,
        run_id="r1" if flagged else "",
        actor=actor,
        note="" if flagged else "a real fan",
        at=T0 + timedelta(minutes=minutes),
    )


def test_the_latest_decision_per_event_is_in_force_on_every_handle(backend: Backend) -> None:
    one, two = backend.open(), backend.open()
    one.ingest(
        IngestBatch(
            artists=[Artist(artist_id="a1", name="Ada", kind=ArtistKind.HUMAN,
                           rights_holder_id="a1")],
            tracks=[Track(track_id="t1", title="T", credits=(Credit(artist_id="a1", share=1.0),))],
            listeners=[Listener(listener_id="u1")],
            events=[
                FeedbackEvent(event_id=f"e{i}", listener_id="u1", track_id="t1",
                              at=T0 + timedelta(minutes=i))
                for i in range(3)
            ],
        )
    )  # fmt: skip
    assert two.flagged_event_ids() == frozenset()
    one.record_play_flags([_flag("e1", True, 1), _flag("e2", True, 2)])
    assert two.flagged_event_ids() == {"e1", "e2"}
    one.record_play_flags([_flag("e2", False, 3, actor="admin")])
    assert two.flagged_event_ids() == {"e1"}
    history = two.play_flag_history("e2")
    assert [r.flagged for r in history] == [True, False] and history[-1] == _flag(
        "e2", False, 3, actor="admin"
    )
    assert [r.event_id for r in two.play_flag_history()] == ["e1", "e2", "e2"]
    in_force = two.play_flags_in_force()
    assert set(in_force) == {"e1", "e2"} and in_force["e1"].flagged and not in_force["e2"].flagged
    # Newest first; serving's history leaves the flagged play out.
    assert [e.event_id for e in two.listener_events("u1")] == ["e2", "e1", "e0"]
    assert [e.event_id for e in two.listener_events("u1", limit=2)] == ["e2", "e1"]
    assert len(two.listener_history("u1")) == 2 and len(two.listener_history("u1", 1)) == 1
