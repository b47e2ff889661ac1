"""The store contract: every test runs against SQLite and PostgreSQL (``store`` comes from
this folder's conftest, parametrised over both backends)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

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
    ServedSlate,
    SlateItem,
    Track,
)
from recsys.errors import NotFoundError, StoreError
from recsys.store import EventHistory, IngestBatch, QuarantineRecord, Store

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _batch() -> IngestBatch:
    artists = [
        Artist(artist_id="a1", name="Ada", kind=ArtistKind.HUMAN, verified=True,
               rights_holder_id="label1", created_at=T0),
        Artist(artist_id="a2", name="Persona", kind=ArtistKind.AI_PERSONA, rights_holder_id="a2"),
    ]  # fmt: skip
    tracks = [
        Track(
            track_id="t1",
            title="Morning",
            credits=(Credit(artist_id="a1", share=0.6),
                     Credit(artist_id="a2", role=CreditRole.FEATURED, share=0.4)),
            tags=("calm", "folk"),
            genre="folk",
            duration_ms=200_000,
            release_date=date(2020, 1, 2),
            audio_path="/data/t1.wav",
            audio_descriptors={"tempo": 120.0, "energy": 0.3},
            uploader_id="up1",
            uploaded_at=T0,
            provenance=Provenance(ai_involvement=AiInvolvement.NONE),
        ),
        Track(
            track_id="t2",
            title="Copy",
            credits=(Credit(artist_id="a2", share=1.0),),
            provenance=Provenance(
                ai_involvement=AiInvolvement.GENERATED,
                ai_parts=(AiPart.VOCALS,),
                references_artist_ids=("a1",),
            ),
        ),
    ]  # fmt: skip
    listeners = [
        Listener(listener_id="u1"),
        Listener(listener_id="u2", ai_preference=AiPreference.OPT_OUT, blocked_artist_ids=("a2",)),
    ]
    events = [
        FeedbackEvent(event_id="e1", listener_id="u1", track_id="t1", at=T0, ms_played=1000),
        FeedbackEvent(event_id="e2", listener_id="u1", track_id="t2", at=T0 + timedelta(hours=1),
                      event_type=EventType.SKIP, request_id="r1", position=3),
    ]  # fmt: skip
    consent = [_grant("c1", "label1", ConsentScope.AI_STYLE_REFERENCE, T0)]
    return IngestBatch(
        artists=artists, tracks=tracks, listeners=listeners, events=events, consent=consent
    )


def _grant(entry_id: str, holder: str, scope: ConsentScope, at: datetime,
           action: ConsentAction = ConsentAction.GRANT) -> ConsentEntry:  # fmt: skip
    return ConsentEntry(entry_id=entry_id, rights_holder_id=holder, scope=scope, action=action,
                        actor="tester", reason="test", at=at)  # fmt: skip


class TestStoreContract:
    """Behaviour every Store backend must have (``store`` is parametrised over both)."""

    def test_round_trips_entities(self, store: Store) -> None:
        batch = _batch()
        store.ingest(batch)
        assert store.get_track("t1") == batch.tracks[0]
        assert store.get_track("t2") == batch.tracks[1]
        assert store.get_artist("a1") == batch.artists[0]
        assert store.get_listener("u2") == batch.listeners[1]
        assert store.get_track("missing") is None
        assert [t.track_id for t in store.iter_tracks()] == ["t1", "t2"]
        assert list(store.iter_artists()) == list(batch.artists)
        assert list(store.iter_listeners()) == list(batch.listeners)
        assert store.listener_events("u1") == [batch.events[1], batch.events[0]]
        assert store.listener_events("u1", limit=1) == [batch.events[1]]

    def test_batched_reads_match_single_reads(self, store: Store) -> None:
        """``get_tracks``/``get_artists`` (one read for a whole slate) return what the single
        getters do, skip unknown ids, and take more ids than one SQLite statement holds."""
        batch = _batch()
        more = [
            Track(track_id=f"m{i:04d}", title=f"Filler {i}",
                  credits=(Credit(artist_id="a1", share=0.5), Credit(artist_id="a2", share=0.5)))
            for i in range(1200)
        ]  # fmt: skip
        store.ingest(IngestBatch(artists=batch.artists, tracks=[*batch.tracks, *more]))
        ids = ["t2", "missing", "t1", "t2", *(t.track_id for t in more)]
        got = store.get_tracks(ids)
        assert set(got) == set(ids) - {"missing"}
        assert got["t1"] == batch.tracks[0] and got["t2"] == batch.tracks[1]
        assert all(got[t.track_id] == store.get_track(t.track_id) for t in more[::97])
        assert got["m0007"].artist_ids == ("a1", "a2")
        assert store.get_artists(["a2", "nobody", "a1"]) == {
            "a1": batch.artists[0],
            "a2": batch.artists[1],
        }
        assert store.get_tracks([]) == {} and store.get_artists(iter(())) == {}

    def test_listener_history_matches_listener_events(self, store: Store) -> None:
        """The serving path's columns are the same events, in the same newest-first order."""
        batch = _batch()
        store.ingest(batch)
        for limit in (None, 1):
            expected = EventHistory.of(store.listener_events("u1", limit=limit))
            got = store.listener_history("u1", limit=limit)
            assert list(got.track_ids) == list(expected.track_ids)
            assert list(got.event_types) == list(expected.event_types)
            assert list(got.weights) == list(expected.weights)
        assert len(store.listener_history("nobody")) == 0

    def test_quarantine_set_follows_new_decisions(self, store: Store) -> None:
        store.ingest(_batch())
        assert store.quarantined_ids() == frozenset()
        at = datetime(2025, 1, 1, tzinfo=UTC)
        store.record_quarantine(
            [QuarantineRecord(track_id="t1", quarantined=True, reasons=("spam",), actor="t", at=at)]
        )
        assert store.quarantined_ids() == frozenset({"t1"})
        store.record_quarantine(
            [QuarantineRecord(track_id="t1", quarantined=False, actor="t", at=at)]
        )
        assert store.quarantined_ids() == frozenset()

    def test_the_latest_quarantine_decision_is_the_last_appended_whatever_its_time(
        self, store: Store
    ) -> None:
        """A release recorded after a quarantine wins even when the clock stepped back
        between them: the audit is ordered by append, not by each record's time."""
        store.ingest(_batch())
        later, earlier = datetime(2025, 1, 2, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
        store.record_quarantine(
            [QuarantineRecord(track_id="t1", quarantined=True, reasons=("spam",), actor="t",
                              at=later)]
        )  # fmt: skip
        store.record_quarantine(
            [QuarantineRecord(track_id="t1", quarantined=False, actor="admin", at=earlier)]
        )
        assert store.quarantined_ids() == frozenset()
        assert [r.quarantined for r in store.quarantine_history("t1")] == [True, False]

    def test_reingest_is_idempotent_and_upserts(self, store: Store) -> None:
        store.ingest(_batch())
        store.ingest(_batch())
        renamed = Artist(artist_id="a1", name="Ada Lark", rights_holder_id="label1")
        store.ingest(IngestBatch(artists=[renamed]))
        s = store.summary()
        assert (s.artists, s.tracks, s.listeners, s.events, s.consent_entries) == (2, 2, 2, 2, 1)
        assert store.get_artist("a1") == renamed

    def test_failed_batch_writes_nothing(self, store: Store) -> None:
        store.ingest(_batch())
        before = store.summary()
        orphan = Track(
            track_id="t9", title="Orphan", credits=(Credit(artist_id="nobody", share=1),)
        )
        event = FeedbackEvent(event_id="e9", listener_id="u9", track_id="t9", at=T0)
        with pytest.raises(StoreError):
            store.ingest(IngestBatch(listeners=[Listener(listener_id="u9")], tracks=[orphan],
                                     events=[event]))  # fmt: skip
        assert store.summary() == before
        assert store.get_listener("u9") is None

    def test_add_events_counts_only_new(self, store: Store) -> None:
        events = list(_batch().events)
        assert store.add_events(events) == 2
        assert store.add_events(events) == 0

    def test_consent_state_is_derived_from_the_ledger(self, store: Store) -> None:
        scope = ConsentScope.VOICE_LIKENESS
        store.append_consent([_grant("g1", "h1", scope, T0)])
        assert store.consent_state().allows("h1", scope)
        store.append_consent(
            [_grant("r1", "h1", scope, T0 + timedelta(days=1), ConsentAction.REVOKE)]
        )
        state = store.consent_state()
        assert not state.allows("h1", scope)
        assert state.version == store.consent_version() == 2
        store.append_consent([_grant("g1", "h1", scope, T0 + timedelta(days=2))])  # repeated id
        assert store.consent_version() == 2
        assert [e.entry_id for e in store.consent_ledger("h1")] == ["g1", "r1"]
        assert store.consent_ledger("nobody") == []

    def test_quarantine_latest_decision_wins(self, store: Store) -> None:
        def record(quarantined: bool, at: datetime) -> QuarantineRecord:
            return QuarantineRecord(track_id="t1", quarantined=quarantined,
                                    reasons=("upload_burst",), evidence={"burst": "40 in 1 h"},
                                    actor="screening", at=at)  # fmt: skip

        store.record_quarantine([record(True, T0)])
        assert store.quarantined_ids() == frozenset({"t1"})
        store.record_quarantine([record(False, T0 + timedelta(hours=1))])
        assert store.quarantined_ids() == frozenset()
        history = store.quarantine_history("t1")
        assert [h.quarantined for h in history] == [True, False]
        assert history[0].evidence == {"burst": "40 in 1 h"}

    def test_slates_round_trip(self, store: Store) -> None:
        item = SlateItem(track_id="t1", position=0, score=0.9, features={"sim": 0.5},
                         propensity=0.25, sources=("ann", "popular"))  # fmt: skip
        early = ServedSlate(request_id="r1", listener_id="u1", served_at=T0, items=(item,),
                            variant="exp:a", ai_features=True)  # fmt: skip
        late = ServedSlate(request_id="r2", listener_id="u1", served_at=T0 + timedelta(days=1))
        store.log_slates([early, late])
        store.log_slates([early])
        assert list(store.iter_slates()) == [early, late]
        assert list(store.iter_slates(since=T0 + timedelta(hours=1))) == [late]
        items = store.read_frame("slate_items")
        assert items.loc[0, "sources"] == "ann|popular"

    def test_set_provenance(self, store: Store) -> None:
        store.ingest(_batch())
        detected = Provenance(ai_involvement=AiInvolvement.GENERATED,
                              label_source=LabelSource.DETECTED, confidence=0.93)  # fmt: skip
        store.set_provenance("t1", detected)
        track = store.get_track("t1")
        assert track is not None and track.provenance == detected
        with pytest.raises(NotFoundError):
            store.set_provenance("nope", detected)

    def test_read_frame_columns(self, store: Store) -> None:
        store.ingest(_batch())
        tracks = store.read_frame("tracks")
        assert list(tracks.columns[:18]) == [
            "track_id", "title", "genre", "tags", "description", "duration_ms", "release_date",
            "audio_path", "uploader_id", "uploaded_at", "ai_involvement", "ai_parts",
            "label_source", "label_confidence", "references_artist_ids", "received_at",
            "artist_ids", "primary_artist_id",
        ]  # fmt: skip
        assert sorted(tracks.columns[18:]) == ["audio_energy", "audio_tempo"]
        row = tracks.set_index("track_id").loc["t1"]
        assert (row["tags"], row["artist_ids"], row["primary_artist_id"]) == (
            "calm|folk",
            "a1|a2",
            "a1",
        )
        assert row["uploaded_at"] == pd.Timestamp(T0)
        assert pd.isna(tracks.set_index("track_id").loc["t2", "audio_tempo"])
        events = store.read_frame("events")
        assert list(events.columns) == [
            "event_id", "listener_id", "track_id", "event_type", "at", "ms_played", "weight",
            "request_id", "position", "sender", "received_at",
        ]  # fmt: skip
        assert str(events["at"].dtype) == "datetime64[us, UTC]"
        assert str(events["received_at"].dtype) == "datetime64[us, UTC]"
        assert list(store.read_frame("credits").columns) == [
            "track_id",
            "artist_id",
            "role",
            "share",
        ]
        assert list(store.read_frame("consent").columns) == [
            "entry_id", "rights_holder_id", "scope", "action", "actor", "reason", "at",
            "seq", "received_at",
        ]  # fmt: skip
        listeners = store.read_frame("listeners")
        assert listeners["ai_preference"].tolist() == ["allow", "opt_out"]
        assert store.read_frame("artists")["verified"].tolist() == [True, False]
        assert store.count_by("events", "event_type") == {"play": 1, "skip": 1}

    def test_threads_read_and_write_concurrently(self, store: Store) -> None:
        store.ingest(_batch())
        failures: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(20):
                    store.add_events([FeedbackEvent(event_id=f"x{n}-{i}", listener_id="u1",
                                                    track_id="t1", at=T0)])  # fmt: skip
                    assert store.get_track("t1") is not None
                    store.consent_version()
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        assert store.summary().events == 2 + 4 * 20

    def test_unknown_frame(self, store: Store) -> None:
        with pytest.raises(StoreError, match="no table"):
            store.read_frame("nope")
