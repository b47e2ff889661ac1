"""Server-created sessions: minted for a listener, refused for others and when unknown or idle."""

from __future__ import annotations

import threading
import time

import pytest

from agent.discovery import DiscoveryAgent
from agent.sessions import (
    MemorySessions,
    SessionListenerError,
    SessionNotFoundError,
    SessionStore,
)
from tests.agent.fakes import FakeBackend


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _turn(store: SessionStore, sid: str | None, listener: str, turns: int = 1) -> str:
    """One turn that leaves ``turns`` answered turns; the session id."""
    with store.turn(sid, listener_id=listener) as (found, session):
        session.turns = turns
    return found


def test_ids_are_minted_bound_and_expire() -> None:
    clock = Clock()
    store = SessionStore(ttl_s=60, clock=clock)
    sid = _turn(store, None, "u1")
    other = _turn(store, "", "u1")
    assert len(sid) >= 24 and sid != other
    with store.turn(sid, listener_id="u1") as (same, session):
        assert same == sid and session.turns == 1 and session.listener_id == "u1"
    with pytest.raises(SessionListenerError, match=r"another listener.*empty session_id"):
        _turn(store, sid, "u2")
    with pytest.raises(SessionNotFoundError, match="never issued"):
        _turn(store, "made-up-by-the-client", "u1")
    clock.now += 59
    _turn(store, sid, "u1")  # a turn keeps it alive
    clock.now += 61
    with pytest.raises(SessionNotFoundError, match="idle for more than 60 s"):
        _turn(store, sid, "u1")
    assert len(store) == 0


def test_expired_sessions_are_dropped_on_any_access_not_only_on_create() -> None:
    clock = Clock()
    store = SessionStore(ttl_s=60, clock=clock)
    table = store.table
    assert isinstance(table, MemorySessions)
    old = [_turn(store, None, f"u{i}") for i in range(3)]
    clock.now += 30
    kept = _turn(store, None, "u9")
    clock.now += 45  # the first three are idle 75 s, the fourth 45 s
    assert table.stored() == 4
    _turn(store, kept, "u9")  # a turn of another conversation, no new session
    assert table.stored() == 1  # the expired ones' constraints are gone
    for sid in old:
        with pytest.raises(SessionNotFoundError):
            _turn(store, sid, "u0")
    clock.now += 61
    assert len(store) == 0 and table.stored() == 0  # counting purges too


def test_a_failed_turn_changes_nothing_and_the_next_turn_goes_on() -> None:
    store = SessionStore()
    sid = _turn(store, None, "u1", turns=1)
    with pytest.raises(RuntimeError), store.turn(sid, listener_id="u1") as (_, session):
        session.turns = 99
        raise RuntimeError("the planner broke")
    with store.turn(sid, listener_id="u1") as (_, session):  # not left held by the failure
        assert session.turns == 1


def test_a_turn_waits_for_the_turn_holding_its_session() -> None:
    store = SessionStore()
    sid = _turn(store, None, "u1")
    order: list[str] = []
    holding = threading.Event()

    def first() -> None:
        with store.turn(sid, listener_id="u1") as (_, session):
            holding.set()
            time.sleep(0.2)
            session.turns += 1
            order.append("first")

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(5)
    with store.turn(sid, listener_id="u1") as (_, session):
        order.append("second")
        assert session.turns == 2  # it saw the first turn's answer
    thread.join()
    assert order == ["first", "second"]


def test_a_turn_of_a_dead_process_is_taken_over_after_its_lease() -> None:
    clock = Clock()
    store = SessionStore(clock=clock, lease_s=30)
    sid = _turn(store, None, "u1")
    dead = store.table.claim_session(sid, listener_id="u1", ttl_s=60, holder="gone", lease_s=30)
    assert dead is not None and dead.claimed
    clock.now += 31
    assert _turn(store, sid, "u1", turns=2) == sid
    assert not store.table.release_session(sid, holder="gone", state="{}", turns=7)


def test_oldest_session_goes_when_full() -> None:
    clock = Clock()
    store = SessionStore(max_sessions=2, clock=clock)
    a = _turn(store, None, "u1")
    clock.now += 1
    b = _turn(store, None, "u1")
    clock.now += 1
    _turn(store, a, "u1")  # a is now the most recent
    clock.now += 1
    _turn(store, None, "u1")
    _turn(store, a, "u1")
    with pytest.raises(SessionNotFoundError):
        _turn(store, b, "u1")


def test_constraints_round_trip_and_unknown_fields_are_left_out() -> None:
    from agent.request import Constraints
    from agent.sessions import decode_constraints, encode_constraints

    c = Constraints(text="x", genres=("rock",), tempo_min=90.0, year_max=1999, human_only=True)
    assert decode_constraints(encode_constraints(c)) == c
    assert decode_constraints(encode_constraints(None)) is None
    assert decode_constraints('{"genres": ["jazz"], "from_a_newer_version": 1}') == Constraints(
        genres=("jazz",)
    )


def test_agent_refuses_a_session_it_did_not_issue_or_of_another_listener() -> None:
    agent = DiscoveryAgent(FakeBackend())
    first = agent.ask("indie or rap", listener_id="fan", k=4)
    assert first.session_id and first.session_ttl_s == agent.sessions.ttl_s
    again = agent.ask("less rap", listener_id="fan", session_id=first.session_id, k=4)
    assert again.session_id == first.session_id and "rap" in again.constraints.avoid
    with pytest.raises(SessionListenerError):
        agent.ask("more rap", listener_id="purist", session_id=first.session_id)
    with pytest.raises(SessionNotFoundError):
        agent.ask("more rap", listener_id="fan", session_id="s1")


def test_the_service_agent_keeps_sessions_over_a_reload_and_plans_as_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from types import SimpleNamespace

    import agent.pipeline_backend
    from agent.llm_planner import LlmPlanner
    from agent.planners import RulePlanner, configured_planner
    from recsys.service.live import LiveAgent
    from recsys.settings import LinerSettings

    assert isinstance(configured_planner(LinerSettings(llm_base_url=None)), RulePlanner)
    llm = configured_planner(LinerSettings(llm_base_url="http://127.0.0.1:9/v1", llm_model="x"))
    assert isinstance(llm, LlmPlanner) and llm.model == "x"

    monkeypatch.setattr(agent.pipeline_backend, "PipelineBackend", lambda *_: FakeBackend())
    loaded = SimpleNamespace(version="v1", recommender=object(), artifact_dir=None)
    live = LiveAgent(SimpleNamespace(current=lambda: loaded), planner=RulePlanner())  # type: ignore[arg-type]
    first = live.ask("indie or rap", listener_id="fan", session_id=None, k=3)
    loaded.version = "v2"  # a reload builds a new agent; the conversation goes on
    again = live.ask("less rap", listener_id="fan", session_id=first.session_id, k=3)
    assert again.session_id == first.session_id and "rap" in again.constraints.avoid
    assert again.planner == "rules"
