"""Metering reconciles exactly: a known event log, every rights holder's figure checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recsys.domain import (
    AiInvolvement,
    Artist,
    Credit,
    EventType,
    FeedbackEvent,
    Provenance,
    ServedSlate,
    SlateItem,
    Track,
)
from recsys.integrity import (
    MICRO,
    UNATTRIBUTED,
    allocate,
    decimal_to_micro,
    meter_events,
    micro_shares,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)

ARTISTS = [
    Artist(artist_id="a1", name="One", rights_holder_id="h1"),
    Artist(artist_id="a2", name="Two", rights_holder_id="h2"),
    Artist(artist_id="a3", name="Three", rights_holder_id="h1"),
    Artist(artist_id="a4", name="Four", rights_holder_id="h3"),
]
TRACKS = [
    Track(
        track_id="t1",
        title="x",
        credits=(Credit(artist_id="a1", share=0.5), Credit(artist_id="a2", share=0.5)),
    ),
    Track(
        track_id="t2",
        title="x",
        credits=(Credit(artist_id="a3", share=1.0),),
        provenance=Provenance(ai_involvement=AiInvolvement.ASSISTED),
    ),
    Track(
        track_id="t3",
        title="x",
        credits=tuple(Credit(artist_id=a, share=1 / 3) for a in ("a1", "a2", "a4")),
    ),
    Track(track_id="t4", title="no credits"),
    Track(
        track_id="t5",
        title="x",
        credits=(Credit(artist_id="ghost", share=0.25), Credit(artist_id="a4", share=0.75)),
    ),
]
SLATES = [
    ServedSlate(
        request_id="r1",
        listener_id="L1",
        served_at=T0,
        items=(
            SlateItem(track_id="t1", position=0, score=1.0),
            SlateItem(track_id="t2", position=1, score=0.5),
        ),
    ),
    ServedSlate(
        request_id="r2",
        listener_id="L2",
        served_at=T0,
        items=(SlateItem(track_id="t3", position=0, score=1.0),),
        ai_features=True,
    ),
]


def _event(n: int, listener: str, track: str, **kw: object) -> FeedbackEvent:
    return FeedbackEvent(
        event_id=f"e{n}",
        listener_id=listener,
        track_id=track,
        at=T0 + timedelta(minutes=n),
        **kw,  # type: ignore[arg-type]
    )


EVENTS = [
    _event(1, "L1", "t1", request_id="r1", position=0),
    _event(2, "L1", "t2", request_id="r1", position=1),
    _event(3, "L2", "t3", request_id="r2", position=0),
    _event(4, "L2", "t1", event_type=EventType.SKIP),
    _event(5, "L2", "t4", weight=3.0),
    _event(6, "L3", "t5", request_id="r1", position=0),  # wrong position: not linked
    _event(7, "L3", "t1", weight=2.5),  # not a whole play count: one play
]


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    return meter_events(EVENTS, TRACKS, ARTISTS, SLATES, pool="100")


def test_every_holder_is_credited_exactly(report) -> None:  # type: ignore[no-untyped-def]
    plays = {r.rights_holder_id: r.plays for r in report.holders}
    assert plays == {
        "h1": Decimal("2.333334"),
        "h2": Decimal("1.333333"),
        "h3": Decimal("1.083333"),
        UNATTRIBUTED: Decimal("3.25"),
    }
    assert sum(plays.values()) == report.plays == 8
    assert [r.rights_holder_id for r in report.holders][-1] == UNATTRIBUTED


def test_links_ai_influence_and_completeness(report) -> None:  # type: ignore[no-untyped-def]
    assert report.linked_plays == 3
    assert report.ai_influenced_plays == 2  # e2 (AI-assisted track), e3 (agent slate)
    assert report.attributed_plays == 4
    assert report.attribution_completeness == 0.5
    ai = {r.rights_holder_id: r.ai_influenced_plays for r in report.holders}
    assert ai["h1"] == Decimal("1.333334") and ai["h2"] == Decimal("0.333333")
    assert ai["h3"] == Decimal("0.333333") and ai[UNATTRIBUTED] == 0


def test_pro_rata_payouts_reconcile_to_the_pool(report) -> None:  # type: ignore[no-untyped-def]
    pay = {r.rights_holder_id: r.payout_pro_rata for r in report.holders}
    assert pay == {
        "h1": Decimal("29.166675"),
        "h2": Decimal("16.666663"),
        "h3": Decimal("13.541662"),
        UNATTRIBUTED: Decimal("40.625"),
    }
    assert sum(pay.values()) == Decimal(100)


def test_user_centric_payouts_split_each_listener_equally(report) -> None:  # type: ignore[no-untyped-def]
    pay = {r.rights_holder_id: r.payout_user_centric for r in report.holders}
    assert sum(pay.values()) == Decimal(100)
    # Exact shares: each of 3 listeners brings 100/3, split by what they played.
    third = Fraction(100, 3)
    exact = {
        "h1": third * (Fraction(3, 4) + Fraction(333334, 4_000_000) + Fraction(1, 4)),
        "h2": third * (Fraction(1, 4) + Fraction(333333, 4_000_000) + Fraction(1, 4)),
        "h3": third * Fraction(333333, 4_000_000) + third * Fraction(3, 8),
        UNATTRIBUTED: third * Fraction(3, 4) + third * Fraction(1, 8),
    }
    for holder, value in exact.items():
        assert abs(Fraction(pay[holder]) - value) <= Fraction(2, MICRO), holder


def test_report_serialises_without_losing_precision(report) -> None:  # type: ignore[no-untyped-def]
    data = report.to_dict()
    assert sum(Decimal(h["plays"]) for h in data["holders"]) == 8
    csv_text = report.to_csv()
    assert csv_text.splitlines()[0].startswith("rights_holder_id,plays,share")
    assert len(csv_text.splitlines()) == 1 + len(report.holders)


def test_float_shares_become_exact_micro_shares() -> None:
    shares = micro_shares(TRACKS[2], {a.artist_id: a for a in ARTISTS})
    assert sum(shares.values()) == MICRO
    assert shares == {"h1": 333334, "h2": 333333, "h3": 333333}


@given(
    total=st.integers(0, 10**9),
    weights=st.lists(st.integers(0, 10**6), min_size=1, max_size=12).filter(any),
)
def test_allocate_sums_exactly_and_stays_within_one_unit(total: int, weights: list[int]) -> None:
    parts = allocate(total, {f"k{i}": w for i, w in enumerate(weights)})
    assert sum(parts.values()) == total
    weight_sum = sum(weights)
    for i, w in enumerate(weights):
        assert abs(parts[f"k{i}"] - Fraction(total * w, weight_sum)) < 1


@pytest.mark.parametrize("bad", ["-1", "0.0000001"], ids=["negative", "too-fine"])
def test_pool_must_be_whole_micro_units(bad: str) -> None:
    with pytest.raises(ValueError, match="6 decimal places"):
        decimal_to_micro(bad)
