"""The metering report: plays and credited share per rights holder, attribution completeness,
the share of plays influenced by AI features, and payouts from a revenue pool under the
pro-rata and user-centric models.

Every figure is an exact decimal built from integer micro-units, so the holders' plays plus the
unattributed bucket equal the plays counted, and each payout column sums to the pool.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from recsys.domain import Artist, FeedbackEvent, ServedSlate, Track
from recsys.integrity.allocation import MICRO, decimal_to_micro, micro_to_decimal
from recsys.integrity.metering import (
    UNATTRIBUTED,
    MeteredPlay,
    meter_plays,
    pro_rata_payouts,
    user_centric_payouts,
)
from recsys.store import Store


@dataclass(frozen=True, kw_only=True)
class HolderRow:
    """One rights holder's line of the report (all amounts exact).

    Attributes:
        rights_holder_id: the holder (or ``(unattributed)``).
        plays: credited plays (fractional: a 50 % share of one play is 0.5).
        share: the holder's share of all plays counted.
        ai_influenced_plays: credited plays that AI features influenced.
        listeners: distinct listeners whose plays credited the holder.
        payout_pro_rata: payout under the pro-rata model.
        payout_user_centric: payout under the user-centric model.
    """

    rights_holder_id: str
    plays: Decimal
    share: Decimal
    ai_influenced_plays: Decimal
    listeners: int
    payout_pro_rata: Decimal
    payout_user_centric: Decimal


@dataclass(frozen=True, kw_only=True)
class MeteringReport:
    """The whole report.

    Attributes:
        plays: play events counted (weighted by play count).
        linked_plays: plays whose request id and position match a logged slate.
        ai_influenced_plays: plays from agent answers or of AI-assisted/generated tracks.
        attributed_plays: plays credited entirely to known rights holders.
        pool: the revenue pool split in the payout columns.
        holders: one row per rights holder, most plays first; the unattributed bucket last.
    """

    plays: int
    linked_plays: int
    ai_influenced_plays: int
    attributed_plays: int
    pool: Decimal
    holders: tuple[HolderRow, ...]

    @property
    def attribution_completeness(self) -> float:
        """Share of plays credited entirely to known rights holders."""
        return self.attributed_plays / self.plays if self.plays else 1.0

    @property
    def ai_influenced_share(self) -> float:
        """Share of plays influenced by AI features."""
        return self.ai_influenced_plays / self.plays if self.plays else 0.0

    @property
    def linked_share(self) -> float:
        """Share of plays linked to the slate and position that led to them."""
        return self.linked_plays / self.plays if self.plays else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; decimals become strings so no precision is lost."""
        return {
            "plays": self.plays,
            "linked_plays": self.linked_plays,
            "linked_share": round(self.linked_share, 6),
            "ai_influenced_plays": self.ai_influenced_plays,
            "ai_influenced_share": round(self.ai_influenced_share, 6),
            "attributed_plays": self.attributed_plays,
            "attribution_completeness": round(self.attribution_completeness, 6),
            "pool": str(self.pool),
            "holders": [
                {
                    "rights_holder_id": r.rights_holder_id,
                    "plays": str(r.plays),
                    "share": str(r.share),
                    "ai_influenced_plays": str(r.ai_influenced_plays),
                    "listeners": r.listeners,
                    "payout_pro_rata": str(r.payout_pro_rata),
                    "payout_user_centric": str(r.payout_user_centric),
                }
                for r in self.holders
            ],
        }

    def to_csv(self) -> str:
        """One CSV line per rights holder, with a header."""
        out = io.StringIO()
        rows = self.to_dict()["holders"]
        fields = list(rows[0]) if rows else list(HolderRow.__dataclass_fields__)
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()


def build_metering_report(
    plays: Sequence[MeteredPlay], pool: Decimal | str = "0"
) -> MeteringReport:
    """Aggregate metered plays into the report.

    Args:
        plays: output of :func:`~recsys.integrity.metering.meter_plays`.
        pool: revenue to split (at most six decimal places); 0 gives zero payouts.
    """
    pool_micro = decimal_to_micro(pool)
    micro: dict[str, int] = defaultdict(int)
    ai_micro: dict[str, int] = defaultdict(int)
    listeners: dict[str, set[str]] = defaultdict(set)
    for play in plays:
        for holder, amount in play.micro_credits.items():
            micro[holder] += amount
            listeners[holder].add(play.listener_id)
            if play.ai_influenced:
                ai_micro[holder] += amount
    pro_rata = pro_rata_payouts(plays, pool_micro)
    user_centric = user_centric_payouts(plays, pool_micro)
    total = sum(p.plays for p in plays)
    order = sorted(micro, key=lambda h: (h == UNATTRIBUTED, -micro[h], h))
    rows = tuple(
        HolderRow(
            rights_holder_id=h,
            plays=micro_to_decimal(micro[h]),
            share=(Decimal(micro[h]) / (total * MICRO)).quantize(Decimal("1e-9"))
            if total
            else Decimal(0),
            ai_influenced_plays=micro_to_decimal(ai_micro[h]),
            listeners=len(listeners[h]),
            payout_pro_rata=micro_to_decimal(pro_rata.get(h, 0)),
            payout_user_centric=micro_to_decimal(user_centric.get(h, 0)),
        )
        for h in order
    )
    return MeteringReport(
        plays=total,
        linked_plays=sum(p.plays for p in plays if p.linked),
        ai_influenced_plays=sum(p.plays for p in plays if p.ai_influenced),
        attributed_plays=sum(p.plays for p in plays if p.attributed),
        pool=micro_to_decimal(pool_micro),
        holders=rows,
    )


def meter_events(
    events: Iterable[FeedbackEvent],
    tracks: Iterable[Track],
    artists: Iterable[Artist],
    slates: Iterable[ServedSlate],
    pool: Decimal | str = "0",
) -> MeteringReport:
    """Meter an event log against a catalog and slate log, and build the report."""
    plays = meter_plays(
        events,
        {t.track_id: t for t in tracks},
        {a.artist_id: a for a in artists},
        {s.request_id: s for s in slates},
    )
    return build_metering_report(plays, pool)


def metering_report_from_store(store: Store, pool: Decimal | str = "0") -> MeteringReport:
    """The metering report over everything in a store."""
    from recsys.integrity.frames import events_from_frame

    return meter_events(
        events_from_frame(store.read_frame("events")),
        store.iter_tracks(),
        store.iter_artists(),
        store.iter_slates(),
        pool,
    )


__all__ = [
    "HolderRow",
    "MeteringReport",
    "build_metering_report",
    "meter_events",
    "metering_report_from_store",
]
