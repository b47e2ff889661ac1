"""Quarantine: run the screens over a store, record audited decisions, release on appeal.

Flagged uploads are quarantined with actor ``screening`` and never recommended (the
pipeline's hard filter reads :meth:`Store.held_ids`). Screening is part of the commit: an
ingest marks what it writes unscreened, and a screening run clears the marks it read before it
started in the same transaction that records its decisions (:meth:`Store.finish_screening`),
so a crash in between leaves the uploads held, and the next run screens them.

Only a rights admin can release a track, with a reason; both decisions go to the append-only
quarantine audit. A track an admin released is not quarantined again for the same reasons,
only for new ones.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from recsys.errors import ConstraintError, LinerError, NotFoundError
from recsys.integrity.drips import drip_screen
from recsys.integrity.protected import protected_artists
from recsys.integrity.screening import (
    Flag,
    Screen,
    ScreenContext,
    ScreeningConfig,
    default_screens,
    run_screens,
)
from recsys.store import QuarantineRecord, Store

logger = logging.getLogger(__name__)

SCREENING_ACTOR = "screening"


@dataclass(frozen=True, kw_only=True)
class ScreeningResult:
    """What one screening run found and did.

    Attributes:
        screened: tracks screened.
        flags: every flag, by track id.
        quarantined: tracks newly quarantined by this run.
        skipped_released: flagged tracks left alone because an admin released them for the
            same reasons.
        records: the quarantine decisions (written unless deferred or a dry run).
        marks: the unscreened marks read before the run, cleared when it commits.
    """

    screened: int
    flags: dict[str, list[Flag]]
    quarantined: tuple[str, ...]
    skipped_released: tuple[str, ...]
    records: tuple[QuarantineRecord, ...] = ()
    marks: Mapping[str, int] = field(default_factory=dict)

    def counts_by_reason(self) -> dict[str, int]:
        """Flagged tracks per reason."""
        counts: dict[str, int] = {}
        for flags in self.flags.values():
            for reason in {f.reason for f in flags}:
                counts[reason] = counts.get(reason, 0) + 1
        return dict(sorted(counts.items()))


def _record(track_id: str, flags: Sequence[Flag], at: datetime) -> QuarantineRecord:
    evidence: dict[str, str] = {}
    for flag in flags:
        evidence[flag.reason] = (
            f"{evidence[flag.reason]}; {flag.evidence}"
            if flag.reason in evidence
            else flag.evidence
        )
    return QuarantineRecord(
        track_id=track_id,
        quarantined=True,
        reasons=tuple(sorted(evidence)),
        evidence=evidence,
        actor=SCREENING_ACTOR,
        at=at,
    )


def screen_store(
    store: Store,
    *,
    config: ScreeningConfig | None = None,
    extra_screens: Sequence[Screen] = (),
    track_ids: Sequence[str] | None = None,
    at: datetime | None = None,
    dry_run: bool = False,
    defer: bool = False,
    marks: Mapping[str, int] | None = None,
    machine_like: Collection[str] = frozenset(),
) -> ScreeningResult:
    """Screen the catalog in a store and quarantine what is flagged.

    Args:
        store: the store.
        config: thresholds of the metadata screens.
        extra_screens: more screens, e.g. a
            :class:`~recsys.integrity.neardup.NearDuplicateScreen` built from audio vectors.
        track_ids: only flag these tracks (new uploads); None screens everything.
        machine_like: tracks the audio analysis found to have a machine-made recording chain
            (a slow drip's corroboration, :mod:`recsys.integrity.drips`).
        at: decision time (default: now, UTC).
        dry_run: find flags but write nothing.
        defer: return the decisions without writing them, for a caller that commits them
            with more (:func:`~recsys.integrity.jobs.run_integrity`).
        marks: unscreened marks the caller read before reading the catalog (read here when
            None); the ones of screened tracks are cleared with the decisions.

    Returns:
        The flags and the decisions taken.

    Example:
        >>> result = screen_store(open_store("var/liner.db"))  # doctest: +SKIP
        >>> result.counts_by_reason()  # doctest: +SKIP
        {'keyword_stuffing': 12, 'ultra_short': 9}
    """
    now = at or datetime.now(UTC)
    # Marks first, then the catalog: every mark read is covered by the rows read after it.
    pending = dict(store.unscreened_marks() if marks is None else marks)
    tracks = list(store.iter_tracks())
    artists = {a.artist_id: a for a in store.iter_artists()}
    context = ScreenContext(
        tracks=tracks,
        artists=artists,
        track_ids=None if track_ids is None else frozenset(track_ids),
    )
    cfg = config or ScreeningConfig()
    protected = protected_artists(store, tracks, artists, cfg)
    screens = [
        *default_screens(cfg, protected),
        drip_screen(cfg, protected, machine_like),
        *extra_screens,
    ]
    flags = run_screens(screens, context)
    already = store.quarantined_ids()
    # An admin release covers the reasons of the quarantine it lifted; a later quarantine
    # cancels it.
    last_reasons: dict[str, set[str]] = {}
    released_for: dict[str, set[str]] = {}
    for record in store.quarantine_history():
        if record.quarantined:
            last_reasons[record.track_id] = set(record.reasons)
            released_for.pop(record.track_id, None)
        else:
            released_for[record.track_id] = last_reasons.get(record.track_id, set())
    records, skipped = [], []
    for track_id in sorted(flags):
        if track_id in already:
            continue
        reasons = {f.reason for f in flags[track_id]}
        if track_id in released_for and reasons <= released_for[track_id]:
            skipped.append(track_id)
            continue
        records.append(_record(track_id, flags[track_id], now))
    if track_ids is not None:
        wanted = set(track_ids)
        pending = {t: m for t, m in pending.items() if t in wanted}
    if not dry_run and not defer:
        pause_for_test("before_screening_commit")
        store.finish_screening(screened=pending, quarantines=records)
    logger.info(
        "screened %d tracks: %d flagged, %d newly quarantined, %d left released",
        len(tracks) if track_ids is None else len(context.track_ids or ()),
        len(flags),
        len(records),
        len(skipped),
    )
    return ScreeningResult(
        screened=len(tracks) if track_ids is None else len(track_ids),
        flags=flags,
        quarantined=tuple(r.track_id for r in records),
        skipped_released=tuple(skipped),
        records=tuple(records),
        marks=pending,
    )


def pause_for_test(stage: str) -> None:
    """Fault injection for crash tests: sleep when ``LINER_TEST_PAUSE`` names this stage
    (``stage:seconds``, e.g. ``after_ingest_commit:30``), so a test can kill -9 the process
    at that point. Stages: ``after_ingest_commit``, ``before_screening_commit``."""
    wanted, _, seconds = os.environ.get("LINER_TEST_PAUSE", "").partition(":")
    if wanted == stage:
        logger.warning("LINER_TEST_PAUSE: pausing %s s at %s", seconds, stage)
        time.sleep(float(seconds or 60))


def release_track(
    store: Store, track_id: str, *, actor: str, reason: str, at: datetime | None = None
) -> QuarantineRecord:
    """Release a quarantined track: a rights admin's audited decision.

    Raises:
        NotFoundError: the track does not exist.
        LinerError: the track is not quarantined, or actor/reason is empty or ``screening``.
    """
    if not actor.strip() or actor == SCREENING_ACTOR:
        raise LinerError("a release needs the rights admin's id as actor (not 'screening')")
    if not reason.strip():
        raise LinerError("a release needs a reason, for the audit trail")
    if store.get_track(track_id) is None:
        raise NotFoundError(f"no track {track_id!r} in the store")
    if track_id not in store.quarantined_ids():
        raise LinerError(f"track {track_id!r} is not quarantined; nothing to release")
    record = QuarantineRecord(
        track_id=track_id,
        quarantined=False,
        reasons=("released",),
        evidence={"released": reason},
        actor=actor,
        at=at or datetime.now(UTC),
    )
    store.record_quarantine([record])
    logger.info("track %s released by %s: %s", track_id, actor, reason)
    return record


# Confirming a quarantine: payouts follow it (recsys.integrity.metering). Plays of a quarantined
# track are withheld; once a rights admin confirms the quarantine they are forfeited.
CONFIRMED = "confirmed"
"""The reason of a confirmation record in the quarantine audit."""


def confirmed_ids(history: Sequence[QuarantineRecord]) -> frozenset[str]:
    """Tracks whose quarantine a rights admin confirmed and nobody released since.

    Args:
        history: the quarantine audit in order (``Store.quarantine_history()``).
    """
    confirmed: set[str] = set()
    for record in history:
        if not record.quarantined:
            confirmed.discard(record.track_id)
        elif CONFIRMED in record.reasons and record.actor != SCREENING_ACTOR:
            confirmed.add(record.track_id)
    return frozenset(confirmed)


def confirm_quarantine(
    store: Store, track_id: str, actor: str, reason: str, *, at: datetime | None = None
) -> QuarantineRecord | None:
    """Confirm a quarantine: a rights admin's audited decision that the track is abuse.

    The track stays quarantined; its plays, withheld until now, are forfeited and their money
    goes to the paid plays of the pool (see :mod:`recsys.integrity.metering`). A later
    :func:`release_track` (an appeal upheld) lifts the confirmation with the quarantine.

    Returns:
        The confirmation record, or None when the quarantine was already confirmed (nothing
        written).

    Raises:
        LinerError: actor or reason is empty, or the actor is ``screening``.
        NotFoundError: the track does not exist.
        ConstraintError: the track is not quarantined (only a quarantine can be confirmed).
    """
    if not actor.strip() or actor == SCREENING_ACTOR:
        raise LinerError("a confirmation needs the rights admin's id as actor (not 'screening')")
    if not reason.strip():
        raise LinerError("a confirmation needs a reason, for the audit trail")
    if store.get_track(track_id) is None:
        raise NotFoundError(f"no track {track_id!r} in the store")
    if track_id not in store.quarantined_ids():
        raise ConstraintError(
            f"track {track_id!r} is not quarantined; only a quarantine can be confirmed. "
            "Fix: check the track id, or quarantine the track first"
        )
    if track_id in confirmed_ids(store.quarantine_history(track_id)):
        return None
    record = QuarantineRecord(
        track_id=track_id,
        quarantined=True,
        reasons=(CONFIRMED,),
        evidence={CONFIRMED: reason},
        actor=actor,
        at=at or datetime.now(UTC),
    )
    store.record_quarantine([record])
    logger.info("quarantine of track %s confirmed by %s: %s", track_id, actor, reason)
    return record


__all__ = [
    "CONFIRMED",
    "SCREENING_ACTOR",
    "ScreeningResult",
    "confirm_quarantine",
    "confirmed_ids",
    "pause_for_test",
    "release_track",
    "screen_store",
]
