"""Any failure of the LLM planner falls back to the rule planner, with a note the listener sees
(JSON and text): a hung endpoint, an HTTP error, junk bodies, malformed tool calls, a bug."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from agent.cli import _print_answer
from agent.discovery import DiscoveryAgent
from agent.llm_planner import LlmPlanner
from agent.plan import Plan
from agent.request import Constraints
from tests.agent.fakes import FakeBackend


def _http(status: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
    return (
        head.encode() + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
    )


REPLIES = {
    "hangs": None,
    "http-500": _http("500 Internal Server Error", b'{"error": "overloaded"}'),
    "not-json": _http("200 OK", b"<html>gateway</html>"),
    "wrong-shape": _http("200 OK", b'{"choices": "none"}'),
    "bad-arguments": _http(
        "200 OK",
        b'{"choices": [{"message": {"tool_calls": [{"function": {"name": "search_tracks", '
        b'"arguments": "{not json"}}]}}]}',
    ),
    "half-a-body": b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"choices": [',
}


@pytest.fixture
def endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    reply: bytes | None = REPLIES[request.param]
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            conn.recv(65536)
            if reply is None:
                held.append(conn)  # never answers: the planner's timeout must fire
                continue
            conn.sendall(reply)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}/v1"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    srv.close()


@pytest.mark.parametrize("endpoint", list(REPLIES), indirect=True)
def test_a_failing_endpoint_falls_back_with_a_note(
    endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    planner = LlmPlanner(base_url=endpoint, model="m", timeout_s=0.5)
    answer = DiscoveryAgent(FakeBackend(), planner=planner).ask("calm ambient, no AI", k=4)
    assert answer.planner == "rules" and len(answer.items) == 4
    assert answer.notes and "planner 'llm' failed" in answer.notes[0]
    assert "used the rule planner" in answer.notes[0]
    _print_answer(answer.to_json())
    assert "note: planner 'llm' failed" in capsys.readouterr().out


def test_a_planner_bug_falls_back_too() -> None:
    class Broken:
        name = "custom"

        def plan(self, message: str, constraints: Constraints, known: bool, k: int) -> Plan:
            raise ZeroDivisionError("division by zero")

    answer = DiscoveryAgent(FakeBackend(), planner=Broken()).ask("upbeat indie", k=3)
    assert answer.planner == "rules" and len(answer.items) == 3
    assert "planner 'custom' failed (division by zero)" in answer.notes[0]
