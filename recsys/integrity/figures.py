"""Participation and integrity figures: opt-in rate per consent scope, quarantines and
violations per 1,000 uploads, time from upload to quarantine, unscreened uploads and disputed
declarations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from recsys.domain import AiInvolvement, Artist, ConsentState, LabelSource, Track
from recsys.integrity.quarantine import SCREENING_ACTOR
from recsys.store import DisputeRecord, QuarantineRecord, Store


@dataclass(frozen=True, kw_only=True)
class IntegrityFigures:
    """The figures `liner report integrity` prints.

    Attributes:
        uploads: tracks in the catalog.
        rights_holders: distinct rights holders of the catalog's artists.
        opt_in_rate: share of rights holders granting each consent scope.
        quarantined_now: tracks whose latest decision is a quarantine.
        quarantined_ever: tracks quarantined at least once by screening.
        released: tracks released by a rights admin (latest decision).
        violations: screening flags (a track flagged for two reasons counts twice).
        violations_by_reason: flags per reason.
        hours_to_quarantine: median, p90 and max hours from upload to first quarantine
            (tracks with an upload time only).
        detected_ai: tracks labelled ``DETECTED`` by the AI detector.
        undisclosed: tracks still labelled ``UNDISCLOSED``.
        unscreened: tracks whose screening has not finished (held: not served, not paid).
        disputed_now: tracks whose declared AI label is in dispute (held until decided).
        disputed_ever: tracks whose declaration was ever disputed.
        disputes_decided: disputes a rights admin decided, by decided label.
    """

    uploads: int
    rights_holders: int
    opt_in_rate: dict[str, float]
    quarantined_now: int
    quarantined_ever: int
    released: int
    violations: int
    violations_by_reason: dict[str, int]
    hours_to_quarantine: dict[str, float]
    detected_ai: int
    undisclosed: int
    unscreened: int = 0
    disputed_now: int = 0
    disputed_ever: int = 0
    disputes_decided: dict[str, int] | None = None

    def per_thousand(self, count: int) -> float:
        """A count per 1,000 uploads."""
        return 1000.0 * count / self.uploads if self.uploads else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures, with the per-1,000-upload rates."""
        return {
            "uploads": self.uploads,
            "rights_holders": self.rights_holders,
            "opt_in_rate": {k: round(v, 4) for k, v in self.opt_in_rate.items()},
            "quarantined_now": self.quarantined_now,
            "quarantined_ever": self.quarantined_ever,
            "quarantines_per_1000_uploads": round(self.per_thousand(self.quarantined_ever), 2),
            "released": self.released,
            "violations": self.violations,
            "violations_per_1000_uploads": round(self.per_thousand(self.violations), 2),
            "violations_by_reason": self.violations_by_reason,
            "hours_to_quarantine": {k: round(v, 3) for k, v in self.hours_to_quarantine.items()},
            "detected_ai": self.detected_ai,
            "undisclosed": self.undisclosed,
            "unscreened": self.unscreened,
            "disputed_now": self.disputed_now,
            "disputed_ever": self.disputed_ever,
            "disputes_decided": dict(self.disputes_decided or {}),
        }


def integrity_figures(
    tracks: Sequence[Track],
    artists: Iterable[Artist],
    consent: ConsentState,
    history: Sequence[QuarantineRecord],
    *,
    unscreened: int = 0,
    disputes: Sequence[DisputeRecord] = (),
) -> IntegrityFigures:
    """Compute the figures from a catalog, the consent state, the quarantine audit, the
    unscreened count and the dispute audit (in append order)."""
    holders = sorted({a.rights_holder_id for a in artists})
    uploaded = {t.track_id: t.uploaded_at for t in tracks}
    latest: dict[str, QuarantineRecord] = {}
    first_quarantine: dict[str, QuarantineRecord] = {}
    reasons: Counter[str] = Counter()
    for record in sorted(history, key=lambda r: r.at):
        latest[record.track_id] = record
        if record.quarantined and record.actor == SCREENING_ACTOR:
            reasons.update(record.reasons)
            first_quarantine.setdefault(record.track_id, record)
    hours = [
        (r.at - at).total_seconds() / 3600
        for tid, r in first_quarantine.items()
        if (at := uploaded.get(tid)) is not None
    ]
    delays = (
        {
            "median": float(np.median(hours)),
            "p90": float(np.quantile(hours, 0.9)),
            "max": float(max(hours)),
        }
        if hours
        else {}
    )
    return IntegrityFigures(
        uploads=len(tracks),
        rights_holders=len(holders),
        opt_in_rate={str(k): v for k, v in consent.opt_in_rates(holders).items()},
        quarantined_now=sum(r.quarantined for r in latest.values()),
        quarantined_ever=len(first_quarantine),
        released=sum(not r.quarantined for r in latest.values()),
        violations=sum(reasons.values()),
        violations_by_reason=dict(sorted(reasons.items())),
        hours_to_quarantine=delays,
        detected_ai=sum(t.provenance.label_source is LabelSource.DETECTED for t in tracks),
        undisclosed=sum(t.provenance.ai_involvement is AiInvolvement.UNDISCLOSED for t in tracks),
        unscreened=unscreened,
        **_dispute_counts(disputes),
    )


def _dispute_counts(disputes: Sequence[DisputeRecord]) -> dict[str, Any]:
    latest: dict[str, DisputeRecord] = {}
    for record in disputes:
        latest[record.track_id] = record
    decided = Counter(str(r.decided) for r in disputes if not r.opened and r.decided is not None)
    return {
        "disputed_now": sum(r.opened for r in latest.values()),
        "disputed_ever": len({r.track_id for r in disputes if r.opened}),
        "disputes_decided": dict(sorted(decided.items())),
    }


def integrity_figures_from_store(store: Store) -> IntegrityFigures:
    """The figures over everything in a store."""
    return integrity_figures(
        list(store.iter_tracks()),
        store.iter_artists(),
        store.consent_state(),
        store.quarantine_history(),
        unscreened=len(store.unscreened_ids()),
        disputes=store.dispute_history(),
    )


__all__ = ["IntegrityFigures", "integrity_figures", "integrity_figures_from_store"]
