"""Conversation sessions the server creates, binds to their listener and expires.

A session id is never chosen by a client: a turn without one mints an unguessable id for the
listener of that turn. A later turn must name the same listener; an id the server never
issued, or one idle longer than the TTL, is refused with a message saying what to do (send no
session id to start a new conversation).

With a store (``liner serve`` passes its own), sessions live in it: every serving process
(``--workers``) and every replica on the same database continues any conversation, and idle
time is measured on the store's clock (the database server's for PostgreSQL). Without one
(tests, a local ``liner agent``) they live in this process. Either way nothing is cached in
memory between turns: each turn reads the session from where it is kept, so no process can
answer from a stale copy or from another listener's session.

Turns of one conversation run one after the other: a turn holds its session until it ends
(or, should its process die, until a lease of :data:`TURN_LEASE_S` runs out), and a turn that
finds it held waits.

Example:
    >>> sessions = SessionStore(ttl_s=1800)
    >>> with sessions.turn(None, listener_id="u1") as (sid, session):   # a new conversation
    ...     session.turns += 1
    >>> with sessions.turn(sid, listener_id="u2"):                      # PermissionDeniedError
    ...     pass
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from recsys.errors import NotFoundError, PermissionDeniedError, StoreError
from recsys.store.agent_sessions import SessionRecord

if TYPE_CHECKING:
    from agent.request import Constraints
    from recsys.store.base import Store

logger = logging.getLogger(__name__)

DEFAULT_TTL_S = 1800
"""Idle seconds after which a session expires (30 minutes; ``LINER_AGENT_SESSION_TTL_S``)."""
DEFAULT_MAX_SESSIONS = 10_000
"""Live sessions kept; past this the least recently used idle one is dropped."""
ID_BYTES = 18
"""Random bytes in a session id (24 URL-safe characters): not guessable, not enumerable."""
TURN_LEASE_S = 60.0
"""Longest a turn holds its session; a turn of a process that died is taken over after it
(the LLM planner's own timeout is 20 s)."""
MICROS = 1_000_000


class SessionNotFoundError(NotFoundError):
    """The session id was never issued by this server, or it expired (NOT_FOUND)."""


class SessionListenerError(PermissionDeniedError):
    """The session belongs to another listener (PERMISSION_DENIED)."""


class SessionBusyError(StoreError):
    """Another turn of the conversation held the session for longer than its lease allows
    (UNAVAILABLE: retry)."""


@dataclass
class Session:
    """One conversation as a turn sees it: whose it is and what it has asked so far."""

    listener_id: str | None
    constraints: Constraints | None = None
    turns: int = 0


@dataclass
class _Row:
    listener_id: str
    state: str
    turns: int
    last_used: int
    busy_until: int = 0
    holder: str = ""


class MemorySessions:
    """The sessions of one process without a store: the store's session methods and rules
    (:mod:`recsys.store.agent_sessions`), in a dict (LRU order).

    Args:
        clock: monotonic seconds (tests pass a fake).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._rows: OrderedDict[str, _Row] = OrderedDict()
        self._lock = threading.Lock()

    def _now(self) -> int:
        return int(self._clock() * MICROS)

    def _live(self, row: _Row, now: int, ttl_s: int) -> bool:
        return row.last_used >= now - ttl_s * MICROS or row.busy_until > now

    def _purge(self, now: int, ttl_s: int) -> None:
        """Drop every expired session (call with the lock held): on each access, so an idle
        conversation's constraints do not outlive the TTL until the next session is created.
        The table is in LRU order, so this stops at the first live row unless a held row
        (a turn in progress) sits before expired ones."""
        for sid, row in list(self._rows.items()):
            if self._live(row, now, ttl_s):
                if row.busy_until <= now:
                    break  # idle and live: every row after it was used later
                continue
            del self._rows[sid]

    def create_session(
        self,
        session_id: str,
        *,
        listener_id: str | None,
        ttl_s: int,
        max_sessions: int,
        holder: str,
        lease_s: float,
    ) -> SessionRecord:
        now = self._now()
        with self._lock:
            self._purge(now, ttl_s)
            self._rows[session_id] = _Row(
                listener_id or "", "", 0, now, now + int(lease_s * MICROS), holder
            )
            idle = [s for s, r in self._rows.items() if s != session_id and r.busy_until <= now]
            for sid in idle[: max(0, len(self._rows) - max_sessions)]:
                del self._rows[sid]
        return SessionRecord(
            session_id=session_id, listener_id=listener_id, state="", turns=0, claimed=True
        )

    def claim_session(
        self, session_id: str, *, listener_id: str | None, ttl_s: int, holder: str, lease_s: float
    ) -> SessionRecord | None:
        now = self._now()
        with self._lock:
            self._purge(now, ttl_s)
            row = self._rows.get(session_id)
            if row is None:
                return None
            claimed = row.listener_id == (listener_id or "") and (
                row.busy_until <= now or row.holder == holder
            )
            if claimed:
                row.last_used, row.busy_until, row.holder = now, now + int(lease_s * MICROS), holder
                self._rows.move_to_end(session_id)
            return SessionRecord(
                session_id=session_id,
                listener_id=row.listener_id or None,
                state=row.state,
                turns=row.turns,
                claimed=claimed,
            )

    def release_session(
        self, session_id: str, *, holder: str, state: str | None, turns: int | None
    ) -> bool:
        now = self._now()
        with self._lock:
            row = self._rows.get(session_id)
            if row is None or row.holder != holder:
                return False
            if state is not None and turns is not None:
                row.state, row.turns = state, turns
            row.last_used, row.busy_until, row.holder = now, 0, ""
            self._rows.move_to_end(session_id)
            return True

    def live_sessions(self, ttl_s: int) -> int:
        now = self._now()
        with self._lock:
            self._purge(now, ttl_s)
            return len(self._rows)

    def stored(self) -> int:
        """Rows kept, expired ones included (what a purge is measured by)."""
        with self._lock:
            return len(self._rows)


class SessionStore:
    """Server-side sessions with an idle TTL and a size bound (thread- and process-safe).

    Args:
        ttl_s: idle seconds before a session expires.
        max_sessions: live sessions kept (least recently used idle ones dropped first).
        clock: monotonic seconds of the in-process table (tests pass a fake); a store uses
            its own clock.
        store: keep the sessions in this store (shared by every process and replica on it);
            None keeps them in this process.
        lease_s: longest a turn holds its session (see :data:`TURN_LEASE_S`).
    """

    def __init__(
        self,
        ttl_s: int = DEFAULT_TTL_S,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        clock: Callable[[], float] = time.monotonic,
        *,
        store: Store | None = None,
        lease_s: float = TURN_LEASE_S,
    ) -> None:
        if ttl_s <= 0 or max_sessions <= 0 or lease_s <= 0:
            raise ValueError("ttl_s, max_sessions and lease_s must be positive")
        self.ttl_s = int(ttl_s)
        self.max_sessions = max_sessions
        self.lease_s = lease_s
        self.table: Store | MemorySessions = (
            store if store is not None and store.keeps_sessions else MemorySessions(clock)
        )

    def __len__(self) -> int:
        """Live sessions."""
        return self.table.live_sessions(self.ttl_s)

    @contextlib.contextmanager
    def turn(
        self, session_id: str | None, *, listener_id: str | None
    ) -> Iterator[tuple[str, Session]]:
        """Hold the session of one turn: a new one when ``session_id`` is empty, else the
        issued one. What the turn leaves in the yielded :class:`Session` (constraints, turns)
        is stored when the block ends without an exception; a failed turn changes nothing.

        Raises:
            SessionNotFoundError: the id was never issued here or has expired.
            SessionListenerError: the session was created for another listener.
            SessionBusyError: another turn held it past its lease.
        """
        holder = secrets.token_urlsafe(12)
        sid, session = self._claim(session_id, listener_id or None, holder)
        try:
            yield sid, session
        except BaseException:
            try:
                self.table.release_session(sid, holder=holder, state=None, turns=None)
            except Exception:  # the turn's own error is the one to report
                logger.exception("could not release agent session %s", sid[:8])
            raise
        if not self.table.release_session(
            sid, holder=holder, state=encode_constraints(session.constraints), turns=session.turns
        ):
            logger.warning(
                "agent session %s: this turn outlived its %.0f s lease and another took the "
                "session over; this turn's answer stands but is not remembered",
                sid[:8],
                self.lease_s,
            )

    def _claim(
        self, session_id: str | None, listener_id: str | None, holder: str
    ) -> tuple[str, Session]:
        if not session_id:
            sid = secrets.token_urlsafe(ID_BYTES)
            self.table.create_session(
                sid, listener_id=listener_id, ttl_s=self.ttl_s, max_sessions=self.max_sessions,
                holder=holder, lease_s=self.lease_s,
            )  # fmt: skip
            return sid, Session(listener_id=listener_id)
        # Another turn of this conversation may hold it: wait for it (at most its lease).
        give_up = time.monotonic() + self.lease_s + 5.0
        pause = 0.005
        while True:
            found = self.table.claim_session(
                session_id, listener_id=listener_id, ttl_s=self.ttl_s, holder=holder,
                lease_s=self.lease_s,
            )  # fmt: skip
            if found is None:
                raise SessionNotFoundError(
                    f"session_id {session_id[:64]!r} is not a live session: this server never "
                    f"issued it, or it was idle for more than {self.ttl_s} s. Fix: send an empty "
                    "session_id to start a new conversation (the response carries its id)"
                )
            if found.listener_id != listener_id:
                # Say nothing about whose session it is.
                raise SessionListenerError(
                    "session_id belongs to another listener. Fix: send an empty session_id to "
                    "start a conversation for this listener"
                )
            if found.claimed:
                return session_id, Session(
                    listener_id=listener_id,
                    constraints=decode_constraints(found.state),
                    turns=found.turns,
                )
            if time.monotonic() > give_up:
                raise SessionBusyError(
                    f"another turn of session {session_id[:8]}… held it for more than "
                    f"{self.lease_s:.0f} s. Fix: retry; wait for an answer before the next turn"
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


def encode_constraints(constraints: Constraints | None) -> str:
    """A session's constraints as the JSON the store keeps ('' for none)."""
    if constraints is None:
        return ""
    return json.dumps(dataclasses.asdict(constraints), sort_keys=True)


def _tuples(value: Any) -> Any:
    """JSON lists back to the tuples a :class:`Constraints` holds (year spans are pairs)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def decode_constraints(text: str) -> Constraints | None:
    """The constraints :func:`encode_constraints` wrote; fields this code does not know (from
    a newer version on another replica) are left out."""
    if not text:
        return None
    from agent.request import Constraints

    known = {f.name for f in dataclasses.fields(Constraints)}
    raw: dict[str, Any] = json.loads(text)
    fields: dict[str, Any] = {k: _tuples(v) for k, v in raw.items() if k in known}
    return Constraints(**fields)


__all__ = [
    "DEFAULT_TTL_S",
    "MemorySessions",
    "Session",
    "SessionBusyError",
    "SessionListenerError",
    "SessionNotFoundError",
    "SessionStore",
    "decode_constraints",
    "encode_constraints",
]
