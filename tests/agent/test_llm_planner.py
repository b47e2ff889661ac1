"""The LLM planner against a local chat-completions server that returns scripted tool calls."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from agent.discovery import DiscoveryAgent
from agent.llm_planner import LlmPlanner
from agent.lookup import item_card
from tests.agent.fakes import FORBIDDEN, FakeBackend


def tool_call(name: str, **args: Any) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


class Scripted(BaseHTTPRequestHandler):
    script: ClassVar[list[dict[str, Any]]] = []
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Scripted.seen.append(body)
        payload = json.dumps(
            {"choices": [{"message": {"role": "assistant", "tool_calls": Scripted.script}}]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), Scripted)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


def test_llm_plan_runs_through_the_same_tools_and_guardrails(endpoint: str) -> None:
    Scripted.script = [
        tool_call("search_tracks", query="upbeat indie guitar", k=50, into="search"),
        tool_call("personal_recommendations", into="personal"),
        tool_call("merge", sources=["search", "personal"], into="pool"),
        tool_call("rank_candidates", source="pool", into="ranked", prefer=["upbeat"], k=10),
    ]
    agent = DiscoveryAgent(FakeBackend(), planner=LlmPlanner(base_url=endpoint, model="m"))
    answer = agent.ask("upbeat indie", listener_id="fan", k=10)
    assert answer.planner == "llm"
    assert [t.tool for t in answer.trace] == [
        "search_tracks",
        "personal_recommendations",
        "merge",
        "rank_candidates",
    ]
    assert answer.items and not FORBIDDEN & {item_card(i)["track_id"] for i in answer.items}
    request = Scripted.seen[-1]
    assert request["model"] == "m"
    assert {t["function"]["name"] for t in request["tools"]} >= {"search_tracks", "similar"}


def test_invalid_llm_plan_falls_back_to_rules_with_a_note(endpoint: str) -> None:
    Scripted.script = [tool_call("drop_all_filters", everything=True)]
    agent = DiscoveryAgent(FakeBackend(), planner=LlmPlanner(base_url=endpoint, model="m"))
    answer = agent.ask("calm ambient", listener_id="fan", k=5)
    assert answer.planner == "rules"
    assert "unknown tool 'drop_all_filters'" in answer.notes[0]
    assert answer.items


def test_unreachable_endpoint_falls_back() -> None:
    agent = DiscoveryAgent(
        FakeBackend(), planner=LlmPlanner(base_url="http://127.0.0.1:9/v1", model="m", timeout_s=2)
    )
    answer = agent.ask("calm ambient", listener_id="fan", k=5)
    assert answer.planner == "rules" and "failed" in answer.notes[0]
