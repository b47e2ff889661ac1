"""Conversation sessions the server creates, binds to their listener and expires.

A session id is never chosen by a client: :meth:`SessionStore.create` mints an unguessable
one for the listener of the first turn. A later turn must name the same listener; an id the
store never issued, or one idle longer than the TTL, is refused with a message saying what
to do (send no session id to start a new conversation).

Example:
    >>> store = SessionStore(ttl_s=1800)
    >>> sid, session = store.open(None, listener_id="u1")      # a new conversation
    >>> store.open(sid, listener_id="u1")[1] is session         # the next turn
    >>> store.open(sid, listener_id="u2")                       # PermissionDeniedError
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from recsys.errors import NotFoundError, PermissionDeniedError

if TYPE_CHECKING:
    from agent.request import Constraints

DEFAULT_TTL_S = 1800
"""Idle seconds after which a session expires (30 minutes)."""
DEFAULT_MAX_SESSIONS = 10_000
"""Live sessions kept; past this the least recently used is dropped."""
ID_BYTES = 18
"""Random bytes in a session id (24 URL-safe characters): not guessable, not enumerable."""


class SessionNotFoundError(NotFoundError):
    """The session id was never issued by this server, or it expired (NOT_FOUND)."""


class SessionListenerError(PermissionDeniedError):
    """The session belongs to another listener (PERMISSION_DENIED)."""


@dataclass
class Session:
    """One conversation: whose it is, what it has asked so far, when it was last used."""

    listener_id: str | None
    last_used: float
    constraints: Constraints | None = None
    turns: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class SessionStore:
    """Server-side sessions with an idle TTL and a size bound (thread-safe).

    Args:
        ttl_s: idle seconds before a session expires.
        max_sessions: live sessions kept (least recently used dropped first).
        clock: monotonic seconds (tests pass a fake).
    """

    def __init__(
        self,
        ttl_s: int = DEFAULT_TTL_S,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_s <= 0 or max_sessions <= 0:
            raise ValueError("ttl_s and max_sessions must be positive")
        self.ttl_s = ttl_s
        self.max_sessions = max_sessions
        self._clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def _expire(self, now: float) -> None:
        while self._sessions:
            sid, oldest = next(iter(self._sessions.items()))
            if now - oldest.last_used <= self.ttl_s:
                break
            del self._sessions[sid]

    def open(self, session_id: str | None, *, listener_id: str | None) -> tuple[str, Session]:
        """The session of a turn: a new one when ``session_id`` is empty, else the issued one.

        Raises:
            SessionNotFoundError: the id was never issued here or has expired.
            SessionListenerError: the session was created for another listener.
        """
        now = self._clock()
        with self._lock:
            self._expire(now)
            if not session_id:
                sid = secrets.token_urlsafe(ID_BYTES)
                session = Session(listener_id=listener_id, last_used=now)
                self._sessions[sid] = session
                while len(self._sessions) > self.max_sessions:
                    self._sessions.popitem(last=False)
                return sid, session
            found = self._sessions.get(session_id)
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
            found.last_used = now
            self._sessions.move_to_end(session_id)
            return session_id, found


__all__ = [
    "DEFAULT_TTL_S",
    "Session",
    "SessionListenerError",
    "SessionNotFoundError",
    "SessionStore",
]
