"""Protection rests on what the uploader cannot make: verified rights, agreements, listeners the
service knew before the artist, and receipt order. Bot plays, claimed times and claimed
creation dates earn nothing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from recsys.domain import Artist, Credit, EventType, FeedbackEvent, Listener, Track
from recsys.integrity.protected import claim_order, protected_artists
from recsys.integrity.quarantine import screen_store
from recsys.integrity.screening import ScreeningConfig
from recsys.store import IngestBatch, SqliteStore

T0 = datetime(2026, 1, 10, tzinfo=UTC)
LONG_AGO = datetime(2015, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _track(track_id: str, artist: str, uploader: str, **kw: object) -> Track:
    return Track(
        track_id=track_id,
        title=f"Song {track_id}",
        credits=(Credit(artist_id=artist, share=1.0),),
        duration_ms=200_000,
        uploader_id=uploader,
        **kw,  # type: ignore[arg-type]
    )


def _plays(prefix: str, listeners: list[str], track_id: str, per: int, at: datetime) -> list:
    return [
        FeedbackEvent(
            event_id=f"{prefix}-{u}-{k}",
            listener_id=u,
            track_id=track_id,
            event_type=EventType.PLAY,
            at=at + timedelta(minutes=k),
        )
        for u in listeners
        for k in range(per)
    ]


def _world(tmp_path: Path) -> tuple[SqliteStore, Clock]:
    """An unverified act with a real audience, received a month before an impersonator that
    arrives with its own 30 bot accounts and 900 plays, a backdated creation date and a
    backdated upload time."""
    clock = Clock(T0 - timedelta(days=60))
    store = SqliteStore(tmp_path / "s.db", clock=clock)
    fans = [f"fan{i}" for i in range(12)]
    store.ingest(IngestBatch(listeners=[Listener(listener_id=u) for u in fans]))
    clock.at = T0 - timedelta(days=30)
    store.ingest(
        IngestBatch(
            artists=[
                Artist(artist_id="real", name="Velvet Harbour", rights_holder_id="h_real"),
                Artist(artist_id="star", name="Quiet Ember", verified=True, rights_holder_id="h1"),
            ],
            tracks=[
                _track("r1", "real", "up_real", uploaded_at=T0 - timedelta(days=30)),
                _track("s1", "star", "up_star", uploaded_at=T0 - timedelta(days=30)),
            ],
            events=_plays("fan", fans, "r1", 3, T0 - timedelta(days=20)),
        )
    )
    clock.at = T0
    bots = [f"bot{i}" for i in range(30)]
    store.ingest(
        IngestBatch(
            artists=[
                Artist(artist_id="fake", name="Vеlvеt Hаrbour - Topic",  # Cyrillic е, а
                       rights_holder_id="h_fake", created_at=LONG_AGO),
                Artist(artist_id="fake2", name="QUIET EMBER VEVO", rights_holder_id="h_fake",
                       created_at=LONG_AGO),
            ],
            tracks=[
                _track("f1", "fake", "up_fake", uploaded_at=LONG_AGO),
                _track("f2", "fake2", "up_fake", uploaded_at=LONG_AGO),
            ],
            listeners=[Listener(listener_id=u, created_at=LONG_AGO) for u in bots],
            events=_plays("bot", bots, "f1", 30, T0),
        )
    )  # fmt: skip
    return store, clock


def test_bot_plays_earn_no_protection_and_the_impersonator_is_quarantined(
    tmp_path: Path,
) -> None:
    store, _ = _world(tmp_path)
    tracks = list(store.iter_tracks())
    artists = {a.artist_id: a for a in store.iter_artists()}
    protected = protected_artists(store, tracks, artists, ScreeningConfig())
    assert "real" in protected.established and "star" in protected.verified
    assert "fake" not in protected.exempt  # 900 plays from accounts made with the upload
    assert protected.established_plays.get("fake", 0.0) == 0.0
    result = screen_store(store, track_ids=["f1", "f2"])
    assert set(result.quarantined) == {"f1", "f2"}
    evidence = {t: f.evidence for t, fl in result.flags.items() for f in fl}
    assert "imitates 'Velvet Harbour' (real; established listeners" in evidence["f1"]
    assert "imitates 'Quiet Ember' (star; verified" in evidence["f2"]


def test_screening_everything_never_flags_the_original(tmp_path: Path) -> None:
    store, _ = _world(tmp_path)
    result = screen_store(store)  # the real act is judged too: received first, it is spared
    assert set(result.quarantined) == {"f1", "f2"}


def test_a_backdated_copy_never_displaces_the_original(tmp_path: Path) -> None:
    store, _ = _world(tmp_path)
    tracks = {t.track_id: t for t in store.iter_tracks()}
    artists = {a.artist_id: a for a in store.iter_artists()}
    # f1 claims 2015, r1 was received a month earlier: the service's order decides.
    assert tracks["f1"].uploaded_at < tracks["r1"].uploaded_at  # type: ignore[operator]
    assert claim_order(tracks["r1"], artists) < claim_order(tracks["f1"], artists)
    # Whatever the copy claims, it sorts after the original.
    for claimed in (LONG_AGO, None, T0 + timedelta(days=400)):
        copy = dataclasses.replace(tracks["f1"], uploaded_at=claimed)
        assert min([copy, tracks["r1"]], key=lambda t: claim_order(t, artists)) is tracks["r1"]


def test_verified_rights_win_over_receipt_order() -> None:
    artists = {
        "v": Artist(artist_id="v", name="V", verified=True, rights_holder_id="hv"),
        "u": Artist(artist_id="u", name="U", rights_holder_id="hu"),
    }
    early, late = T0, T0 + timedelta(days=1)
    leaked = _track("leak", "u", "x", received_at=early)
    official = _track("official", "v", "y", received_at=late)
    assert min([leaked, official], key=lambda t: claim_order(t, artists)) is official


def test_agreement_holders_protect_their_unverified_artists(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db", clock=Clock(T0))
    store.ingest(
        IngestBatch(
            artists=[
                Artist(artist_id="a", name="A One", verified=True, rights_holder_id="label"),
                Artist(artist_id="b", name="B Two", verified=True, rights_holder_id="label"),
                Artist(artist_id="c", name="C Three", rights_holder_id="label"),
                Artist(artist_id="d", name="D Four", rights_holder_id="indie"),
            ]
        )
    )
    artists = {a.artist_id: a for a in store.iter_artists()}
    protected = protected_artists(store, [], artists, ScreeningConfig())
    assert protected.agreement == {"a", "b", "c"}
    assert "d" not in protected.targets


def test_the_first_load_is_history_and_later_bots_are_not(tmp_path: Path) -> None:
    clock = Clock(T0)
    store = SqliteStore(tmp_path / "s.db", clock=clock)
    fans = [f"fan{i}" for i in range(12)]
    store.ingest(
        IngestBatch(
            artists=[Artist(artist_id="real", name="Velvet Harbour", rights_holder_id="h")],
            tracks=[_track("r1", "real", "up_real")],
            listeners=[Listener(listener_id=u) for u in fans],
            events=_plays("fan", fans, "r1", 2, T0 - timedelta(days=9)),
        )
    )
    clock.at = T0 + timedelta(minutes=5)  # the next upload, minutes later, with its own bots
    bots = [f"bot{i}" for i in range(40)]
    store.ingest(
        IngestBatch(
            artists=[Artist(artist_id="fake", name="Velvet Harbour", rights_holder_id="x")],
            tracks=[_track("f1", "fake", "up_fake")],
            listeners=[Listener(listener_id=u) for u in bots],
            events=_plays("bot", bots, "f1", 25, T0),
        )
    )
    tracks = list(store.iter_tracks())
    artists = {a.artist_id: a for a in store.iter_artists()}
    protected = protected_artists(store, tracks, artists, ScreeningConfig())
    assert protected.established == {"real"}
    real_at = artists["real"].received_at
    assert real_at is not None
    assert protected.first_load_until == real_at + timedelta(microseconds=13)
    assert screen_store(store, track_ids=["f1"]).quarantined == ("f1",)
