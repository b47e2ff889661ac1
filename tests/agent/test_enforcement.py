"""The listener's constraints hold whatever the planner did: the executor re-applies them,
blocked artists are checked on every credit, and a failing LLM endpoint falls back."""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Iterator

import pytest

from agent.discovery import DiscoveryAgent
from agent.llm_planner import LlmPlanner
from agent.lookup import item_card
from agent.pipeline_backend import PipelineBackend
from recsys.domain import Credit, CreditRole
from recsys.pipeline import PipelineRecommender
from recsys.pipeline.catalog import CatalogSnapshot
from tests.agent.fakes import FakeBackend
from tests.agent.test_llm_planner import Scripted, endpoint, tool_call  # noqa: F401 (fixture)
from tests.recsys.pipeline.world import make_world

NO_AI = [
    "rap without any AI",
    "energetic rap, nothing AI-generated",
    "rap, no artificial intelligence",
    "rap made by humans",
    "exclude AI, rap",
    "AI-free rap please",
    "rap but keep the robots out",
    "I don't want anything a machine made, rap",
    "rap. AI? nah",
    "rap sin IA",
    "Rap ohne KI bitte",
    "rap, real ppl only",
    "rap but no ai slop",
    "rap, and the AI stuff... eh",
]


def cards(answer) -> list[dict]:
    return [item_card(i) for i in answer.items]


@pytest.mark.parametrize("message", NO_AI)
def test_no_phrasing_of_no_ai_returns_ai_generated_tracks(message: str) -> None:
    answer = DiscoveryAgent(FakeBackend()).ask(message, listener_id="fan", k=12)
    assert answer.items
    assert all(c["ai_label"]["involvement"] != "GENERATED" for c in cards(answer))
    assert "AI" in answer.summary


def test_a_plan_that_skips_the_filter_still_meets_the_constraints(endpoint: str) -> None:  # noqa: F811
    Scripted.script = [
        tool_call("search_tracks", query="rap", k=100, into="search"),
        tool_call("merge", sources=["search"], into="ranked"),
    ]
    agent = DiscoveryAgent(FakeBackend(), planner=LlmPlanner(base_url=endpoint, model="m"))
    answer = agent.ask("rap, human artists only", listener_id="fan", k=5)
    assert answer.planner == "llm"
    assert 0 < len(answer.items) <= 5
    for c in cards(answer):
        assert c["ai_label"]["involvement"] != "GENERATED"
        assert all(cr["kind"] == "human" for cr in c["credits"])
    assert any("did not meet your constraints" in n for n in answer.notes)


@pytest.fixture
def closing_endpoint() -> Iterator[str]:
    """A server that accepts the connection and closes it without answering."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    stop = threading.Event()

    def serve() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            conn.recv(65536)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}/v1"
    stop.set()
    thread.join(2)
    srv.close()


def test_an_endpoint_that_closes_the_connection_falls_back(closing_endpoint: str) -> None:
    planner = LlmPlanner(base_url=closing_endpoint, model="m", timeout_s=5)
    answer = DiscoveryAgent(FakeBackend(), planner=planner).ask("calm ambient", k=5)
    assert answer.planner == "rules" and answer.items
    assert "failed" in answer.notes[0]


def test_tempo_bound_excludes_tracks_without_a_tempo_and_says_how_many() -> None:
    backend = FakeBackend()
    unknown = {t for t in backend.tempo if t.startswith("jazz-t0")}
    for t in unknown:
        del backend.tempo[t]
    answer = DiscoveryAgent(backend).ask("smooth jazz at most 150 BPM", listener_id="fan", k=10)
    assert answer.constraints.tempo_max == 150.0
    assert answer.items and not unknown & {c["track_id"] for c in cards(answer)}
    assert all(c["tempo_bpm"] is not None and c["tempo_bpm"] <= 150 for c in cards(answer))
    assert "no measured tempo left out" in answer.summary
    assert f"({len(unknown)} candidates with no measured tempo" in answer.summary


def test_blocked_artist_is_checked_on_every_credit() -> None:
    world = make_world()
    # u4 blocks a1_1; credit a1_1 as featured on one of a1_0's tracks.
    track = world.store.tracks["t1_0_0"]
    world.store.tracks["t1_0_0"] = dataclasses.replace(
        track,
        credits=(
            Credit(artist_id="a1_0", share=0.5),
            Credit(artist_id="a1_1", share=0.5, role=CreditRole.FEATURED),
        ),
    )
    catalog = CatalogSnapshot.build(
        track_ids=world.spaces.track_ids,
        tracks=world.store.tracks,
        artists=world.store.iter_artists(),
    )
    rec = PipelineRecommender(spaces=world.spaces, catalog=catalog, store=world.store)
    backend = PipelineBackend(rec)
    assert backend.permitted(["t1_0_0", "t1_0_1"], "u4") == ["t1_0_1"]
    assert backend.permitted(["t1_0_0"], "u0") == ["t1_0_0"]


def test_a_request_that_matches_nothing_says_so() -> None:
    agent = DiscoveryAgent(FakeBackend())
    answer = agent.ask("pfff wvwv kjkj", listener_id="fan", k=5)
    assert answer.items == () and "matches" in answer.notes[0]
    assert agent.ask("surprise me", listener_id="fan", k=5).items
