"""The slate log keeps the probability of each served slate and of each item at its position."""

from __future__ import annotations

import datetime as dt

import pytest

from recsys.domain import ServedSlate, SlateItem
from recsys.store import Store

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_slate_and_item_propensities_round_trip(store: Store) -> None:
    items = (
        SlateItem(track_id="t1", position=0, score=1.0, propensity=0.8),
        SlateItem(track_id="t2", position=1, score=0.5, propensity=0.25),
    )
    store.log_slates(
        [
            ServedSlate(request_id="r1", listener_id="u1", served_at=T0, items=items,
                        propensity=0.2),
            ServedSlate(request_id="r2", listener_id="u1", served_at=T0 + dt.timedelta(1)),
        ]
    )  # fmt: skip
    first, second = store.iter_slates()
    assert first.propensity == pytest.approx(0.2)
    assert [i.propensity for i in first.items] == [0.8, 0.25]
    assert second.propensity is None  # unknown stays unknown, never 1
    frame = store.read_frame("slates")
    assert frame["propensity"].iloc[0] == pytest.approx(0.2)
    assert frame["propensity"].isna().iloc[1]
