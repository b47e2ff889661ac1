"""Participation and integrity figures: opt-in rate per consent scope, quarantines and
violations per 1,000 uploads, time from upload to quarantine, unscreened uploads and disputed
declarations; and the seed metrics that `liner report` and Prometheus show
(:class:`SeedMetrics`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from recsys.domain import AiInvolvement, Artist, ConsentState, LabelSource, Track
from recsys.errors import StoreError
from recsys.integrity.quarantine import SCREENING_ACTOR
from recsys.store import DisputeRecord, QuarantineRecord, Store

if TYPE_CHECKING:
    from recsys.integrity.metering_report import MeteringReport


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
        disputes_by_evidence: open disputes by what opened them (``audio``: the audio alone
            or with the rest, ``detector``, ``text``, ``recording_chain``; one dispute may
            count under several).
        violating_uploads: distinct tracks ever quarantined by screening or ever disputed
            (the "violations per 1,000 creations" count).
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
    disputes_by_evidence: dict[str, int] | None = None
    violating_uploads: int = 0

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
            "disputes_by_evidence": dict(self.disputes_by_evidence or {}),
            "violating_uploads": self.violating_uploads,
            "violating_uploads_per_1000_uploads": round(
                self.per_thousand(self.violating_uploads), 2
            ),
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
        violating_uploads=len(set(first_quarantine) | {r.track_id for r in disputes if r.opened}),
        **_dispute_counts(disputes),
    )


def _dispute_counts(disputes: Sequence[DisputeRecord]) -> dict[str, Any]:
    latest: dict[str, DisputeRecord] = {}
    for record in disputes:
        latest[record.track_id] = record
    decided = Counter(str(r.decided) for r in disputes if not r.opened and r.decided is not None)
    evidence = Counter(
        kind
        for r in latest.values()
        if r.opened
        for kind in {k.split("_")[0] if k.startswith("audio") else k for k in r.evidence}
    )
    return {
        "disputes_by_evidence": dict(sorted(evidence.items())),
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


@dataclass(frozen=True, kw_only=True)
class SeedMetrics:
    """The participation, integrity and compensation metrics the product reports.

    Attributes:
        opt_in_rate: share of rights holders granting each consent scope now.
        ai_influenced_share: share of plays influenced by AI features (agent answers,
            AI-assisted or generated tracks).
        attribution_completeness: share of plays credited entirely to known rights holders.
        violations_per_1000_uploads: tracks ever quarantined by screening or ever disputed,
            per 1,000 uploads ("violations per 1,000 creations").
        artificial_per_1000_plays: plays flagged as artificial streaming per 1,000 plays.
        plays: plays counted.
        withheld_plays: plays of held (quarantined, disputed, unscreened) tracks.
        forfeited_plays: plays never paid (flagged, or a confirmed quarantine).
        pool: the pool the amounts split.
        withheld_amount: money in the withheld accounts (pro rata).
        forfeited_amount: money forfeited and redistributed (pro rata).
    """

    opt_in_rate: dict[str, float]
    ai_influenced_share: float
    attribution_completeness: float
    violations_per_1000_uploads: float
    artificial_per_1000_plays: float
    plays: int
    withheld_plays: int
    forfeited_plays: int
    pool: Decimal
    withheld_amount: Decimal
    forfeited_amount: Decimal

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready metrics; amounts as exact decimal strings."""
        return {
            "opt_in_rate": {k: round(v, 4) for k, v in self.opt_in_rate.items()},
            "ai_influenced_share": round(self.ai_influenced_share, 6),
            "attribution_completeness": round(self.attribution_completeness, 6),
            "violations_per_1000_uploads": round(self.violations_per_1000_uploads, 3),
            "artificial_per_1000_plays": round(self.artificial_per_1000_plays, 3),
            "plays": self.plays,
            "withheld_plays": self.withheld_plays,
            "forfeited_plays": self.forfeited_plays,
            "pool": str(self.pool),
            "withheld_amount": str(self.withheld_amount),
            "forfeited_amount": str(self.forfeited_amount),
        }


def seed_metrics(figures: IntegrityFigures, report: MeteringReport) -> SeedMetrics:
    """The seed metrics from the integrity figures and the metering report."""
    from recsys.integrity.allocation import micro_to_decimal

    totals = report.settlements["pro_rata"].totals() if report.settlements else {}
    return SeedMetrics(
        opt_in_rate=figures.opt_in_rate,
        ai_influenced_share=report.ai_influenced_share,
        attribution_completeness=report.attribution_completeness,
        violations_per_1000_uploads=figures.per_thousand(figures.violating_uploads),
        artificial_per_1000_plays=report.artificial_per_1000_plays,
        plays=report.plays,
        withheld_plays=sum(report.withheld_plays.values()),
        forfeited_plays=sum(report.forfeited_plays.values()),
        pool=report.pool,
        withheld_amount=micro_to_decimal(totals.get("withheld", 0)),
        forfeited_amount=micro_to_decimal(totals.get("forfeited", 0)),
    )


def seed_metrics_from_store(store: Store, pool: Decimal | str = "0") -> SeedMetrics:
    """The seed metrics over everything in a store: one metering pass, a batch cost (the
    service computes it off the request path, see ``ServiceMetrics.watch_figures``)."""
    from recsys.integrity.metering_report import metering_report_from_store

    return seed_metrics(
        integrity_figures_from_store(store), metering_report_from_store(store, pool)
    )


FIGURES_DB_ENV = "LINER_FIGURES_DB"
"""Where :func:`seed_metrics_in_subprocess` hands the child its store URL."""


def seed_metrics_in_subprocess(db: str, *, timeout_s: float = 3600.0) -> dict[str, Any]:
    """:func:`seed_metrics_from_store` over the store at ``db`` in a child process at low
    priority, as ``SeedMetrics.to_dict()``.

    The service refreshes its Prometheus gauges with this: a metering pass over a large event
    log is seconds to minutes of Python, which in the serving process would hold the GIL
    against request threads.

    Raises:
        StoreError: the child failed (its last stderr lines are in the message).
    """
    # The store URL goes through the environment, never the command line: a PostgreSQL URL
    # may carry a password, and every local user can read a process's arguments.
    command = [sys.executable, "-m", "recsys.integrity.figures"]
    if hasattr(os, "nice"):
        command = ["nice", "-n", "10", *command]
    env = {**os.environ, FIGURES_DB_ENV: db}
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, env=env)
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise StoreError(f"computing the seed metrics failed ({done.returncode}): {tail}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m recsys.integrity.figures [DB]``: print the seed metrics as one JSON line
    (the store from ``DB`` or, to keep a password off the command line, from
    ``$LINER_FIGURES_DB``)."""
    from recsys.store import open_store

    args = list(sys.argv[1:] if argv is None else argv)
    if not args and os.environ.get(FIGURES_DB_ENV):
        args = [os.environ[FIGURES_DB_ENV]]
    if len(args) != 1:
        raise SystemExit(f"usage: python -m recsys.integrity.figures DB (or set {FIGURES_DB_ENV})")
    store = open_store(args[0])
    try:
        print(json.dumps(seed_metrics_from_store(store).to_dict(), sort_keys=True))
    finally:
        store.close()


__all__ = [
    "IntegrityFigures",
    "SeedMetrics",
    "integrity_figures",
    "integrity_figures_from_store",
    "seed_metrics",
    "seed_metrics_from_store",
    "seed_metrics_in_subprocess",
]

if __name__ == "__main__":
    main()
