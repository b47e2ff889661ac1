"""Converse: server-created sessions bound to their listener, and the same item as Recommend."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import grpc
import pytest

from agent.discovery import AgentAnswer, DiscoveryAgent
from agent.request import Constraints
from recsys.api.answers import ITEM_KEYS, answer_json, item_json
from recsys.pipeline.api import AudioFacts, RecommendRequest
from tests.agent.fakes import FakeBackend
from tests.recsys.service.conftest import Running, code_of
from tests.recsys.service.fakes import ARTISTS, FakeRecommender

OK = grpc.StatusCode


def details_of(fn: Callable[[], Any]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        fn()
    return info.value.code(), info.value.details()  # type: ignore[attr-defined]


def test_sessions_are_created_by_the_server_and_bound_to_the_listener(
    start_server: Callable[..., Running],
) -> None:
    running = start_server(conversation=DiscoveryAgent(FakeBackend()))
    with running.client(timeout=30) as client:
        first = client.converse("fan", "indie or rap", k=4)
        assert len(first.session_id) >= 24 and first.session_ttl_s > 0
        assert len(first.items) == 4 and first.planner == "rules"
        follow = client.converse("fan", "less rap", session_id=first.session_id, k=3)
        assert follow.session_id == first.session_id and len(follow.items) == 3
        assert "rap" in answer_json(follow)["constraints"]["avoid"]
        code, why = details_of(
            lambda: client.converse("purist", "more rap", session_id=first.session_id)
        )
        assert code is OK.PERMISSION_DENIED and "empty session_id" in why and "fan" not in why
        code, why = details_of(lambda: client.converse("fan", "jazz", session_id="my-own-id"))
        assert code is OK.NOT_FOUND and "never issued" in why and "empty session_id" in why
        assert code_of(lambda: client.converse("fan", "jazz", k=51)) is OK.INVALID_ARGUMENT


def test_converse_and_recommend_serve_the_same_item(start_server: Callable[..., Running]) -> None:
    rec = FakeRecommender()
    audio = AudioFacts(tempo_bpm=98.5, key="A minor", loudness_db=-11.2, energy=0.31)

    class Agent:
        def ask(self, message: str, *, listener_id: str, session_id: str | None, k: int) -> Any:
            slate = rec.recommend(RecommendRequest(listener_id=listener_id, k=k))
            items = tuple(replace(i, audio=audio) for i in slate.items)
            return AgentAnswer(
                request_id="r1", session_id="s1", summary="", items=items, trace=(),
                planner="rules", constraints=Constraints(human_only=True), notes=("a note",),
            )  # fmt: skip

    running = start_server(rec, conversation=Agent())
    with running.client() as client:
        served = client.recommend("u1", k=3, explain=True)
        said = client.converse("u1", "anything", k=3)
    answer = answer_json(said)
    verified = {a.artist_id: a.verified for a in ARTISTS}
    seen_verified = False
    assert answer["notes"] == ["a note"] and answer["constraints"]["human_only"] is True
    for slate_item, agent_item in zip(served.items, said.items, strict=True):
        a, b = item_json(slate_item), item_json(agent_item)
        assert tuple(a) == tuple(b) == ITEM_KEYS
        same = ("track_id", "title", "genre", "tags", "release_date", "ai_label", "credits")
        assert {x: a[x] for x in same} == {x: b[x] for x in same}
        assert b["tempo_bpm"] == 98.5 and b["key"] == "A minor" and b["energy"] == 0.31
        assert all(c["verified"] is verified[c["artist_id"]] for c in b["credits"])
        seen_verified |= any(c["verified"] for c in b["credits"])
    assert seen_verified


def _cli(*args: str, env: dict[str, str] | None = None) -> Any:
    from click.testing import CliRunner

    from agent.cli import agent_command

    return CliRunner().invoke(agent_command, list(args), env=env, catch_exceptions=False)


def test_liner_agent_asks_a_running_service_with_the_local_answer_shape(
    start_server: Callable[..., Running], monkeypatch: pytest.MonkeyPatch
) -> None:
    import agent.cli

    loads: list[str] = []

    def local_agent(*_: Any) -> DiscoveryAgent:
        loads.append("local")
        return DiscoveryAgent(FakeBackend())

    monkeypatch.setattr(agent.cli, "load_agent", local_agent)
    running = start_server(conversation=DiscoveryAgent(FakeBackend()))
    port = running.target.rsplit(":", 1)[1]
    ask = ("calm ambient, no AI", "--listener", "fan", "--k", "4", "--json")
    remote = _cli(*ask, env={"LINER_HOST": "127.0.0.1", "LINER_PORT": port})  # found, not named
    assert remote.exit_code == 0 and not loads
    local = _cli(*ask, "--local")
    assert local.exit_code == 0 and loads == ["local"]
    assert "loading the pipeline here" in local.stderr and "answered in" in local.stderr
    a, b = json.loads(remote.stdout), json.loads(local.stdout)
    assert tuple(a) == tuple(b) and a["session_id"] and not b["session_id"]
    assert a["items"] == b["items"] and a["summary"] == b["summary"]
    assert all(tuple(i) == ITEM_KEYS for i in a["items"]) and len(a["items"]) == 4

    refused = _cli("more", "--listener", "fan", "--service", running.target, "--session", "x")
    assert refused.exit_code == 1 and "NOT_FOUND" in refused.output
    assert "drop --session" in refused.output

    nobody = _cli(*ask, env={"LINER_HOST": "127.0.0.1", "LINER_PORT": "1"})  # nothing there
    assert nobody.exit_code == 0 and loads == ["local", "local"]
