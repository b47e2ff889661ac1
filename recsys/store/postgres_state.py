"""The PostgreSQL side of the screening state and the play-flag audit.

The same records and rules as :mod:`recsys.store.screening_state` and
:mod:`recsys.store.play_flags` (which hold them for SQLite), as functions over a psycopg
cursor that :class:`~recsys.store.postgres.PostgresStore` calls inside its own transactions.
Functions that hand out a new mark or read a version are called under the store's writer lock,
so numbers are assigned in commit order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psycopg

from recsys.domain import Track
from recsys.store import codec
from recsys.store.base import DisputeRecord
from recsys.store.play_flags import COLUMNS as FLAG_COLUMNS
from recsys.store.play_flags import LATEST_SQL, PlayFlagRecord
from recsys.store.play_flags import _record as flag_record
from recsys.store.play_flags import _row as flag_row
from recsys.store.screening_state import DISPUTE_INSERT, DISPUTES_SQL, dispute_row
from recsys.store.screening_state import _content as track_content

Cursor = psycopg.Cursor[Any]


def changed_tracks(cur: Cursor, tracks: Sequence[Track]) -> list[str]:
    """Ids of ``tracks`` that are new or differ from the stored row (call before writing)."""
    ids = [t.track_id for t in tracks]
    if not ids:
        return []
    credits: dict[str, list[tuple[Any, ...]]] = {}
    for r in cur.execute(
        "SELECT track_id, artist_id, role, share FROM credits WHERE track_id = ANY(%s) "
        "ORDER BY track_id, ord",
        (ids,),
    ).fetchall():
        credits.setdefault(r[0], []).append((r[1], r[2], float(r[3])))
    stored = {
        r[0]: (track_content(r), tuple(credits.get(r[0], ())))
        for r in cur.execute(
            f"SELECT {', '.join(codec.TRACK_COLUMNS)} FROM tracks WHERE track_id = ANY(%s)",
            (ids,),
        ).fetchall()
    }
    changed = []
    for t in tracks:
        now = (
            track_content(codec.track_row(t)),
            tuple((c.artist_id, str(c.role), float(c.share)) for c in t.credits),
        )
        if stored.get(t.track_id) != now:
            changed.append(t.track_id)
    return changed


def mark_unscreened(cur: Cursor, track_ids: Iterable[str]) -> None:
    """Mark tracks unscreened with one new mark (under the writer lock)."""
    ids = list(dict.fromkeys(track_ids))
    if not ids:
        return
    row = cur.execute("SELECT coalesce(max(mark), 0) + 1 FROM unscreened").fetchone()
    assert row is not None
    cur.execute(
        "INSERT INTO unscreened (track_id, mark) SELECT unnest(%s::text[]), %s "
        "ON CONFLICT (track_id) DO UPDATE SET mark = excluded.mark",
        (ids, int(row[0])),
    )


def unscreened_marks(cur: Cursor) -> dict[str, int]:
    return {str(t): int(m) for t, m in cur.execute("SELECT track_id, mark FROM unscreened")}


def clear_unscreened(cur: Cursor, marks: Mapping[str, int]) -> None:
    """Clear the marks a screening read before it started; re-marked tracks stay."""
    if marks:
        cur.executemany(
            "DELETE FROM unscreened WHERE track_id = %s AND mark <= %s",
            [(t, int(m)) for t, m in marks.items()],
        )


def insert_disputes(cur: Cursor, records: Iterable[DisputeRecord]) -> None:
    rows = [dispute_row(r) for r in records]
    if rows:
        cur.executemany(DISPUTE_INSERT.replace("?", "%s"), rows)


def dispute_rows(cur: Cursor, track_id: str | None) -> list[Any]:
    if track_id is None:
        return cur.execute(DISPUTES_SQL + " ORDER BY seq").fetchall()
    return cur.execute(DISPUTES_SQL + " WHERE track_id = %s ORDER BY seq", (track_id,)).fetchall()


def open_dispute_ids(cur: Cursor) -> frozenset[str]:
    rows = cur.execute(
        "SELECT d.track_id FROM disputes d JOIN (SELECT track_id, max(seq) AS seq FROM disputes "
        "GROUP BY track_id) latest USING (track_id, seq) WHERE d.opened = 1"
    ).fetchall()
    return frozenset(str(r[0]) for r in rows)


def append_flags(cur: Cursor, records: Iterable[PlayFlagRecord]) -> int:
    """Append play-flag decisions and keep ``flagged_events`` in step (under the writer lock)."""
    n = 0
    insert = (
        f"INSERT INTO play_flags ({', '.join(FLAG_COLUMNS)}) VALUES "
        f"({', '.join(['%s'] * len(FLAG_COLUMNS))}) RETURNING seq"
    )
    for record in records:
        row = cur.execute(insert, flag_row(record)).fetchone()
        assert row is not None
        if record.flagged:
            cur.execute(
                "INSERT INTO flagged_events (event_id, seq) VALUES (%s, %s) "
                "ON CONFLICT (event_id) DO UPDATE SET seq = excluded.seq",
                (record.event_id, row[0]),
            )
        else:
            cur.execute("DELETE FROM flagged_events WHERE event_id = %s", (record.event_id,))
        n += 1
    return n


def flag_history(cur: Cursor, event_id: str | None) -> list[PlayFlagRecord]:
    sql = f"SELECT {', '.join(FLAG_COLUMNS)} FROM play_flags"
    if event_id is None:
        return [flag_record(r) for r in cur.execute(sql + " ORDER BY seq").fetchall()]
    rows = cur.execute(sql + " WHERE event_id = %s ORDER BY seq", (event_id,)).fetchall()
    return [flag_record(r) for r in rows]


def flags_in_force(cur: Cursor) -> dict[str, PlayFlagRecord]:
    return {r[0]: flag_record(r) for r in cur.execute(LATEST_SQL).fetchall()}


__all__ = [
    "append_flags",
    "changed_tracks",
    "clear_unscreened",
    "dispute_rows",
    "flag_history",
    "flags_in_force",
    "insert_disputes",
    "mark_unscreened",
    "open_dispute_ids",
    "unscreened_marks",
]
