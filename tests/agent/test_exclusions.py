"""Exclusions phrased many ways, their scope and lists, and words that only look like one
(the test catalog: genres indie, ambient, rap, jazz; a trigram embedding, no model)."""

from __future__ import annotations

import pytest

from agent.exclusions import exclusion_scopes
from agent.request import VocabularyMatcher, parse_request
from agent.typos import fix_typos
from tests.agent.fakes import FakeBackend


@pytest.fixture
def matcher() -> VocabularyMatcher:
    return VocabularyMatcher(FakeBackend())


@pytest.mark.parametrize(
    ("message", "avoid"),
    [
        ("without jazz or ambient, anything else is fine", {"jazz", "ambient"}),
        ("not in the mood for rap", {"rap"}),
        ("a jazz-free evening", {"jazz"}),
        ("keep the ambient stuff out", {"ambient"}),
        ("indie and jazz are both off the table", {"indie", "jazz"}),
        ("spare me the rap", {"rap"}),
        ("I'm so over jazz", {"jazz"}),
        ("steer clear of indie", {"indie"}),
        ("everything apart from ambient", {"ambient"}),
        ("kindly refrain from including any tracks of the rap persuasion", {"rap"}),
        ("not in the mood for indie, jazz or rap, surprise me", {"indie", "jazz", "rap"}),
        ("no rap, jazz please", {"rap"}),
        ("anythign but rap", {"rap"}),
        ("skpi the jazz", {"jazz"}),
        ("tout sauf le jazz", {"jazz"}),
        # aversions before and after what they refuse
        ("I'm good on jazz tonight, thanks", {"jazz"}),
        ("hold off on the rap", {"rap"}),
        ("can we not do ambient", {"ambient"}),
        ("don't even think about playing indie", {"indie"}),
        ("I've had it with jazz", {"jazz"}),
        ("zero interest in rap", {"rap"}),
        ("I don't really like ambient", {"ambient"}),
        ("stop playing rap", {"rap"}),
        ("I'm bored of indie", {"indie"}),
        ("rule out anything ambient", {"ambient"}),
        ("jazz's not really my thing", {"jazz"}),
        ("rap bores me", {"rap"}),
        ("indie can stay in the past", {"indie"}),
        ("ambient? pass", {"ambient"}),
        ("rap excluded, anything else", {"rap"}),
    ],
)
def test_exclusions_phrased_many_ways(
    matcher: VocabularyMatcher, message: str, avoid: set[str]
) -> None:
    c = parse_request(message, matcher)
    assert set(c.avoid) == avoid
    assert not set(c.genres) & avoid


@pytest.mark.parametrize(
    ("message", "wanted"),
    [
        ("no doubt about it, I want indie", "indie"),
        ("without further ado, give me jazz", "jazz"),
        ("no skips, just solid rap", "rap"),
        ("nothing beats jazz", "jazz"),
        ("I never get tired of ambient", "ambient"),
        ("I don't hate rap, play it", "rap"),
        ("not only jazz but also indie", "jazz"),
        ("I'd never say no to a bit of indie", "indie"),
        ("songs like Minus the Bear, indie", "indie"),
    ],
)
def test_look_alikes_exclude_nothing(matcher: VocabularyMatcher, message: str, wanted: str) -> None:
    c = parse_request(message, matcher)
    assert c.avoid == ()
    assert wanted in c.genres


def test_an_excluded_word_is_no_tempo_word(matcher: VocabularyMatcher) -> None:
    assert parse_request("skip the ambient stuff", matcher).tempo_max is None
    assert parse_request("I'd rather not hear any ambient today", matcher).avoid == ("ambient",)


def test_an_excluded_tempo_is_the_other_tempo(matcher: VocabularyMatcher) -> None:
    c = parse_request("not in the mood for anything upbeat", matcher)
    assert (c.tempo_min, c.tempo_max, c.avoid) == (None, 105.0, ())
    c = parse_request("upbeat indie, and nothing faster than like 140 bpm", matcher)
    assert (c.tempo_min, c.tempo_max) == (115.0, 140.0)


def test_an_ai_refusal_does_not_swallow_what_follows(matcher: VocabularyMatcher) -> None:
    c = parse_request("no AI-generated tracks upbeat indie", matcher)
    assert c.no_ai_generated and c.tempo_min == 115.0 and "indie" in c.genres


@pytest.mark.parametrize(
    ("message", "years"),
    [
        ("nothing from before 2000", (2000, None)),
        ("skip anything released after 2010", (None, 2010)),
        (f"no {__import__('datetime').date.today().year // 10 * 10}s stuff", (None, None)),
    ],
)
def test_an_excluded_era_is_a_range(
    matcher: VocabularyMatcher, message: str, years: tuple[int | None, int | None]
) -> None:
    c = parse_request(message, matcher)
    decade = __import__("datetime").date.today().year // 10 * 10
    want = (None, decade - 1) if years == (None, None) else years
    assert (c.year_min, c.year_max) == want
    assert c.avoid == () and not c.unknown_artists


@pytest.mark.parametrize(
    ("message", "names"),
    [
        ("pop without Indie Artist 1 or Jazz Artist 2", {"Indie Artist 1", "Jazz Artist 2"}),
        ("not in the mood for Rap Artist 0 today", {"Rap Artist 0"}),
        ("todo menos Ambient Artist 1", {"Ambient Artist 1"}),
        ("leave Ambient Artist 0 off the list", {"Ambient Artist 0"}),
        ("without Adele or Indie Artist 2", {"Adele", "Indie Artist 2"}),
        ("skip the Beatles", {"The Beatles"}),
    ],
)
def test_artists_excluded_many_ways(
    matcher: VocabularyMatcher, message: str, names: set[str]
) -> None:
    c = parse_request(message, matcher)
    got = {*c.blocked_names, *c.unknown_artists}
    assert {n.removeprefix("The ") for n in got} == {n.removeprefix("The ") for n in names}
    assert c.tempo_max is None  # "Ambient" in a name is no tempo word


def test_nothing_with_words_names_no_artist(matcher: VocabularyMatcher) -> None:
    c = parse_request("soft music, nothing with words", matcher)
    assert not c.unknown_artists and c.avoid == ("words",)


def test_lists_stop_at_a_new_clause() -> None:
    (scope,) = exclusion_scopes("no rap, jazz please")
    assert scope.items == ("rap",)
    scopes = exclusion_scopes("no rap and no jazz, i'm at work")
    assert [s.items for s in scopes] == [("rap",), ("jazz",)]
    (scope,) = exclusion_scopes("spare me the drum-and-bass")
    assert scope.items == ("drum-and-bass",)


def test_typos_are_mended_only_to_one_known_word() -> None:
    tags = {"rock", "classical", "chill", "running"}.__contains__

    def exact(w: str) -> str | None:
        return w if tags(w) else None

    known = {"skip", "anything"}
    assert fix_typos("rokc and classicl, skpi anythign", exact, known) == (
        "rock and classical, skip anything"
    )
    assert fix_typos("chillll vibes", exact, known) == "chill vibes"
    # A mistyped letter is not mended: "ruining" is a word one letter from "running".
    assert fix_typos("ai is ruining it", exact, known) == "ai is ruining it"
    assert fix_typos("rock", exact, known) == "rock"


def test_the_learned_reading_masks_the_tag_in_its_clause() -> None:
    from agent.exclusion_model import masked_clause

    low = "rock please, but i am so done with metal tonight"
    start = low.index("metal")
    assert masked_clause(low, start, start + len("metal")) == "i am so done with this tonight"


def test_the_learned_reading_needs_its_text_model() -> None:
    from agent.exclusion_model import model_for

    backend = FakeBackend()  # a trigram embedding: the shipped weights are never read
    assert model_for(backend.embed_terms) is None


@pytest.mark.parametrize(
    "message", ["rap is for me", "I really like jazz", "I never get bored of indie"]
)
def test_liking_is_no_aversion(matcher: VocabularyMatcher, message: str) -> None:
    assert parse_request(message, matcher).avoid == ()


@pytest.mark.parametrize(
    ("message", "names"),
    [
        ("no Jazz Artist 1's songs", {"Jazz Artist 1"}),
        ("Jazz Artist 1? no", {"Jazz Artist 1"}),
        ("Rap Artist 1 is off limits", {"Rap Artist 1"}),
        ("honestly Jazz Artist 2 bores me", {"Jazz Artist 2"}),
        ("no features from Rap Artist 1", {"Rap Artist 1"}),
        ("Rap Artist 2 can stay out", {"Rap Artist 2"}),
        ("Jazz Artist 1 - no thanks", {"Jazz Artist 1"}),
        ("stop playing Ambient Artist 2", {"Ambient Artist 2"}),
    ],
)
def test_artists_refused_after_their_name(
    matcher: VocabularyMatcher, message: str, names: set[str]
) -> None:
    assert set(parse_request(message, matcher).blocked_names) == names


@pytest.mark.parametrize(
    "message",
    [
        "rap - no AI stuff",
        "jazz but please no 60's",
        "the 90s can stay in the 90s",
        "I love Jazz Artist 1",
    ],
)
def test_no_artist_where_none_is_refused(matcher: VocabularyMatcher, message: str) -> None:
    c = parse_request(message, matcher)
    assert c.blocked_names == () and c.unknown_artists == ()
