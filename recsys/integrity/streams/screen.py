"""The streams screen over a store: score its listening, record flags, let an admin clear them.

Each run appends only changes to the ``play_flags`` audit: new flags (with reasons, score and
the run id) and releases of earlier detector flags the run no longer supports. A rights
admin's clearance stands: later runs never flag that event again, and the clearance is
itself an audited row with the admin's id and reason.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from recsys.errors import LinerError, NotFoundError
from recsys.integrity.streams.config import StreamsConfig
from recsys.integrity.streams.plays import play_log, track_payees
from recsys.integrity.streams.scorer import StreamsVerdict, score_streams
from recsys.store import Store
from recsys.store.play_flags import DETECTOR_ACTOR, PlayFlagRecord

logger = logging.getLogger(__name__)


@dataclass(kw_only=True)
class StreamsRun:
    """What one run of the streams screen found and did.

    Attributes:
        run_id: the id recorded with every flag of this run.
        verdict: the detector's decision over the whole log.
        flagged: events newly flagged by this run.
        released: earlier detector flags this run no longer supports (released).
        kept_cleared: events the detector flags but a rights admin cleared (left cleared).
        time_source: which clock rates were judged on (``received_at``, ``at`` or ``none``).
    """

    run_id: str
    verdict: StreamsVerdict
    flagged: int = 0
    released: int = 0
    kept_cleared: int = 0
    time_source: str = "none"
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "run_id": self.run_id,
            "newly_flagged": self.flagged,
            "released": self.released,
            "kept_cleared_by_admin": self.kept_cleared,
            "time_source": self.time_source,
            **self.verdict.summary(),
        }


def store_play_log(store: Store) -> Any:
    """The store's listening as a :class:`~recsys.integrity.streams.plays.PlayLog`."""
    tracks = store.read_frame("tracks")
    artists = store.read_frame("artists")
    durations = pd.Series(
        pd.to_numeric(tracks["duration_ms"], errors="coerce").to_numpy(dtype="float64"),
        index=tracks["track_id"].astype(str).to_numpy(),
    )
    return play_log(
        store.read_frame("events"),
        payees=track_payees(tracks, artists),
        durations=durations.where(durations > 0),
        listeners=store.read_frame("listeners"),
    )


def screen_streams(
    store: Store,
    *,
    config: StreamsConfig | None = None,
    at: datetime | None = None,
    dry_run: bool = False,
) -> StreamsRun:
    """Score every play in ``store`` and record what changed in the play-flag audit.

    Args:
        store: the store (its event log may be a live service's).
        config: detector thresholds (default: :class:`StreamsConfig`).
        at: decision time (default: now).
        dry_run: compute everything, write nothing.

    Example:
        >>> run = screen_streams(open_store("var/liner.db"))  # doctest: +SKIP
        >>> run.summary()["flags_by_reason"]  # doctest: +SKIP
    """
    at = at or datetime.now(UTC)
    run_id = f"streams-{at.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    log = store_play_log(store)
    if log.time_source != "received_at":
        logger.info(
            "streams screen: the event log has no receipt times; rates are judged on %s "
            "(what clients said)",
            log.time_source,
        )
    verdict = score_streams(log, config)
    in_force = store.play_flags_in_force()
    run = StreamsRun(run_id=run_id, verdict=verdict, time_source=log.time_source)
    records: list[PlayFlagRecord] = []
    now_flagged = set()
    for row in verdict.flags.itertuples(index=False):
        event_id = str(row.event_id)
        now_flagged.add(event_id)
        current = in_force.get(event_id)
        if current is not None and not current.flagged and current.actor != DETECTOR_ACTOR:
            run.kept_cleared += 1
            continue
        if current is not None and current.flagged:
            continue
        records.append(
            PlayFlagRecord(
                event_id=event_id,
                flagged=True,
                reasons=tuple(str(row.reasons).split("|")),
                score=float(row.score),
                run_id=run_id,
                actor=DETECTOR_ACTOR,
                note=str(row.note),
                at=at,
            )
        )
    run.flagged = len(records)
    for event_id, current in in_force.items():
        if current.flagged and current.actor == DETECTOR_ACTOR and event_id not in now_flagged:
            records.append(
                PlayFlagRecord(
                    event_id=event_id,
                    flagged=False,
                    run_id=run_id,
                    actor=DETECTOR_ACTOR,
                    note=f"no longer flagged (was: {', '.join(current.reasons)})",
                    at=at,
                )
            )
            run.released += 1
    if not dry_run and records:
        store.record_play_flags(records)
    logger.info(
        "streams screen %s: %d events flagged in all, %d new, %d released",
        run_id,
        len(verdict.flags),
        run.flagged,
        run.released,
    )
    return run


def clear_play_flags(
    store: Store,
    *,
    actor: str,
    reason: str,
    event_ids: Iterable[str] = (),
    listener_id: str | None = None,
    at: datetime | None = None,
) -> list[PlayFlagRecord]:
    """A rights admin clears flagged plays (some events, or all of one listener's), audited.

    Raises:
        LinerError: no actor or no reason.
        NotFoundError: nothing named is flagged.
    """
    if not actor.strip() or not reason.strip():
        raise LinerError("clearing a play flag needs an actor and a reason. Fix: pass both")
    flagged = store.flagged_event_ids()
    ids = set(event_ids)
    if listener_id is not None:
        events = store.read_frame("events")
        ids |= set(events.loc[events["listener_id"] == listener_id, "event_id"].astype(str))
    ids &= flagged
    if not ids:
        raise NotFoundError(
            "none of the named plays is flagged. Fix: check the event ids or listener id "
            "(`liner report integrity` lists flagged plays)"
        )
    at = at or datetime.now(UTC)
    records = [
        PlayFlagRecord(event_id=e, flagged=False, actor=actor, note=reason, at=at)
        for e in sorted(ids)
    ]
    store.record_play_flags(records)
    return records


__all__ = ["StreamsRun", "clear_play_flags", "screen_streams", "store_play_log"]
