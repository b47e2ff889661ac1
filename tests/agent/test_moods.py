"""Mood and activity words read through families of synonyms, in the catalog's own spelling
(the test catalog's moods: upbeat, melancholic, energetic, calm; no text model)."""

from __future__ import annotations

import pytest

from agent.moods import FAMILIES, family_tag
from agent.request import VocabularyMatcher, parse_request
from tests.agent.fakes import FakeBackend


@pytest.fixture
def matcher() -> VocabularyMatcher:
    return VocabularyMatcher(FakeBackend())


@pytest.mark.parametrize(
    ("word", "tag"),
    [("happy", "upbeat"), ("cheerful", "upbeat"), ("gloomy", "melancholic"), ("sad", "melancholic"),
     ("energizing", "energetic"), ("lively", "energetic")],
)  # fmt: skip
def test_a_mood_word_is_the_catalog_tag_of_its_family(
    matcher: VocabularyMatcher, word: str, tag: str
) -> None:
    assert matcher.match([word]) == [tag]


def test_the_catalog_spelling_wins_and_its_own_tags_are_not_remapped() -> None:
    tags = {"happy", "sad", "dark"}
    exact = {t: t for t in tags}.get
    assert family_tag("cheerful", exact) == "happy"  # no "upbeat" in this catalog
    assert family_tag("happy", exact) is None  # a tag of the catalog stays itself
    assert family_tag("gloomy", exact) == "sad"
    assert family_tag("brooding", exact) == "dark"
    assert family_tag("spreadsheet", exact) is None


def test_wanted_and_excluded_moods(matcher: VocabularyMatcher) -> None:
    c = parse_request("happy songs, nothing gloomy", matcher)
    assert "upbeat" in c.prefer and c.avoid == ("melancholic",)


def test_no_word_is_in_two_families() -> None:
    words = [w for f in FAMILIES for w in f[1:]]
    assert len(words) == len(set(words))
