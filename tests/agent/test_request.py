"""Parsing words into constraints, and follow-ups that edit the previous turn."""

from __future__ import annotations

import pytest

from agent.request import VocabularyMatcher, parse_request
from tests.agent.fakes import FakeBackend


@pytest.fixture
def matcher() -> VocabularyMatcher:
    return VocabularyMatcher(FakeBackend())


def test_no_ai_is_a_rule_not_a_dislike(matcher: VocabularyMatcher) -> None:
    c = parse_request("smooth jazz, no AI", matcher)
    assert c.no_ai_generated and not c.human_only
    assert c.avoid == ()
    assert "jazz" in c.genres and "smooth" in c.prefer


@pytest.mark.parametrize(
    ("message", "tempo_min", "tempo_max"),
    [
        ("upbeat indie for a run", 115.0, None),
        ("calm ambient to sleep", None, 105.0),
        ("rap at 140 bpm", 130.0, 150.0),
    ],
    ids=["fast", "slow", "bpm"],
)
def test_tempo_words(
    matcher: VocabularyMatcher, message: str, tempo_min: float | None, tempo_max: float | None
) -> None:
    c = parse_request(message, matcher)
    assert (c.tempo_min, c.tempo_max) == (tempo_min, tempo_max)


def test_more_upbeat_after_chill_lifts_the_ceiling(matcher: VocabularyMatcher) -> None:
    first = parse_request("calm ambient", matcher)
    second = parse_request("more upbeat", matcher, first)
    assert second.tempo_max is None and second.tempo_min == 90.0
    assert "calm" not in second.prefer and "upbeat" in second.prefer
    assert "ambient" in second.genres


def test_less_and_only_follow_ups_keep_earlier_constraints(matcher: VocabularyMatcher) -> None:
    first = parse_request("indie or rap from the 2000s, human artists only", matcher)
    second = parse_request("less rap", matcher, first)
    third = parse_request("only new artists", matcher, second)
    assert "rap" in third.avoid and "rap" not in third.genres
    assert third.human_only and third.new_artists
    assert (third.year_min, third.year_max) == (2000, 2009)


def test_new_request_in_session_starts_over(matcher: VocabularyMatcher) -> None:
    first = parse_request("rap, human artists only", matcher)
    fresh = parse_request("smooth jazz", matcher, first)
    assert not fresh.human_only and "rap" not in fresh.genres


def test_like_phrase_becomes_a_seed(matcher: VocabularyMatcher) -> None:
    c = parse_request("something like Indie Artist 0 but calmer", matcher)
    assert c.like == ("Indie Artist 0",)
