"""Each screen flags its kind of abuse with evidence, and leaves genuine uploads alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recsys.domain import Artist, Credit, Track
from recsys.integrity import (
    ImitationNameScreen,
    KeywordStuffingScreen,
    ScreenContext,
    UltraShortScreen,
    UploadBurstScreen,
    name_similarity,
    normalise_name,
)
from recsys.integrity.protected import ProtectedArtists
from recsys.integrity.screening import Flag, RateWindow, ScreeningConfig, default_screens

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)

ARTISTS = {
    a.artist_id: a
    for a in [
        Artist(artist_id="star", name="Midnight Rivers", verified=True, rights_holder_id="h1"),
        Artist(artist_id="fake", name="M1dnight R1vers", rights_holder_id="h2"),
        Artist(artist_id="fake2", name="The Midnight Rívers", rights_holder_id="h3"),
        Artist(artist_id="other", name="Morning Lakes", rights_holder_id="h4"),
        Artist(artist_id="short", name="Nova", verified=True, rights_holder_id="h5"),
        Artist(artist_id="short2", name="Novak", rights_holder_id="h6"),
        Artist(artist_id="alias", name="Midnight Rivers Live", rights_holder_id="h1"),
    ]
}


def _track(track_id: str, artist: str = "other", **kw: object) -> Track:
    return Track(
        track_id=track_id,
        title=kw.pop("title", f"Song {track_id}"),  # type: ignore[arg-type]
        credits=(Credit(artist_id=artist, share=1.0),),
        duration_ms=kw.pop("duration_ms", 200_000),  # type: ignore[arg-type]
        tags=("chill", "lo-fi", "study", "sleep", "relax", "focus"),
        genre="hip-hop",
        **kw,  # type: ignore[arg-type]
    )


def _context(tracks: list[Track]) -> ScreenContext:
    return ScreenContext(tracks=tracks, artists=ARTISTS)


@pytest.mark.parametrize(
    ("name", "key"),
    [("The B3ATL3S (Official)", "beaties"), ("Ｍｉｄｎｉｇｈｔ", "midnight"), ("Bjôrk", "bjork")],
    ids=["leet-noise", "fullwidth", "accent"],
)
def test_normalise_name_folds_disguises(name: str, key: str) -> None:
    assert normalise_name(name) == key


def test_name_similarity_orders_disguises_above_strangers() -> None:
    assert name_similarity("Midnight Rivers", "M1dnight R1vers") == 1.0
    assert name_similarity("Midnight Rivers", "Midnight Riverz") >= 0.9
    assert name_similarity("Midnight Rivers", "Morning Lakes") < 0.6


def test_ultra_short_flags_only_known_short_durations() -> None:
    tracks = [_track("ok"), _track("s", duration_ms=12_000), _track("unknown", duration_ms=0)]
    flags = UltraShortScreen(30).screen(_context(tracks))
    assert [f.track_id for f in flags] == ["s"]
    assert "12.0 s < 30 s" in flags[0].evidence


def test_keyword_stuffing_flags_stuffed_titles_not_long_genuine_ones() -> None:
    tracks = [
        _track("ok", title="Letters I Never Sent To The Girl Next Door"),
        _track("long", title="chill lofi hip hop beats to study and relax to all night long"),
        _track("kw", title="Chill Study Sleep Relax Focus Beats"),
        _track("sep", title="Rain | Sleep | Study | Focus | Relax"),
        _track("rep", title="Chill Chill Chill Vibes"),
    ]
    flags = {f.track_id: f for f in KeywordStuffingScreen().screen(_context(tracks))}
    assert set(flags) == {"long", "kw", "sep", "rep"}
    assert "13 words > 10" in flags["long"].evidence
    assert "keywords" in flags["kw"].evidence
    assert "separators" in flags["sep"].evidence
    assert "repeated chill" in flags["rep"].evidence


def test_upload_burst_flags_the_burst_not_an_album() -> None:
    album = [
        _track(f"alb{i}", "star", uploader_id="label", uploaded_at=T0 + timedelta(minutes=4 * i))
        for i in range(12)
    ]
    burst = [
        _track(f"b{i:02d}", "fake", uploader_id="farm", uploaded_at=T0 + timedelta(minutes=i))
        for i in range(20)
    ]
    spread = [
        _track(f"sp{i}", "other", uploader_id="farm2", uploaded_at=T0 + timedelta(days=2 + i))
        for i in range(5)
    ]
    one_hour = [RateWindow(hours=1, max_uploads=15)]
    flags = UploadBurstScreen(one_hour).screen(_context(album + burst + spread))
    assert {f.track_id for f in flags} == {t.track_id for t in burst}
    assert "20 uploads by account farm within 1 h (limit 15;" in flags[0].evidence


def test_imitation_flags_unverified_lookalikes_only() -> None:
    tracks = [
        _track("real", "star"),
        _track("leet", "fake"),
        _track("accent", "fake2"),
        _track("innocent", "other"),
        _track("novak", "short2"),
        _track("same-holder", "alias"),
    ]
    flags = {f.track_id: f for f in ImitationNameScreen(0.9).screen(_context(tracks))}
    assert set(flags) == {"leet", "accent"}
    assert "imitates 'Midnight Rivers' (star; verified)" in flags["leet"].evidence


def test_imitation_spares_namesakes_by_receipt_order_and_established_plays() -> None:
    early, late = T0, T0 + timedelta(days=30)
    forged = datetime(2001, 1, 1, tzinfo=UTC)  # a claimed created_at proves nothing
    artists = {
        a.artist_id: a
        for a in [
            Artist(artist_id="star", name="Static Society", rights_holder_id="h1",
                   received_at=early),
            Artist(artist_id="older", name="Static Society", rights_holder_id="h2",
                   received_at=early - timedelta(days=1)),
            Artist(artist_id="big", name="Statiic Society", rights_holder_id="h3",
                   received_at=late),
            Artist(artist_id="parasite", name="Sttatic Socieety (Real)", rights_holder_id="h4",
                   created_at=forged, received_at=late),
            Artist(artist_id="nobody", name="Plain Folk", rights_holder_id="h5",
                   received_at=late),
        ]
    }  # fmt: skip
    protected = ProtectedArtists(
        popular=frozenset({"star"}),
        established_plays={"star": 1000.0, "big": 400.0, "parasite": 3.0},
    )
    screen = ImitationNameScreen(0.88, protected=protected)
    # older: received first (prior use); big: established listeners of its own.
    assert set(screen.imitations(artists)) == {"parasite"}


def _drip(prefix: str, artist: str, uploader: str, times: list[datetime]) -> list[Track]:
    return [
        _track(f"{prefix}{i:03d}", artist, uploader_id=uploader, uploaded_at=at, received_at=at)
        for i, at in enumerate(times)
    ]


def _waking_hours(n: int, per_hour: float, start: datetime) -> list[datetime]:
    """``n`` upload times at ``per_hour``, 09:00 to 17:00 only, day after day."""
    out: list[datetime] = []
    t = start.replace(hour=9, minute=0)
    while len(out) < n:
        t += timedelta(hours=1 / per_hour)
        if t.hour >= 17:
            t = (t + timedelta(days=1)).replace(hour=9, minute=0)
        out.append(t)
    return out


RATE_ARTISTS = {
    **ARTISTS,
    "new": Artist(artist_id="new", name="Fresh Act", rights_holder_id="h_new"),
    "label_a": Artist(artist_id="label_a", name="Label Act", verified=True, rights_holder_id="lab"),
    **{
        f"farm{k}": Artist(artist_id=f"farm{k}", name=f"Farm {k}", rights_holder_id="h_farm")
        for k in range(6)
    },
}  # fmt: skip


def _rate_flags(tracks: list[Track]) -> dict[str, Flag]:
    screen = default_screens(ScreeningConfig(), ProtectedArtists(verified=frozenset({"label_a"})))
    burst = next(s for s in screen if isinstance(s, UploadBurstScreen))
    context = ScreenContext(tracks=tracks, artists=RATE_ARTISTS)
    return {f.track_id: f for f in burst.screen(context)}


def test_a_drip_of_sixty_uploads_at_thirteen_an_hour_is_caught() -> None:
    drip = _drip("d", "new", "drip", _waking_hours(60, 13.0, T0))
    flags = _rate_flags(drip)
    assert len(flags) == 60
    evidence = max(flags.values(), key=lambda f: f.score).evidence
    assert "uploads by account drip within 24 h" in evidence


def test_undated_uploads_count_at_their_receipt_time() -> None:
    undated = [
        _track(f"u{i:02d}", "new", uploader_id="ghost", received_at=T0 + timedelta(seconds=i))
        for i in range(40)
    ]
    flags = _rate_flags(undated)
    assert len(flags) == 40
    assert "40 uploads by account ghost within 1 h (limit 15;" in flags["u00"].evidence


def test_album_releases_are_not_drips() -> None:
    # A verified label act: a 20-track album in an hour, and two more albums that week.
    label = _drip("L", "label_a", "label", [T0 + timedelta(minutes=3 * i) for i in range(20)])
    label += _drip(
        "M", "label_a", "label", [T0 + timedelta(days=2, minutes=i) for i in range(2 * 18)]
    )
    # An unverified act: a 14-track album in ten minutes, and five singles over the week.
    indie = _drip("I", "new", "indie", [T0 + timedelta(seconds=40 * i) for i in range(14)])
    indie += _drip("S", "new", "indie", [T0 + timedelta(days=1 + i) for i in range(5)])
    assert _rate_flags(label + indie) == {}


def test_claimed_times_cannot_hide_a_bulk_upload() -> None:
    # 120 uploads received within minutes, claiming to be spread over two years.
    bulk = [
        _track(
            f"b{i:03d}",
            "new",
            uploader_id="spreader",
            uploaded_at=T0 - timedelta(days=6 * i),
            received_at=T0 + timedelta(seconds=i),
        )
        for i in range(120)
    ]
    flags = _rate_flags(bulk)
    assert len(flags) == 120
    assert "received within 24 h (limit 100;" in flags["b000"].evidence


def test_an_undated_catalog_in_the_first_load_is_history_not_a_burst() -> None:
    catalog = [
        _track(f"c{i:02d}", "new", uploader_id="label", received_at=T0 + timedelta(microseconds=i))
        for i in range(40)
    ]
    first_load = ProtectedArtists(first_load_until=T0 + timedelta(microseconds=39))
    screens = default_screens(ScreeningConfig(), first_load)
    burst = next(s for s in screens if isinstance(s, UploadBurstScreen))
    assert burst.screen(ScreenContext(tracks=catalog, artists=RATE_ARTISTS)) == []
    # The same undated uploads in a later batch are a burst (see above).
    assert len(_rate_flags(catalog)) == 40
