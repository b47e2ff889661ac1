"""Server-created sessions: minted for a listener, refused for others and when unknown or idle."""

from __future__ import annotations

import pytest

from agent.discovery import DiscoveryAgent
from agent.sessions import SessionListenerError, SessionNotFoundError, SessionStore
from tests.agent.fakes import FakeBackend


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_ids_are_minted_bound_and_expire() -> None:
    clock = Clock()
    store = SessionStore(ttl_s=60, clock=clock)
    sid, first = store.open(None, listener_id="u1")
    other, _ = store.open("", listener_id="u1")
    assert len(sid) >= 24 and sid != other
    assert store.open(sid, listener_id="u1")[1] is first
    with pytest.raises(SessionListenerError, match=r"another listener.*empty session_id"):
        store.open(sid, listener_id="u2")
    with pytest.raises(SessionNotFoundError, match="never issued"):
        store.open("made-up-by-the-client", listener_id="u1")
    clock.now += 59
    store.open(sid, listener_id="u1")  # a turn keeps it alive
    clock.now += 61
    with pytest.raises(SessionNotFoundError, match="idle for more than 60 s"):
        store.open(sid, listener_id="u1")
    assert len(store) == 0


def test_oldest_session_goes_when_full() -> None:
    store = SessionStore(max_sessions=2)
    a, _ = store.open(None, listener_id="u1")
    b, _ = store.open(None, listener_id="u1")
    store.open(a, listener_id="u1")  # a is now the most recent
    store.open(None, listener_id="u1")
    store.open(a, listener_id="u1")
    with pytest.raises(SessionNotFoundError):
        store.open(b, listener_id="u1")


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
