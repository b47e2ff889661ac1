"""The slow-drip screen judges volume over weeks on the receipt clock, against the catalog's
baseline, and needs corroboration below its hard limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from recsys.domain import AiInvolvement, Artist, Credit, Provenance, Track
from recsys.integrity.drips import SlowDripScreen
from recsys.integrity.screening import DripConfig, ScreenContext

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
ARTISTS = {
    "indie": Artist(artist_id="indie", name="Fresh Act", rights_holder_id="h_indie"),
    "label": Artist(artist_id="label", name="Label Act", verified=True, rights_holder_id="lab"),
    **{
        f"farm{k}": Artist(artist_id=f"farm{k}", name=f"Farm {k}", rights_holder_id="h_farm")
        for k in range(6)
    },
}


def _upload(
    tid: str,
    artist: str,
    account: str,
    received: datetime,
    *,
    claimed: datetime | None = None,
    declared: AiInvolvement = AiInvolvement.NONE,
) -> Track:
    return Track(
        track_id=tid,
        title=tid,
        credits=(Credit(artist_id=artist, share=1.0),),
        uploader_id=account,
        uploaded_at=claimed,
        received_at=received,
        provenance=Provenance(ai_involvement=declared),
    )


def _flags(tracks: list[Track], **kw: object) -> dict[str, str]:
    screen = SlowDripScreen(trusted_artist_ids=frozenset({"label"}), **kw)  # type: ignore[arg-type]
    return {
        f.track_id: f.evidence for f in screen.screen(ScreenContext(tracks=tracks, artists=ARTISTS))
    }


def test_volume_over_the_hard_limit_is_a_drip_whatever_the_claimed_times() -> None:
    # 40 uploads received over 20 days; they claim to be spread over two years.
    drip = [
        _upload(f"d{i}", "indie", "acct", T0 + timedelta(hours=12 * i),
                claimed=T0 - timedelta(days=20 * i))
        for i in range(40)
    ]  # fmt: skip
    flags = _flags(drip)
    assert len(flags) == 40 - 30 + 30  # every upload of the window over the limit
    assert "above the limit of 30" in flags["d39"]
    assert "receipt clock" in flags["d39"]


def test_the_claimed_time_never_counts() -> None:
    # 40 uploads that claim one hour, received at uneven times about two days apart (at most
    # 14 in a window), declared, from one account: a release pattern, no drip.
    gaps = [13, 70, 41, 22, 95]
    received = [T0 + timedelta(hours=sum(gaps[k % 5] for k in range(i))) for i in range(40)]
    tracks = [
        _upload(f"s{i}", "indie", "acct", at, claimed=T0 + timedelta(minutes=i))
        for i, at in enumerate(received)
    ]
    assert _flags(tracks) == {}
    # The same uploads claiming to be spread over years, received within an hour: a drip.
    fast = [_upload(f"f{i}", "indie", "acct2", T0 + timedelta(seconds=90 * i),
                    claimed=T0 - timedelta(days=30 * i)) for i in range(40)]  # fmt: skip
    assert len(_flags(fast)) == 40


def test_a_payee_paid_by_new_accounts_is_corroborated() -> None:
    tracks = [
        _upload(f"p{i:02d}", f"farm{i % 4}", f"acct{i % 4}", T0 + timedelta(hours=5 * i))
        for i in range(16)
    ]
    flags = _flags(tracks)
    assert len(flags) == 16
    assert "4 accounts new in the window" in flags["p15"]


def test_undeclared_filler_from_one_account_is_corroborated() -> None:
    tracks = [
        _upload(f"u{i:02d}", "indie", "acct", T0 + timedelta(minutes=i),
                declared=AiInvolvement.UNDISCLOSED)
        for i in range(20)
    ]  # fmt: skip
    flags = _flags(tracks)
    assert len(flags) == 20
    assert "declare nothing about AI" in flags["u19"]


def test_scheduled_gaps_are_corroboration() -> None:
    tracks = [_upload(f"g{i:02d}", "indie", "acct", T0 + timedelta(hours=3 * i)) for i in range(12)]
    flags = _flags(tracks)
    assert len(flags) == 12
    assert "receipt gaps alike" in flags["g11"]


def test_honest_releases_are_not_drips() -> None:
    # An indie act: a declared 14-track album in ten minutes, then singles at uneven times.
    indie = [
        _upload(f"a{i:02d}", "indie", "acct", T0 + timedelta(seconds=40 * i)) for i in range(14)
    ]
    indie += [
        _upload(f"s{i}", "indie", "acct", T0 + timedelta(days=d, hours=h))
        for i, (d, h) in enumerate([(2, 1), (3, 7), (9, 2), (15, 20)])
    ]
    # A verified label: 120 tracks in four weeks is within ten times the limit.
    label = [
        _upload(f"L{i:03d}", "label", "lab_acct", T0 + timedelta(hours=5 * i)) for i in range(120)
    ]
    assert _flags(indie + label) == {}


def test_the_first_load_is_history() -> None:
    tracks = [
        _upload(f"c{i:02d}", "indie", "acct", T0 + timedelta(microseconds=i),
                declared=AiInvolvement.UNDISCLOSED)
        for i in range(50)
    ]  # fmt: skip
    assert _flags(tracks, history_until=T0 + timedelta(microseconds=49)) == {}
    assert len(_flags(tracks)) == 50


def test_the_soft_limit_follows_the_protected_groups_baseline() -> None:
    config = DripConfig(baseline_min_groups=2)
    screen = SlowDripScreen(config, trusted_artist_ids=frozenset({"label"}))
    artists = {
        **ARTISTS,
        "label2": Artist(artist_id="label2", name="Other", verified=True, rights_holder_id="lab2"),
    }
    # Protected payees upload 10 a window here: the soft limit is twice that.
    tracks = [_upload(f"L{i}", "label", "la", T0 + timedelta(hours=i)) for i in range(10)]
    tracks += [_upload(f"M{i}", "label2", "lb", T0 + timedelta(hours=i)) for i in range(10)]
    groups, trusted = screen._groups(ScreenContext(tracks=tracks, artists=artists))
    assert screen.soft_limit(groups, trusted) == 20


def test_a_machine_made_chain_is_corroboration_whatever_is_declared() -> None:
    tracks = [_upload(f"m{i:02d}", "indie", "acct", T0 + timedelta(minutes=i)) for i in range(12)]
    screen = SlowDripScreen(machine_like={t.track_id for t in tracks[:10]})
    flags = {
        f.track_id: f.evidence for f in screen.screen(ScreenContext(tracks=tracks, artists=ARTISTS))
    }
    assert len(flags) == 12
    assert "83% of the uploads have a machine-made recording chain" in flags["m11"]
    assert _flags(tracks) == {}  # declared human, no chain measured: an album
