"""The screening state: unscreened marks and the dispute audit.

Functions over a connection, called by the stores inside their own transactions, so marking a
track unscreened commits with the write of the track, and clearing the mark commits with the
screening's decisions. The dispute audit's SQL and the clearing of marks serve both backends
(``mark`` is the driver's placeholder); finding changed tracks and marking them are SQLite's
here (PostgreSQL's, with arrays, are in :mod:`recsys.store.postgres_state`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from recsys.domain import AiInvolvement, Track
from recsys.store import codec
from recsys.store.base import DisputeRecord

_CHUNK = 900  # below SQLite's default limit of bound parameters per statement
# Stamped by the store itself, not part of what an upload says: a change there is no change.
_NOT_CONTENT = frozenset({"received_at"})


def _content(row: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(v for c, v in zip(codec.TRACK_COLUMNS, row, strict=True) if c not in _NOT_CONTENT)


def _stored(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """What the store holds for ``ids`` now: track columns plus credits, per track."""
    found: dict[str, tuple[Any, ...]] = {}
    cols = ", ".join(codec.TRACK_COLUMNS)
    for start in range(0, len(ids), _CHUNK):
        part = ids[start : start + _CHUNK]
        marks = ", ".join("?" * len(part))
        credits: dict[str, list[tuple[Any, ...]]] = {}
        for r in conn.execute(
            f"SELECT track_id, artist_id, role, share FROM credits WHERE track_id IN ({marks}) "
            "ORDER BY track_id, ord",
            part,
        ):
            credits.setdefault(r[0], []).append((r[1], r[2], float(r[3])))
        for r in conn.execute(f"SELECT {cols} FROM tracks WHERE track_id IN ({marks})", part):
            found[r[0]] = (_content(r), tuple(credits.get(r[0], ())))
    return found


def changed_tracks(conn: sqlite3.Connection, tracks: Sequence[Track]) -> list[str]:
    """Ids of ``tracks`` that are new or differ from the stored row (call before writing).

    Re-ingesting an unchanged track writes nothing new, so it keeps its screening state;
    anything else the upload says (audio, title, credits, declared label) is screened again.
    """
    stored = _stored(conn, [t.track_id for t in tracks])
    changed = []
    for t in tracks:
        now = (
            _content(codec.track_row(t)),
            tuple((c.artist_id, str(c.role), float(c.share)) for c in t.credits),
        )
        if stored.get(t.track_id) != now:
            changed.append(t.track_id)
    return changed


def mark_unscreened(conn: sqlite3.Connection, track_ids: Iterable[str]) -> None:
    """Mark tracks unscreened with one new mark (higher than any mark a screening has read)."""
    ids = list(dict.fromkeys(track_ids))
    if not ids:
        return
    mark = int(conn.execute("SELECT coalesce(max(mark), 0) + 1 FROM unscreened").fetchone()[0])
    conn.executemany(
        "INSERT INTO unscreened (track_id, mark) VALUES (?, ?) "
        "ON CONFLICT (track_id) DO UPDATE SET mark = excluded.mark",
        ((t, mark) for t in ids),
    )


UNSCREENED_SQL = "SELECT track_id, mark FROM unscreened"
"""Every unscreened track with its mark."""


def clear_unscreened(conn: Any, mark: str, marks: Mapping[str, int]) -> None:
    """Clear the marks a screening read before it started; re-marked tracks stay."""
    rows = [(t, int(m)) for t, m in marks.items()]
    if rows:
        conn.executemany(f"DELETE FROM unscreened WHERE track_id = {mark} AND mark <= {mark}", rows)


DISPUTE_INSERT = (
    "INSERT INTO disputes (track_id, opened, declared, probability, evidence, decided, "
    "actor, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
"""The dispute audit's insert (written with ``?``; :func:`insert_disputes` swaps in the
driver's placeholder)."""


def dispute_row(r: DisputeRecord) -> tuple[Any, ...]:
    """A dispute audit entry as the row both backends store."""
    return (
        r.track_id,
        int(r.opened),
        str(r.declared),
        r.probability,
        json.dumps(r.evidence, sort_keys=True),
        "" if r.decided is None else str(r.decided),
        r.actor,
        r.reason,
        codec.to_micros(r.at),
    )


def insert_disputes(conn: Any, mark: str, records: Iterable[DisputeRecord]) -> None:
    """Append entries to the dispute audit (``mark``: the driver's placeholder)."""
    rows = [dispute_row(r) for r in records]
    if rows:
        conn.executemany(DISPUTE_INSERT.replace("?", mark), rows)


DISPUTES_SQL = (
    "SELECT seq, track_id, opened, declared, probability, evidence, decided, actor, reason, at "
    "FROM disputes"
)


def row_dispute(r: Sequence[Any]) -> DisputeRecord:
    """A dispute audit entry from a :data:`DISPUTES_SQL` row."""
    return DisputeRecord(
        track_id=r[1],
        opened=bool(r[2]),
        declared=AiInvolvement(r[3]),
        probability=None if r[4] is None else float(r[4]),
        evidence=json.loads(r[5]),
        decided=AiInvolvement(r[6]) if r[6] else None,
        actor=r[7],
        reason=r[8],
        at=codec.from_micros(r[9]) or codec.EPOCH,
    )


OPEN_DISPUTES_SQL = (
    "SELECT d.track_id FROM disputes d JOIN (SELECT track_id, max(seq) AS seq FROM disputes "
    "GROUP BY track_id) latest USING (track_id, seq) WHERE d.opened = 1"
)
"""Tracks whose latest dispute entry is open."""


__all__ = [
    "DISPUTES_SQL",
    "DISPUTE_INSERT",
    "OPEN_DISPUTES_SQL",
    "UNSCREENED_SQL",
    "changed_tracks",
    "clear_unscreened",
    "dispute_row",
    "insert_disputes",
    "mark_unscreened",
    "row_dispute",
]
