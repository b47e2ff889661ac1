"""Artists the request itself excludes ("no Drake", "nothing by X", "sin X") are resolved to
catalog artists, enforced on every credit after any plan, and stated in the summary; a name
that is no artist in the catalog is said so; "no AI", "no vocals" and genres are not names."""

from __future__ import annotations

import dataclasses

import pytest

from agent.discovery import AgentAnswer, DiscoveryAgent
from agent.llm_planner import LlmPlanner
from agent.lookup import item_card
from agent.request import VocabularyMatcher, parse_request
from recsys.domain import Credit, CreditRole
from tests.agent.fakes import FakeBackend
from tests.agent.test_llm_planner import Scripted, endpoint, tool_call  # noqa: F401 (fixture)


def featuring_backend() -> FakeBackend:
    """The fake catalog with Indie Artist 1 featured on one of Indie Artist 0's tracks."""
    backend = FakeBackend()
    t = backend.tracks["indie-t00"]
    backend.tracks["indie-t00"] = dataclasses.replace(
        t,
        credits=(
            Credit(artist_id="indie-a0", share=0.5),
            Credit(artist_id="indie-a1", share=0.5, role=CreditRole.FEATURED),
        ),
    )
    return backend


def credited(answer: AgentAnswer) -> set[str]:
    return {cr["artist_id"] for i in answer.items for cr in item_card(i)["credits"]}


@pytest.mark.parametrize(
    "message",
    [
        "indie, but no Indie Artist 1",
        "indie, nothing by indie artist 1",
        "anything but Indie Artist 1, indie please",
        "skip Indie Artist 1, some indie",
        "indie guitar, not Indie Artist 1 please",
        "indie sin Indie Artist 1",
        "indie, pas de Indie Artist 1",
        "indie ohne Indie Artist 1",
        "indie, no ÍNDIE ARTIST 1",  # case and accents
        "indie, no Indie Аrtist 1",  # Cyrillic А
        "I'm sick of Indie Artist 1, give me indie",
    ],
)
def test_a_named_artist_is_blocked_on_every_credit(message: str) -> None:
    answer = DiscoveryAgent(featuring_backend()).ask(message, listener_id="fan", k=12)
    assert answer.constraints.blocked_artist_ids == ("indie-a1",), message
    assert answer.items
    assert "indie-a1" not in credited(answer)  # not as primary, not as featured
    assert "indie-t00" not in {i.track.track_id for i in answer.items}
    assert "Indie Artist 1" in answer.summary


def test_the_block_holds_when_the_plan_skips_the_filter(endpoint: str) -> None:  # noqa: F811
    Scripted.script = [
        tool_call("search_tracks", query="indie", k=100, into="search"),
        tool_call("merge", sources=["search"], into="ranked"),
    ]
    agent = DiscoveryAgent(featuring_backend(), planner=LlmPlanner(base_url=endpoint, model="m"))
    answer = agent.ask("indie but nothing by Indie Artist 1", listener_id="fan", k=10)
    assert answer.planner == "llm" and answer.items
    assert "indie-a1" not in credited(answer)


def test_the_block_lasts_into_a_follow_up() -> None:
    agent = DiscoveryAgent(featuring_backend())
    first = agent.ask("indie, no Indie Artist 1", listener_id="fan", k=10)
    again = agent.ask("more upbeat", listener_id="fan", k=10, session_id=first.session_id)
    assert again.constraints.blocked_artist_ids == ("indie-a1",)
    assert "indie-a1" not in credited(again)


def test_a_name_that_is_no_artist_in_the_catalog_is_said_so() -> None:
    answer = DiscoveryAgent(FakeBackend()).ask("indie, no Drake", listener_id="fan", k=5)
    assert answer.constraints.unknown_artists == ("Drake",)
    assert answer.constraints.blocked_artist_ids == ()
    assert any("'Drake' is not an artist in this catalog" in n for n in answer.notes)
    assert "Drake" in answer.summary
    assert answer.items  # the rest of the request still answered


@pytest.mark.parametrize(
    "message",
    [
        "no AI",
        "No AI, no vocals",
        "no rap and no country",
        "anything but jazz",
        "No Suno or Udio stuff",
        "nothing AI-generated",
        "not too fast please",
        "no human-only filter needed",
        "skip the intros, just bangers",
        "not sure about AI",
        "no more than 100 bpm",
    ],
)
def test_rules_genres_and_words_are_not_artist_names(message: str) -> None:
    c = parse_request(message, VocabularyMatcher(FakeBackend()))
    assert c.blocked_artist_ids == () and c.unknown_artists == (), (message, c)


def test_a_blocked_name_is_not_read_as_a_tag_or_an_ai_rule() -> None:
    backend = FakeBackend()
    backend.artists["indie-a1"] = dataclasses.replace(backend.artists["indie-a1"], name="Nova AI")
    c = parse_request("indie but no Nova AI", VocabularyMatcher(backend))
    assert c.blocked_artist_ids == ("indie-a1",)
    assert not c.no_ai_generated and not c.avoid


def test_several_names_in_one_request() -> None:
    c = parse_request(
        "jazz, no Indie Artist 1 and no Rap Artist 0, not Drake",
        VocabularyMatcher(FakeBackend()),
    )
    assert set(c.blocked_artist_ids) == {"indie-a1", "rap-a0"}
    assert c.unknown_artists == ("Drake",)


def test_a_band_named_without_its_article_is_found() -> None:
    backend = FakeBackend()
    backend.artists["jazz-a1"] = dataclasses.replace(
        backend.artists["jazz-a1"], name="The Velvet Foxes"
    )
    c = parse_request("jazz minus Velvet Foxes", VocabularyMatcher(backend))
    assert c.blocked_artist_ids == ("jazz-a1",) and c.unknown_artists == ()
