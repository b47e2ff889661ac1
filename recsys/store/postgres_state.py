"""The PostgreSQL side of the screening state: which tracks of a write changed, and their
unscreened marks.

The rest of the screening state and the play-flag audit is one SQL for both backends
(:mod:`recsys.store.screening_state`, :mod:`recsys.store.play_flags`, run by
:class:`~recsys.store.sql.SqlStore`); these two send arrays instead of SQLite's chunked IN
lists. Both run inside the store's write transaction, under its writer lock, so marks are
handed out in commit order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg

from recsys.domain import Track
from recsys.store import codec
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


__all__ = ["changed_tracks", "mark_unscreened"]
