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
    "#noAI rap",
    "NOAI rap",
    "rap, nothing made by AIs",
    "rap, no ChatGPT music",
    "rap without A I",
    "AI–free rap",
    "rap, please nothing that a model spat out",
    "rap. generated, assisted, whatever - if AI was involved, I don't want it",
    "I've had it with AI tracks, rap please",
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


def test_the_executor_reapplies_every_constraint_to_any_candidate_list() -> None:
    """Whatever set a plan hands over (forbidden tracks, repeats, unknown ids, more than k),
    :func:`agent.enforce.enforce_constraints` keeps exactly the tracks that meet every hard
    constraint, in the plan's order, at most k: checked against the facts independently."""
    from agent.bus import Candidate, CandidateBus
    from agent.enforce import enforce_constraints
    from agent.request import Constraints
    from agent.tools import ToolContext
    from recsys.domain import AiInvolvement, AiPart, Provenance

    backend = FakeBackend()
    tracks = backend.tracks
    # An AI-assisted track with AI vocals, a blocked artist featured on a human track, and a
    # track whose tempo was never measured.
    tracks["jazz-t01"] = dataclasses.replace(
        tracks["jazz-t01"],
        provenance=Provenance(ai_involvement=AiInvolvement.ASSISTED, ai_parts=(AiPart.VOCALS,)),
    )
    tracks["jazz-t02"] = dataclasses.replace(
        tracks["jazz-t02"],
        credits=(
            *tracks["jazz-t02"].credits,
            Credit(artist_id="rap-a1", role=CreditRole.FEATURED, share=0.2),
        ),
    )
    del backend.tempo["jazz-t03"]
    order = sorted(tracks, key=lambda t: (t[::-1], t))  # an arbitrary plan order
    cands = [Candidate(track_id=t, score=1.0) for t in [*order, *order[:5], "no-such-track"]]
    ctx = ToolContext(backend=backend, bus=CandidateBus(), listener_id="fan")

    def allowed(c: Constraints, t: str) -> bool:
        track, tempo = tracks[t], backend.tempo.get(t)
        year = track.release_date.year if track.release_date else None
        ai = track.provenance.ai_involvement
        human = all(backend.artists[a].kind.value == "human" for a in track.artist_ids)
        lo, hi = c.tempo_min, c.tempo_max
        unmeasured_ok = tempo is None and c.tempo_soft
        return all(
            (
                t in backend.permitted([t], "fan"),
                not c.no_ai_any or ai is AiInvolvement.NONE,
                not c.no_ai_generated or ai is not AiInvolvement.GENERATED,
                not c.no_ai_vocals or AiPart.VOCALS not in track.provenance.ai_parts,
                not c.human_only or human,
                lo is None or unmeasured_ok or (tempo is not None and tempo >= lo),
                hi is None or unmeasured_ok or (tempo is not None and tempo <= hi),
                c.year_min is None or (year is not None and year >= c.year_min),
                c.year_max is None or (year is not None and year <= c.year_max),
                not set(c.avoid) & {*track.tags, track.genre},
                not set(c.blocked_artist_ids) & set(track.artist_ids),
            )
        )

    cases = [
        Constraints(no_ai_generated=True, no_ai_vocals=True, blocked_artist_ids=("rap-a1",)),
        Constraints(no_ai_generated=True, no_ai_any=True, tempo_min=85, tempo_max=125),
        Constraints(human_only=True, no_ai_generated=True, year_min=2003, year_max=2012),
        Constraints(avoid=("urban",), tempo_max=105, tempo_soft=True),
        Constraints(avoid=("urban",), tempo_max=105),
    ]
    for c in cases:
        for k in (3, 100):
            kept = [x.track_id for x in enforce_constraints(ctx, c, cands, k).kept]
            want = [t for t in dict.fromkeys(order) if allowed(c, t)][:k]
            assert kept == want, c
    # The cases reach what they are about (so the checks above cannot pass vacuously).
    soft = [x.track_id for x in enforce_constraints(ctx, cases[3], cands, None).kept]
    hard = [x.track_id for x in enforce_constraints(ctx, cases[4], cands, None).kept]
    assert "jazz-t03" in soft and "jazz-t03" not in hard
    first = [x.track_id for x in enforce_constraints(ctx, cases[0], cands, None).kept]
    assert "jazz-t01" not in first and "jazz-t02" not in first and "jazz-t00" in first
