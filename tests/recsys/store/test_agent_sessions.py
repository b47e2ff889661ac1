"""Agent sessions in the store, on both backends: bound to a listener, expired on the store's
clock, held by one turn at a time, capped; and shared by every handle on one database."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.discovery import DiscoveryAgent
from agent.sessions import SessionListenerError, SessionNotFoundError, SessionStore
from recsys.errors import StoreError
from recsys.store import SqliteStore
from tests.agent.fakes import FakeBackend
from tests.recsys.store.conftest import Backend


class Clock:
    """The store's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _claim(store: object, sid: str, listener: str | None, holder: str, ttl_s: int = 60) -> object:
    return store.claim_session(  # type: ignore[attr-defined]
        sid, listener_id=listener, ttl_s=ttl_s, holder=holder, lease_s=30
    )


def test_a_session_is_bound_to_its_listener_and_expires_on_the_store_clock(
    backend: Backend,
) -> None:
    clock = Clock()
    store = backend.open(clock)
    assert store.keeps_sessions
    made = store.create_session(
        "s1", listener_id="u1", ttl_s=60, max_sessions=10, holder="h1", lease_s=30
    )
    assert made.claimed and made.turns == 0 and made.state == ""
    assert store.release_session("s1", holder="h1", state='{"a": 1}', turns=1)
    found = _claim(store, "s1", "u1", "h2")
    assert found is not None and found.claimed and found.state == '{"a": 1}' and found.turns == 1  # type: ignore[attr-defined]
    assert store.release_session("s1", holder="h2", state=None, turns=None)  # a failed turn
    other = _claim(store, "s1", "u2", "h3")
    assert other is not None and not other.claimed and other.listener_id == "u1"  # type: ignore[attr-defined]
    assert _claim(store, "never-issued", "u1", "h4") is None
    clock.advance(59)
    kept = _claim(store, "s1", "u1", "h5")  # a turn keeps it alive
    assert kept is not None and kept.turns == 1  # type: ignore[attr-defined]
    assert store.release_session("s1", holder="h5", state="{}", turns=2)
    assert store.live_sessions(60) == 1
    clock.advance(61)
    assert store.live_sessions(60) == 0
    assert _claim(store, "s1", "u1", "h6") is None
    assert _claim(store, "s1", "u2", "h7") is None  # expired: not found, whoever asks


def test_one_turn_holds_a_session_until_it_ends_or_its_lease_runs_out(backend: Backend) -> None:
    clock = Clock()
    store = backend.open(clock)
    store.create_session("s1", listener_id="u1", ttl_s=60, max_sessions=10, holder="a", lease_s=30)
    busy = _claim(store, "s1", "u1", "b")
    assert busy is not None and not busy.claimed  # type: ignore[attr-defined]
    clock.advance(31)  # "a" died mid-turn: its lease ran out
    taken = _claim(store, "s1", "u1", "b")
    assert taken is not None and taken.claimed  # type: ignore[attr-defined]
    assert not store.release_session("s1", holder="a", state="{}", turns=5)  # too late
    assert store.release_session("s1", holder="b", state="{}", turns=1)
    found = _claim(store, "s1", "u1", "c")
    assert found is not None and found.turns == 1  # type: ignore[attr-defined]


def test_sessions_without_a_listener_are_bound_to_none(backend: Backend) -> None:
    store = backend.open(Clock())
    store.create_session("s1", listener_id=None, ttl_s=60, max_sessions=10, holder="a", lease_s=1)
    store.release_session("s1", holder="a", state="", turns=1)
    assert _claim(store, "s1", None, "b").claimed  # type: ignore[attr-defined]
    assert not _claim(store, "s1", "u1", "c").claimed  # type: ignore[attr-defined]


def test_the_least_recently_used_idle_sessions_go_past_the_cap(backend: Backend) -> None:
    clock = Clock()
    store = backend.open(clock)
    for i in range(3):
        store.create_session(
            f"s{i}", listener_id="u1", ttl_s=600, max_sessions=2, holder=f"h{i}", lease_s=30
        )
        store.release_session(f"s{i}", holder=f"h{i}", state="", turns=1)
        clock.advance(1)
    # s0 went when s2 came; s1 is used again, so s3 pushes out s2.
    assert _claim(store, "s0", "u1", "x") is None
    assert _claim(store, "s1", "u1", "y").claimed  # type: ignore[attr-defined]
    store.release_session("s1", holder="y", state="", turns=2)
    clock.advance(1)
    store.create_session("s3", listener_id="u1", ttl_s=600, max_sessions=2, holder="z", lease_s=3)
    assert _claim(store, "s2", "u1", "w") is None
    assert store.live_sessions(600) == 2


def test_a_conversation_started_through_one_handle_goes_on_through_another(
    backend: Backend,
) -> None:
    """Two handles on one database are two serving processes (or replicas)."""
    first = DiscoveryAgent(FakeBackend(), sessions=SessionStore(store=backend.open()))
    second = DiscoveryAgent(FakeBackend(), sessions=SessionStore(store=backend.open()))
    opened = first.ask("indie or rap", listener_id="fan", k=4)
    follow = second.ask("less rap", listener_id="fan", session_id=opened.session_id, k=4)
    assert follow.session_id == opened.session_id and "rap" in follow.constraints.avoid
    assert "indie" in follow.constraints.genres + follow.constraints.prefer  # remembered
    again = first.ask(
        "and human artists only", listener_id="fan", session_id=opened.session_id, k=4
    )
    assert again.constraints.human_only and "rap" in again.constraints.avoid
    with pytest.raises(SessionListenerError, match="another listener"):
        second.ask("more rap", listener_id="purist", session_id=opened.session_id)
    with pytest.raises(SessionNotFoundError, match="never issued"):
        second.ask("more rap", listener_id="fan", session_id="made-up")


def test_turns_of_one_conversation_through_two_handles_run_one_after_the_other(
    backend: Backend,
) -> None:
    stores = [SessionStore(store=backend.open()) for _ in range(2)]
    with stores[0].turn(None, listener_id="u1") as (sid, session):
        session.turns = 1
    errors: list[BaseException] = []

    def turns(sessions: SessionStore) -> None:
        try:
            for _ in range(5):
                with sessions.turn(sid, listener_id="u1") as (_, s):
                    s.turns += 1
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=turns, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with stores[1].turn(sid, listener_id="u1") as (_, s):
        assert s.turns == 11  # no turn was lost to another's


def test_session_writes_leave_sqlite_flushing_every_other_write(tmp_path: Path) -> None:
    """Session turns commit without a flush to disk; the ledgers' writes still flush."""
    store = SqliteStore(tmp_path / "liner.db")
    try:
        store.create_session(
            "s1", listener_id="u1", ttl_s=60, max_sessions=9, holder="h", lease_s=1
        )
        with pytest.raises(StoreError):
            store.execute_sql("SELECT * FROM no_such_table")
        assert store.release_session("s1", holder="h", state="", turns=1)
        assert store._conn().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        store.close()


def test_expired_sessions_leave_the_store_when_any_session_is_claimed(backend: Backend) -> None:
    clock = Clock()
    store = backend.open(clock)
    for sid in ("s1", "s2", "s3"):
        store.create_session(
            sid, listener_id="u1", ttl_s=60, max_sessions=10, holder="h", lease_s=30
        )
        assert store.release_session(sid, holder="h", state="{}", turns=1)
    clock.advance(40)
    assert _claim(store, "s3", "u1", "h2") is not None  # s3 used again: alive
    assert store.release_session("s3", holder="h2", state="{}", turns=2)
    clock.advance(30)  # s1 and s2 idle for 70 s, s3 for 30 s
    assert _claim(store, "never-issued", "u1", "h3") is None
    with store._session_write() as (cur, _now):  # type: ignore[attr-defined]
        left = [r[0] for r in cur.execute("SELECT session_id FROM agent_sessions").fetchall()]
    assert left == ["s3"]
