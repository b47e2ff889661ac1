"""The discovery agent's conversation sessions in the store: one SQL for both backends.

Every function runs inside the caller's write transaction (``cur`` is a SQLite connection or a
psycopg cursor; ``mark`` is the backend's placeholder, ``?`` or ``%s``) and takes ``now``, the
store's own clock in microseconds: expiry is decided by the store that every serving process
shares, never by a client or by one process's memory. What a session *means* (its id, its
messages, its state) is :mod:`agent.sessions`'; here it is rows (``migrations/0009``).

A turn holds its session (``holder`` until ``busy_until``) from :func:`claim` to
:func:`release`, so turns of one conversation run one after the other on whichever process
answers them; a holder that died is taken over once its lease has run out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MICROS = 1_000_000


@dataclass(frozen=True, kw_only=True)
class SessionRecord:
    """A stored session as one call found it.

    Attributes:
        session_id: the id the server minted.
        listener_id: whom it is bound to (None when it was started without a listener).
        state: the conversation so far, as the agent wrote it ('' before the first answer).
        turns: answered turns.
        claimed: True when this call now holds the session for its turn; False when another
            listener owns it or another turn holds it (nothing was changed then).
    """

    session_id: str
    listener_id: str | None
    state: str
    turns: int
    claimed: bool


def _sql(text: str, mark: str) -> str:
    return text.replace("?", mark)


def _listener(value: str | None) -> str:
    return value or ""


def _drop_expired(cur: Any, mark: str, now: int, ttl_s: int) -> None:
    """Delete the sessions unused for ``ttl_s`` that no turn holds (their conversations must not
    outlive the TTL in the store, whether or not anyone asks for them again)."""
    cur.execute(
        _sql("DELETE FROM agent_sessions WHERE last_used < ? AND busy_until <= ?", mark),
        (now - ttl_s * MICROS, now),
    )


def create(
    cur: Any,
    mark: str,
    now: int,
    *,
    session_id: str,
    listener_id: str | None,
    ttl_s: int,
    max_sessions: int,
    holder: str,
    lease_s: float,
) -> SessionRecord:
    """Insert a new session, held by ``holder`` for its first turn; drop the expired ones and,
    past ``max_sessions``, the least recently used idle ones."""
    _drop_expired(cur, mark, now, ttl_s)
    cur.execute(
        _sql(
            "INSERT INTO agent_sessions (session_id, listener_id, state, turns, created_at, "
            "last_used, busy_until, holder) VALUES (?, ?, '', 0, ?, ?, ?, ?)",
            mark,
        ),
        (session_id, _listener(listener_id), now, now, now + int(lease_s * MICROS), holder),
    )
    row = cur.execute("SELECT count(*) FROM agent_sessions").fetchone()
    excess = int(row[0]) - max_sessions
    if excess > 0:
        cur.execute(
            _sql(
                "DELETE FROM agent_sessions WHERE session_id IN (SELECT session_id FROM "
                "agent_sessions WHERE session_id <> ? AND busy_until <= ? "
                "ORDER BY last_used, session_id LIMIT ?)",
                mark,
            ),
            (session_id, now, excess),
        )
    return SessionRecord(
        session_id=session_id, listener_id=listener_id, state="", turns=0, claimed=True
    )


def claim(
    cur: Any,
    mark: str,
    now: int,
    *,
    session_id: str,
    listener_id: str | None,
    ttl_s: int,
    holder: str,
    lease_s: float,
) -> SessionRecord | None:
    """Hold a live session of ``listener_id`` for a turn (and mark it used now); expired
    sessions are dropped first, as on :func:`create`.

    Returns:
        None when no live session has this id (never issued, expired, dropped); else the
        record, ``claimed`` only when this call holds it now (see :class:`SessionRecord`).
    """
    _drop_expired(cur, mark, now, ttl_s)
    # One conditional UPDATE: of two processes claiming at once, exactly one matches.
    rows = cur.execute(
        _sql(
            "UPDATE agent_sessions SET last_used = ?, busy_until = ?, holder = ? "
            "WHERE session_id = ? AND listener_id = ? AND (last_used >= ? OR busy_until > ?) "
            "AND (busy_until <= ? OR holder = ?) RETURNING state, turns",
            mark,
        ),
        (
            now,
            now + int(lease_s * MICROS),
            holder,
            session_id,
            _listener(listener_id),
            now - ttl_s * MICROS,
            now,
            now,
            holder,
        ),
    ).fetchall()  # all, so the statement has ended before the commit
    if rows:
        row = rows[0]
        return SessionRecord(
            session_id=session_id,
            listener_id=listener_id,
            state=str(row[0]),
            turns=int(row[1]),
            claimed=True,
        )
    found = cur.execute(
        _sql(
            "SELECT listener_id, state, turns FROM agent_sessions WHERE session_id = ?",
            mark,
        ),
        (session_id,),
    ).fetchone()
    if found is None:  # never issued, dropped, or expired (dropped above)
        return None
    owner, state, turns = found
    return SessionRecord(
        session_id=session_id,
        listener_id=owner or None,
        state=str(state),
        turns=int(turns),
        claimed=False,
    )


def release(
    cur: Any,
    mark: str,
    now: int,
    *,
    session_id: str,
    holder: str,
    state: str | None,
    turns: int | None,
) -> bool:
    """End ``holder``'s turn: store ``state`` and ``turns`` (None keeps them: the turn failed)
    and mark the session used now. False when ``holder`` no longer held it (its lease ran out
    and another turn took it over, or it was dropped): nothing was written then."""
    if state is None or turns is None:
        sql = "UPDATE agent_sessions SET last_used = ?, busy_until = 0, holder = '' "
        params: tuple[Any, ...] = (now,)
    else:
        sql = (
            "UPDATE agent_sessions SET state = ?, turns = ?, last_used = ?, busy_until = 0, "
            "holder = '' "
        )
        params = (state, turns, now)
    cursor = cur.execute(
        _sql(sql + "WHERE session_id = ? AND holder = ?", mark), (*params, session_id, holder)
    )
    return bool(cursor.rowcount == 1)


def count(cur: Any, mark: str, now: int, *, ttl_s: int) -> int:
    """Live sessions (used within the TTL, or held by a turn)."""
    row = cur.execute(
        _sql("SELECT count(*) FROM agent_sessions WHERE last_used >= ? OR busy_until > ?", mark),
        (now - ttl_s * MICROS, now),
    ).fetchone()
    return int(row[0])


__all__ = ["SessionRecord", "claim", "count", "create", "release"]
