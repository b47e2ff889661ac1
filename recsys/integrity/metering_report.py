"""The metering report: plays and credited share per rights holder, attribution completeness,
the share of plays influenced by AI features, and payouts from a revenue pool under the
pro-rata and user-centric models, split into paid, withheld and forfeited.

Every figure is an exact decimal built from integer micro-units, so the holders' plays plus the
unattributed bucket equal the plays counted, and under each model paid + withheld + unallocated
equals the pool, with forfeited = redistributed + unallocated (see
:mod:`recsys.integrity.metering` for what is withheld, forfeited and redistributed).
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from recsys.domain import (
    ANONYMOUS_SENDER,
    Artist,
    EventType,
    FeedbackEvent,
    ServedSlate,
    Track,
)
from recsys.integrity.allocation import MICRO, decimal_to_micro, micro_to_decimal
from recsys.integrity.metering import (
    FORFEITED,
    PAID,
    UNATTRIBUTED,
    WITHHELD,
    MeteredPlay,
    PayoutHolds,
    PlayRow,
    Settlement,
    meter_plays,
    meter_rows,
    pro_rata_payouts,
    user_centric_payouts,
)
from recsys.store import Store

ARTIFICIAL = "flagged"
"""The hold reason of plays flagged as artificial streaming."""


@dataclass(frozen=True, kw_only=True)
class HolderRow:
    """One rights holder's line of the report (all amounts exact).

    Attributes:
        rights_holder_id: the holder (or ``(unattributed)``).
        plays: credited plays (fractional: a 50 % share of one play is 0.5).
        share: the holder's share of all plays counted.
        ai_influenced_plays: credited plays that AI features influenced.
        listeners: distinct listeners whose plays credited the holder.
        paid_plays: credited plays that are paid.
        withheld_plays: credited plays of held tracks (quarantined, disputed, unscreened).
        forfeited_plays: credited plays never paid (flagged, or a confirmed quarantine).
        payout_pro_rata: paid now under the pro-rata model (with its share of forfeits).
        withheld_pro_rata: held in the holder's withheld account (pro rata; with its share
            of forfeits).
        forfeited_pro_rata: what the forfeited plays would have earned (pro rata).
        payout_user_centric: paid now under the user-centric model.
        withheld_user_centric: withheld under the user-centric model.
        forfeited_user_centric: forfeited under the user-centric model.
    """

    rights_holder_id: str
    plays: Decimal
    share: Decimal
    ai_influenced_plays: Decimal
    listeners: int
    paid_plays: Decimal = Decimal(0)
    withheld_plays: Decimal = Decimal(0)
    forfeited_plays: Decimal = Decimal(0)
    payout_pro_rata: Decimal
    withheld_pro_rata: Decimal = Decimal(0)
    forfeited_pro_rata: Decimal = Decimal(0)
    payout_user_centric: Decimal
    withheld_user_centric: Decimal = Decimal(0)
    forfeited_user_centric: Decimal = Decimal(0)


@dataclass(frozen=True, kw_only=True)
class MeteringReport:
    """The whole report.

    Attributes:
        plays: play events counted (weighted by play count), whatever their status.
        linked_plays: plays whose request id and position match a logged slate.
        ai_influenced_plays: plays from agent answers or of AI-assisted/generated tracks.
        attributed_plays: plays credited entirely to known rights holders.
        pool: the revenue pool split in the payout columns.
        holders: one row per rights holder, most plays first; the unattributed bucket last.
        withheld_plays: plays withheld, by reason (``quarantined``, ``disputed``,
            ``unscreened``).
        forfeited_plays: plays forfeited, by reason (``flagged``, ``anonymous``,
            ``confirmed_quarantine``).
        settlements: the pool split under ``pro_rata`` and ``user_centric``, in micro-units.
    """

    plays: int
    linked_plays: int
    ai_influenced_plays: int
    attributed_plays: int
    pool: Decimal
    holders: tuple[HolderRow, ...]
    withheld_plays: dict[str, int] = field(default_factory=dict)
    forfeited_plays: dict[str, int] = field(default_factory=dict)
    settlements: dict[str, Settlement] = field(default_factory=dict)

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

    @property
    def paid_plays(self) -> int:
        """Plays neither withheld nor forfeited."""
        return self.plays - sum(self.withheld_plays.values()) - sum(self.forfeited_plays.values())

    @property
    def artificial_plays(self) -> int:
        """Plays flagged as artificial streaming."""
        return self.forfeited_plays.get(ARTIFICIAL, 0)

    @property
    def artificial_per_1000_plays(self) -> float:
        """Plays flagged as artificial streaming per 1,000 plays."""
        return 1000.0 * self.artificial_plays / self.plays if self.plays else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; decimals become strings so no precision is lost."""
        return {
            "plays": self.plays,
            "paid_plays": self.paid_plays,
            "withheld_plays": sum(self.withheld_plays.values()),
            "forfeited_plays": sum(self.forfeited_plays.values()),
            "withheld_plays_by_reason": dict(sorted(self.withheld_plays.items())),
            "forfeited_plays_by_reason": dict(sorted(self.forfeited_plays.items())),
            "artificial_plays": self.artificial_plays,
            "artificial_per_1000_plays": round(self.artificial_per_1000_plays, 3),
            "linked_plays": self.linked_plays,
            "linked_share": round(self.linked_share, 6),
            "ai_influenced_plays": self.ai_influenced_plays,
            "ai_influenced_share": round(self.ai_influenced_share, 6),
            "attributed_plays": self.attributed_plays,
            "attribution_completeness": round(self.attribution_completeness, 6),
            "pool": str(self.pool),
            "payouts": {
                model: {k: str(micro_to_decimal(v)) for k, v in s.totals().items()}
                for model, s in sorted(self.settlements.items())
            },
            "holders": [
                {
                    "rights_holder_id": r.rights_holder_id,
                    "plays": str(r.plays),
                    "share": str(r.share),
                    "ai_influenced_plays": str(r.ai_influenced_plays),
                    "listeners": r.listeners,
                    "paid_plays": str(r.paid_plays),
                    "withheld_plays": str(r.withheld_plays),
                    "forfeited_plays": str(r.forfeited_plays),
                    "payout_pro_rata": str(r.payout_pro_rata),
                    "withheld_pro_rata": str(r.withheld_pro_rata),
                    "forfeited_pro_rata": str(r.forfeited_pro_rata),
                    "payout_user_centric": str(r.payout_user_centric),
                    "withheld_user_centric": str(r.withheld_user_centric),
                    "forfeited_user_centric": str(r.forfeited_user_centric),
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
    by_status: dict[str, dict[str, int]] = {
        s: defaultdict(int) for s in (PAID, WITHHELD, FORFEITED)
    }
    ai_micro: dict[str, int] = defaultdict(int)
    listeners: dict[str, set[str]] = defaultdict(set)
    held: dict[str, Counter[str]] = {WITHHELD: Counter(), FORFEITED: Counter()}
    for play in plays:
        if play.status != PAID:
            held[play.status][play.hold_reason] += play.plays
        for holder, amount in play.micro_credits.items():
            micro[holder] += amount
            by_status[play.status][holder] += amount
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
            paid_plays=micro_to_decimal(by_status[PAID].get(h, 0)),
            withheld_plays=micro_to_decimal(by_status[WITHHELD].get(h, 0)),
            forfeited_plays=micro_to_decimal(by_status[FORFEITED].get(h, 0)),
            payout_pro_rata=micro_to_decimal(pro_rata.paid.get(h, 0)),
            withheld_pro_rata=micro_to_decimal(pro_rata.withheld.get(h, 0)),
            forfeited_pro_rata=micro_to_decimal(pro_rata.forfeited.get(h, 0)),
            payout_user_centric=micro_to_decimal(user_centric.paid.get(h, 0)),
            withheld_user_centric=micro_to_decimal(user_centric.withheld.get(h, 0)),
            forfeited_user_centric=micro_to_decimal(user_centric.forfeited.get(h, 0)),
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
        withheld_plays=dict(held[WITHHELD]),
        forfeited_plays=dict(held[FORFEITED]),
        settlements={"pro_rata": pro_rata, "user_centric": user_centric},
    )


def meter_events(
    events: Iterable[FeedbackEvent],
    tracks: Iterable[Track],
    artists: Iterable[Artist],
    slates: Iterable[ServedSlate],
    pool: Decimal | str = "0",
    holds: PayoutHolds | None = None,
) -> MeteringReport:
    """Meter an event log against a catalog and slate log, and build the report.

    Args:
        holds: the integrity state (None: every play is paid).
    """
    plays = meter_plays(
        events,
        {t.track_id: t for t in tracks},
        {a.artist_id: a for a in artists},
        {s.request_id: s for s in slates},
        holds,
    )
    return build_metering_report(plays, pool)


def metering_report_from_store(store: Store, pool: Decimal | str = "0") -> MeteringReport:
    """The metering report over everything in a store, following its integrity state."""
    events = store.read_frame("events")
    anonymous = events.loc[events["sender"] == ANONYMOUS_SENDER, "event_id"].astype(str)
    plays = meter_rows(
        play_rows(events),
        {t.track_id: t for t in store.iter_tracks()},
        {a.artist_id: a for a in store.iter_artists()},
        {s.request_id: s for s in store.iter_slates()},
        PayoutHolds.from_store(store, anonymous_events=anonymous),
    )
    return build_metering_report(plays, pool)


def play_rows(events: pd.DataFrame) -> Iterator[PlayRow]:
    """The play events of an ``events`` frame as metering rows, in frame order."""
    plays = events[events["event_type"] == EventType.PLAY.value]
    weights = plays["weight"].to_numpy(dtype="float64", na_value=1.0)
    weights = np.where(np.isnan(weights), 1.0, weights)
    request_ids = [
        None if pd.isna(r) or r == "" else str(r) for r in plays["request_id"].astype(object)
    ]
    positions = [None if pd.isna(p) else int(p) for p in plays["position"].astype(object)]
    return zip(
        plays["event_id"].astype(str).tolist(),
        plays["listener_id"].astype(str).tolist(),
        plays["track_id"].astype(str).tolist(),
        weights.tolist(),
        request_ids,
        positions,
        strict=True,
    )


__all__ = [
    "ARTIFICIAL",
    "HolderRow",
    "MeteringReport",
    "build_metering_report",
    "meter_events",
    "metering_report_from_store",
    "play_rows",
]
