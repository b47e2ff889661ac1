"""Payouts follow the integrity state: held tracks are withheld, then paid on release or
forfeited on confirmation; flagged plays are never paid; every total reconciles exactly."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.domain import ANONYMOUS_SENDER, Artist, Credit, FeedbackEvent, Track
from recsys.errors import ConstraintError
from recsys.integrity import meter_events
from recsys.integrity.allocation import MICRO, decimal_to_micro
from recsys.integrity.metering import (
    FORFEITED,
    PAID,
    WITHHELD,
    MeteredPlay,
    PayoutHolds,
    pro_rata_payouts,
    user_centric_payouts,
)
from recsys.integrity.metering_report import metering_report_from_store
from recsys.integrity.quarantine import confirm_quarantine, release_track
from recsys.service.auth import ANONYMOUS
from recsys.store import IngestBatch, QuarantineRecord, SqliteStore

T0 = datetime(2025, 6, 1, tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


ARTISTS = [
    Artist(artist_id=f"a{i}", name=f"Artist {i}", rights_holder_id=f"h{i}") for i in (1, 2, 3)
]
TRACKS = [
    Track(track_id=f"t{i}", title=f"Song {i}", credits=(Credit(artist_id=f"a{i}", share=1.0),))
    for i in (1, 2, 3)
]


def _plays(track: str, n: int, listener: str = "L1", first: int = 0) -> list[FeedbackEvent]:
    return [
        FeedbackEvent(
            event_id=f"{track}-{listener}-{k}",
            listener_id=listener,
            track_id=track,
            at=T0 + timedelta(minutes=k),
        )
        for k in range(first, first + n)
    ]


# 6 plays of t1 (h1), 2 of t2 (h2), 2 of t3 (h3); a pool of 100.
EVENTS = _plays("t1", 6) + _plays("t2", 2) + _plays("t3", 2)


def _pay(holds: PayoutHolds | None, model: str = "pro_rata") -> dict[str, tuple[Decimal, ...]]:
    report = meter_events(EVENTS, TRACKS, ARTISTS, [], pool="100", holds=holds)
    suffix = "pro_rata" if model == "pro_rata" else "user_centric"
    return {
        r.rights_holder_id: (
            getattr(r, f"payout_{suffix}"),
            getattr(r, f"withheld_{suffix}"),
            getattr(r, f"forfeited_{suffix}"),
        )
        for r in report.holders
    }


def test_a_quarantined_track_is_withheld_not_paid() -> None:
    pay = _pay(PayoutHolds(quarantined=frozenset({"t3"})))
    assert pay == {
        "h1": (Decimal("60"), 0, 0),
        "h2": (Decimal("20"), 0, 0),
        "h3": (0, Decimal("20"), 0),
    }


@pytest.mark.parametrize(
    "holds",
    [PayoutHolds(disputed=frozenset({"t3"})), PayoutHolds(unscreened=frozenset({"t3"}))],
    ids=["disputed", "unscreened"],
)
def test_disputed_and_unscreened_tracks_are_withheld(holds: PayoutHolds) -> None:
    assert _pay(holds)["h3"] == (0, Decimal("20"), 0)


def test_a_confirmed_quarantine_is_forfeited_and_redistributed_over_paid_plays() -> None:
    held = frozenset({"t3"})
    pay = _pay(PayoutHolds(quarantined=held, confirmed=held))
    # h3's 20 goes to h1 and h2 in proportion to their paid plays (6 : 2).
    assert pay == {
        "h1": (Decimal("75"), 0, 0),
        "h2": (Decimal("25"), 0, 0),
        "h3": (0, 0, Decimal("20")),
    }


def test_flagged_plays_are_never_paid_and_dilute_nobody() -> None:
    farm = _plays("t3", 30, listener="bot", first=100)
    holds = PayoutHolds(flagged_events=frozenset(e.event_id for e in farm))
    report = meter_events(EVENTS + farm, TRACKS, ARTISTS, [], pool="100", holds=holds)
    rows = {r.rights_holder_id: r for r in report.holders}
    assert rows["h3"].forfeited_plays == 30 and rows["h3"].paid_plays == 2
    assert report.artificial_plays == 30
    assert report.artificial_per_1000_plays == pytest.approx(1000 * 30 / 40)
    without_farm = _pay(None)
    for holder in ("h1", "h2", "h3"):  # exactly what they earn without the farm
        assert abs(rows[holder].payout_pro_rata - without_farm[holder][0]) <= Decimal("0.000002")
    # The bot listener's share of a user-centric pool goes back to the real listener's holders.
    assert sum(r.payout_user_centric for r in report.holders) == 100
    assert rows["h3"].forfeited_user_centric == Decimal(50)


def test_forfeits_reach_withheld_accounts_too() -> None:
    """A farm does not dilute a held track: released later, it gets what it would have."""
    farm = _plays("t1", 40, listener="bot", first=100)
    flagged = frozenset(e.event_id for e in farm)
    held = PayoutHolds(quarantined=frozenset({"t3"}))
    with_farm = meter_events(
        EVENTS + farm,
        TRACKS,
        ARTISTS,
        [],
        pool="100",
        holds=PayoutHolds(quarantined=held.quarantined, flagged_events=flagged),
    )
    rows = {r.rights_holder_id: r for r in with_farm.holders}
    assert rows["h3"].withheld_pro_rata == Decimal(20)  # as without the farm
    assert (rows["h1"].payout_pro_rata, rows["h2"].payout_pro_rata) == (60, 20)
    assert sum(r.forfeited_pro_rata for r in with_farm.holders) == Decimal(80)


def test_forfeits_with_no_paid_play_are_carried_as_unallocated() -> None:
    holds = PayoutHolds(flagged_events=frozenset(e.event_id for e in EVENTS))
    report = meter_events(EVENTS, TRACKS, ARTISTS, [], pool="100", holds=holds)
    totals = report.to_dict()["payouts"]["pro_rata"]
    assert totals == {
        "pool": "100.000000",
        "paid": "0.000000",
        "withheld": "0.000000",
        "forfeited": "100.000000",
        "redistributed": "0.000000",
        "unallocated": "100.000000",
    }


_STATUS = st.sampled_from([PAID, WITHHELD, FORFEITED])


@st.composite
def _metered(draw: st.DrawFn) -> list[MeteredPlay]:
    plays = []
    for n in range(draw(st.integers(0, 12))):
        holders = draw(
            st.dictionaries(
                st.sampled_from(["h1", "h2", "h3", "h4"]), st.integers(1, MICRO), min_size=1
            )
        )
        count = draw(st.integers(1, 3))
        plays.append(
            MeteredPlay(
                event_id=f"e{n}",
                listener_id=draw(st.sampled_from(["L1", "L2", "L3"])),
                track_id="t",
                plays=count,
                micro_credits={h: m * count for h, m in holders.items()},
                status=draw(_STATUS),
            )
        )
    return plays


@settings(max_examples=60, deadline=None)
@given(plays=_metered(), pool=st.integers(0, 10**12))
def test_every_split_reconciles_exactly(plays: list[MeteredPlay], pool: int) -> None:
    """Paid + withheld + unallocated = pool, forfeited = redistributed + unallocated, and the
    pro-rata withheld account is each holder's share of the pool as if the forfeited plays had
    never happened (two roundings: within 2 micro-units)."""
    kept = sum(sum(p.micro_credits.values()) for p in plays if p.status != FORFEITED)
    pro_rata = pro_rata_payouts(plays, pool)
    for holder, amount in pro_rata.withheld.items():
        held = sum(p.micro_credits.get(holder, 0) for p in plays if p.status == WITHHELD)
        assert abs(amount - Fraction(pool * held, kept)) < 2
    for settle in (pro_rata_payouts, user_centric_payouts):
        s = settle(plays, pool)
        totals = s.totals()
        if not plays:
            assert totals[PAID] == totals[WITHHELD] == totals[FORFEITED] == 0
            continue
        assert totals[PAID] + totals[WITHHELD] + totals["unallocated"] == pool
        assert totals[FORFEITED] == totals["redistributed"] + totals["unallocated"]
        assert all(v >= 0 for part in (s.paid, s.withheld, s.forfeited) for v in part.values())
        if any(s.paid.values()) or any(s.withheld.values()):  # forfeits found a home
            assert totals["unallocated"] == 0
        if not any(p.status == FORFEITED for p in plays):
            assert totals[FORFEITED] == 0


def test_a_store_withholds_then_pays_on_release_then_forfeits_on_confirmation(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "liner.db")
    store.ingest(IngestBatch(artists=ARTISTS, tracks=TRACKS, events=EVENTS))

    def pro_rata() -> dict[str, tuple[Decimal, Decimal, Decimal]]:
        report = metering_report_from_store(store, "100")
        total = report.settlements["pro_rata"].totals()
        assert total[PAID] + total[WITHHELD] + total["unallocated"] == decimal_to_micro("100")
        return {
            r.rights_holder_id: (r.payout_pro_rata, r.withheld_pro_rata, r.forfeited_pro_rata)
            for r in report.holders
        }

    if store.unscreened_ids():  # written by ingest, not yet screened: nothing is paid
        assert {h: p[0] for h, p in pro_rata().items()} == dict.fromkeys(("h1", "h2", "h3"), 0)
        store.finish_screening(screened=store.unscreened_marks())  # type: ignore[attr-defined]
    store.record_quarantine(
        [QuarantineRecord(track_id="t3", quarantined=True, actor="screening", at=T0)]
    )
    assert pro_rata()["h3"] == (0, Decimal(20), 0)
    with pytest.raises(ConstraintError, match="not quarantined"):
        confirm_quarantine(store, "t1", "admin-1", "abuse")
    release_track(store, "t3", actor="admin-1", reason="licence shown")
    assert pro_rata()["h3"] == (Decimal(20), 0, 0)
    store.record_quarantine(
        [QuarantineRecord(track_id="t3", quarantined=True, actor="screening", at=_now())]
    )
    record = confirm_quarantine(store, "t3", "admin-2", "impersonation confirmed")
    assert record is not None and record.actor == "admin-2" and record.quarantined
    assert confirm_quarantine(store, "t3", "admin-2", "again") is None  # nothing written
    assert "t3" in store.quarantined_ids()
    assert pro_rata() == {
        "h1": (Decimal(75), 0, 0),
        "h2": (Decimal(25), 0, 0),
        "h3": (0, 0, Decimal(20)),
    }
    store.close()


def _anonymous(events: list[FeedbackEvent]) -> list[FeedbackEvent]:
    return [replace(e, sender=ANONYMOUS_SENDER) for e in events]


def test_anonymous_plays_are_counted_but_never_paid(tmp_path: Path) -> None:
    # A demo server that accepts anonymous events: 30 unauthenticated plays of t3 must earn h3
    # nothing and dilute nobody, from events and from a store alike.
    assert ANONYMOUS.actor == ANONYMOUS_SENDER  # what LogEvents stores as the sender
    claimed = _anonymous(_plays("t3", 30, listener="anyone", first=100))
    report = meter_events(EVENTS + claimed, TRACKS, ARTISTS, [], pool="100")
    rows = {r.rights_holder_id: r for r in report.holders}
    assert rows["h3"].forfeited_plays == 30 and rows["h3"].paid_plays == 2
    store = SqliteStore(tmp_path / "liner.db")
    store.ingest(IngestBatch(artists=ARTISTS, tracks=TRACKS, events=EVENTS + claimed))
    if store.unscreened_ids():
        store.finish_screening(screened=store.unscreened_marks())
    stored = {r.rights_holder_id: r for r in metering_report_from_store(store, "100").holders}
    without = _pay(None)
    for holder in ("h1", "h2", "h3"):
        for got in (rows[holder], stored[holder]):
            assert abs(got.payout_pro_rata - without[holder][0]) <= Decimal("0.000002")
    assert stored["h3"].forfeited_plays == 30
    store.close()
