"""Play flags: the append-only audit of artificial-streaming decisions per event.

The store's part of :mod:`recsys.integrity.streams`. Each decision is one ``play_flags`` row
(flag, automatic release, or a rights admin's clearance with a reason); the latest row per
event is in force, and ``flagged_events`` mirrors the events whose latest row is a flag, in
the same transaction, so readers need one indexed lookup instead of a scan of the audit.
Nothing here deletes or edits an event: a flagged play stays in ``events``.

What models may learn from is one rule, :func:`learnable_events`: every event except flagged
ones. Collaborative embeddings, popularity, the reranker's labels and the histories served to
the pipeline all read events through it (or :func:`without_flagged` on a frame already read).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from recsys.store import codec

if TYPE_CHECKING:
    from recsys.store.base import Store

DETECTOR_ACTOR = "streams"
"""Actor of decisions made by the artificial-streaming detector."""


@dataclass(frozen=True, kw_only=True)
class PlayFlagRecord:
    """One audited decision about one event.

    Attributes:
        event_id: the feedback event.
        flagged: True flags the event as artificial; False clears it.
        reasons: machine-readable reasons (``coordinated``, ``rate_impossible``, ...).
        score: the detector's evidence score (0 for an admin decision).
        run_id: the detection run that decided (empty for an admin decision).
        actor: :data:`DETECTOR_ACTOR` for the detector, else the rights admin's id.
        note: human-readable evidence, or the admin's reason for clearing.
        at: when.
    """

    event_id: str
    flagged: bool
    reasons: tuple[str, ...] = ()
    score: float = 0.0
    run_id: str = ""
    actor: str
    note: str = ""
    at: datetime


COLUMNS = ("event_id", "flagged", "reasons", "score", "run_id", "actor", "note", "at")


def _row(r: PlayFlagRecord) -> tuple[Any, ...]:
    return (
        r.event_id,
        int(r.flagged),
        codec.join(r.reasons),
        float(r.score),
        r.run_id,
        r.actor,
        r.note,
        codec.to_micros(r.at),
    )


def record_of(r: Sequence[Any]) -> PlayFlagRecord:
    """A decision from a row of :data:`COLUMNS`."""
    return PlayFlagRecord(
        event_id=r[0],
        flagged=bool(r[1]),
        reasons=codec.split(r[2]),
        score=float(r[3]),
        run_id=r[4],
        actor=r[5],
        note=r[6],
        at=codec.from_micros(r[7]) or codec.EPOCH,
    )


def append(conn: Any, mark: str, records: Iterable[PlayFlagRecord]) -> int:
    """Append decisions and keep ``flagged_events`` in step; call inside a write transaction
    (PostgreSQL's store holds its writer lock then). ``mark``: the driver's placeholder.

    Returns:
        How many rows were appended.
    """
    n = 0
    insert = (
        f"INSERT INTO play_flags ({', '.join(COLUMNS)}) VALUES "
        f"({', '.join([mark] * len(COLUMNS))}) RETURNING seq"
    )
    for record in records:
        seq = conn.execute(insert, _row(record)).fetchall()[0][0]  # all: the statement ends
        if record.flagged:
            conn.execute(
                "INSERT INTO flagged_events (event_id, seq) VALUES "
                f"({mark}, {mark}) ON CONFLICT (event_id) DO UPDATE SET seq = excluded.seq",
                (record.event_id, seq),
            )
        else:
            conn.execute(f"DELETE FROM flagged_events WHERE event_id = {mark}", (record.event_id,))
        n += 1
    return n


HISTORY_SQL = f"SELECT {', '.join(COLUMNS)} FROM play_flags"
"""The audit (add ``ORDER BY seq`` for append order)."""
FLAGGED_SQL = "SELECT event_id FROM flagged_events"
"""Events whose latest decision is a flag."""
LATEST_SQL = (
    f"SELECT {', '.join('p.' + c for c in COLUMNS)} FROM play_flags p JOIN ("
    "SELECT event_id, max(seq) AS seq FROM play_flags GROUP BY event_id"
    ") m ON p.seq = m.seq"
)
"""The decision in force per event (the same SQL on both backends)."""


def without_flagged(events: pd.DataFrame, flagged: Collection[str]) -> pd.DataFrame:
    """``events`` without the rows whose ``event_id`` is in ``flagged``."""
    if events.empty or not flagged:
        return events
    return events[~events["event_id"].astype(str).isin(flagged)]


def learnable_events(store: Store) -> pd.DataFrame:
    """The store's ``events`` frame without the plays flagged as artificial."""
    return without_flagged(store.read_frame("events"), store.flagged_event_ids())


NOT_FLAGGED_SQL = "event_id NOT IN (SELECT event_id FROM flagged_events)"
"""A WHERE clause over ``events`` that keeps what is not flagged (indexed lookup)."""


__all__ = [
    "COLUMNS",
    "DETECTOR_ACTOR",
    "FLAGGED_SQL",
    "HISTORY_SQL",
    "LATEST_SQL",
    "NOT_FLAGGED_SQL",
    "PlayFlagRecord",
    "append",
    "learnable_events",
    "record_of",
    "without_flagged",
]
