"""Years refused in the middle ("no 80s") are a typed constraint from the words to the answer:
parsed, re-applied by the executor (unknown years dropped), kept across a session, and stated
in the summary. Also the era, tempo and AI-rule readings fixed with them (the test catalog:
indie 2000-2003, ambient 2005-2008, rap 2010-2013, jazz 2015-2018; no text model)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from agent.ai_rule_model import LEVELS, refine_level
from agent.bus import Candidate, CandidateBus
from agent.constraints import ai_intent
from agent.discovery import DiscoveryAgent, enforced_phrases
from agent.enforce import enforce_constraints
from agent.request import Constraints, VocabularyMatcher, merge_spans, parse_request
from agent.sessions import decode_constraints, encode_constraints
from agent.tools import ToolContext
from tests.agent.fakes import FakeBackend

DECADE = date.today().year // 10 * 10


@pytest.fixture
def matcher() -> VocabularyMatcher:
    return VocabularyMatcher(FakeBackend())


@pytest.mark.parametrize(
    ("message", "spans"),
    [
        ("no 80s please", ((1980, 1989),)),
        ("rap from any decade except the nineties", ((1990, 1999),)),
        ("nothing from the 2000s, that era was rough", ((2000, 2009),)),
        ("jazz but please no 60's", ((1960, 1969),)),
        ("no music released between 1985 and 1995", ((1985, 1995),)),
        ("everything except stuff from 2005 to 2010", ((2005, 2010),)),
        ("no throwbacks from the 70s or 80s", ((1970, 1989),)),
        ("eighties and nineties are off limits", ((1980, 1999),)),
        ("the 90s can stay in the 90s, play me some indie", ((1990, 1999),)),
        ("keep the 00s out of my playlist", ((2000, 2009),)),
        ("I'm over the 2010s", ((2010, 2019),)),
        ("pas de musique des années 80", ((1980, 1989),)),
        ("sin música de los 90, por favor", ((1990, 1999),)),
        ("keine 80er Musik bitte", ((1980, 1989),)),
    ],
)
def test_a_refused_decade_or_span_is_an_excluded_span(
    matcher: VocabularyMatcher, message: str, spans: tuple[tuple[int, int], ...]
) -> None:
    c = parse_request(message, matcher)
    assert c.exclude_years == spans
    assert (c.year_min, c.year_max) == (None, None)  # a span refused is no range asked for
    assert not c.unknown_artists


@pytest.mark.parametrize(
    ("message", "years"),
    [
        (f"any era is fine except the {DECADE}s", (None, DECADE - 1)),  # the current decade: a cap
        ("nothing before the 90s", (1990, None)),
        ("stuff from after the 90s", (2000, None)),
        ("since the 90s", (1990, None)),
        ("before the 80s", (None, 1979)),
        ("no songs newer than 2005", (None, 2005)),
        ("nothing older than 2010", (2010, None)),
        ("released after 2020", (2021, None)),
        ("I can't get enough of the 80s", (1980, 1989)),
        ("nothing hits like 90s rap", (1990, 1999)),
    ],
)
def test_era_bounds(
    matcher: VocabularyMatcher, message: str, years: tuple[int | None, int | None]
) -> None:
    c = parse_request(message, matcher)
    assert (c.year_min, c.year_max) == years
    assert c.exclude_years == ()


def test_spans_merge_when_they_touch() -> None:
    assert merge_spans([(1990, 1999), (1980, 1989), (2005, 2010)]) == (
        (1980, 1999),
        (2005, 2010),
    )
    assert merge_spans([(1980, 1989), (1991, 1995)]) == ((1980, 1989), (1991, 1995))


def test_the_executor_drops_refused_years_and_unknown_years() -> None:
    backend = FakeBackend()
    c = Constraints(exclude_years=((2005, 2012),))
    order = sorted(backend.tracks)
    ctx = ToolContext(backend=backend, bus=CandidateBus(), listener_id="fan")
    enforced = enforce_constraints(ctx, c, [Candidate(track_id=t, score=1.0) for t in order], None)
    facts = {f.track.track_id: f for f in backend.facts(order)}
    kept = {x.track_id for x in enforced.kept}
    # Every known-year track outside the span the listener may see is kept, none inside.
    expect = {
        t
        for t in order
        if facts[t].year is not None
        and not 2005 <= facts[t].year <= 2012
        and t in set(backend.permitted([t], "fan"))
    }
    assert kept == expect
    assert any(t.startswith("indie") for t in kept) and any(t.startswith("jazz") for t in kept)
    assert not any(facts[t].year is None for t in kept)  # "imitation" has no release date


def test_the_answer_meets_and_states_the_refused_years() -> None:
    backend = FakeBackend()
    answer = DiscoveryAgent(backend).ask("nothing from the 2000s", listener_id="fan", k=12)
    assert answer.items
    for item in answer.items:
        year = item.track.release_date.year if item.track.release_date else None
        assert year is not None and not 2000 <= year <= 2009
    assert "nothing released 2000–2009" in answer.summary
    assert answer.constraints.exclude_years == ((2000, 2009),)
    assert answer.to_json()["constraints"]["exclude_years"] == [[2000, 2009]] or answer.to_json()[
        "constraints"
    ]["exclude_years"] == [(2000, 2009)]


def test_the_summary_names_every_refused_span() -> None:
    c = Constraints(exclude_years=((1980, 1989), (2005, 2010)))
    assert "nothing released 1980–1989, 2005–2010 (unknown years left out)" in enforced_phrases(c)
    assert "not released 1980–1989, 2005–2010" in c.describe()


def test_refused_years_survive_the_session_store_and_a_follow_up(
    matcher: VocabularyMatcher,
) -> None:
    first = parse_request("jazz, no 80s", matcher)
    stored = decode_constraints(encode_constraints(first))
    assert stored == first
    assert stored is not None
    follow = parse_request("no 90s either", matcher, previous=stored)
    assert follow.exclude_years == ((1980, 1999),)


# -- the e2e misses of the last stop, as classes -----------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "AI-generated or AI-assisted, I want neither",
        "I've had it with AI tracks",
        "I'm good on AI music, thanks",
        "AI music is not my thing",
        "hold off on the AI stuff",
        "no AI-generated songs and no AI-assisted ones",
    ],
)
def test_refusals_that_name_help_or_no_scope_refuse_all_ai(message: str) -> None:
    intent = ai_intent(message)
    assert intent.no_ai_any and intent.no_ai_generated


@pytest.mark.parametrize(
    "message",
    ["no AI-generated tracks, AI-assisted mixing is fine", "I'm fine with AI tools"],
)
def test_allowed_help_is_not_refused(message: str) -> None:
    assert not ai_intent(message).no_ai_any


@pytest.mark.parametrize("rule", LEVELS)
def test_the_learned_reading_never_loosens_the_rules(rule: str) -> None:
    for i, level in enumerate(LEVELS):
        p = np.full(len(LEVELS), 0.01)
        p[i] = 0.97
        got = refine_level(rule, p, allows_assisted=False)
        assert LEVELS.index(got) >= LEVELS.index(rule)
        assert got == (level if LEVELS.index(level) > LEVELS.index(rule) else rule)


@pytest.mark.parametrize(
    ("message", "tempo"),
    [
        ("not too chill, I need to wake up", (115.0, None)),
        ("nothing too relaxing please", (115.0, None)),
        ("not super upbeat", (None, 105.0)),
        ("romantic jazz for a dinner party", (None, None)),
        ("rule out anything ambient", (None, None)),
    ],
)
def test_negated_and_compound_tempo_words(
    matcher: VocabularyMatcher, message: str, tempo: tuple[float | None, float | None]
) -> None:
    c = parse_request(message, matcher)
    assert (c.tempo_min, c.tempo_max) == tempo


def test_a_double_negation_wants_both(matcher: VocabularyMatcher) -> None:
    c = parse_request("it's not a party without jazz", matcher)
    assert "jazz" in c.genres and c.avoid == ()
    assert c.tempo_min == 115.0  # the party is asked for


def test_a_list_ends_where_a_new_cue_starts(matcher: VocabularyMatcher) -> None:
    c = parse_request("sans IA, du jazz calme, and nothing by Rap Artist 1", matcher)
    assert c.genres == ("jazz",) and c.avoid == ()
    assert c.tempo_max == 105.0 and c.tempo_min is None
    assert c.no_ai_any and c.blocked_names == ("Rap Artist 1",)


@pytest.mark.parametrize(
    "message",
    [
        "generated, assisted, whatever - if AI was involved, I don't want it",
        "whatever style, if AI was used anywhere, skip it",
    ],
)
def test_a_refused_condition_on_ai_is_a_refusal(message: str) -> None:
    assert ai_intent(message).no_ai_generated


def test_couldnt_care_less_allows_ai_and_excludes_nothing(matcher: VocabularyMatcher) -> None:
    c = parse_request("I couldn't care less whether it's AI, give me jazz", matcher)
    assert not c.no_ai_generated and c.avoid == () and c.genres == ("jazz",)


def test_a_catalog_artist_named_is_no_genre(matcher: VocabularyMatcher) -> None:
    c = parse_request("I love Rap Artist 0, no skips", matcher)
    assert c.genres == () and c.avoid == () and c.blocked_names == ()


def test_a_list_before_off_the_table_is_excluded_whole(matcher: VocabularyMatcher) -> None:
    c = parse_request("jazz, indie and rap are all a no", matcher)
    assert set(c.avoid) == {"jazz", "indie", "rap"} and c.genres == ()
    c = parse_request("I like jazz, and rap is out", matcher)
    assert c.avoid == ("rap",) and c.genres == ("jazz",)


def test_an_aversion_refuses_new_artists(matcher: VocabularyMatcher) -> None:
    assert not parse_request("I don't care for new artists, just jazz", matcher).new_artists
    assert not parse_request("I've had it with new artists", matcher).new_artists
    assert parse_request("new artists please", matcher).new_artists


@pytest.mark.parametrize(
    "message",
    [
        "AI-assisted, AI-generated, AI-whatever... none of it",
        "no AI at all and especially no AI voices, i mean it",
        "human made or nothing",
    ],
)
def test_wholesale_refusals_refuse_all_ai(message: str) -> None:
    assert ai_intent(message).no_ai_any


def test_no_ai_vocals_of_any_kind_is_about_vocals() -> None:
    intent = ai_intent("no AI vocals of any kind")
    assert intent.no_ai_vocals and not intent.no_ai_any


@pytest.mark.parametrize(
    ("message", "tempo"),
    [
        ("don't go above 115bpm", (None, 115.0)),
        ("it shouldn't be faster than 120 bpm", (None, 120.0)),
        ("won't go below 90 bpm", (90.0, None)),
        ("bpm: 90 to 100", (90.0, 100.0)),
        ("BPM cap of 95 for my yoga class", (None, 95.0)),
        ("a limit of 10 songs", (None, None)),
        ("under 10 bpm", (None, 20.0)),  # held to what the filter takes
    ],
)
def test_refused_sides_caps_and_colons(
    matcher: VocabularyMatcher, message: str, tempo: tuple[float | None, float | None]
) -> None:
    c = parse_request(message, matcher)
    assert (c.tempo_min, c.tempo_max) == tempo


def test_up_to_a_year_includes_it(matcher: VocabularyMatcher) -> None:
    assert parse_request("old stuff up to 1975", matcher).year_max == 1975
    assert parse_request("stuff released before 1980", matcher).year_max == 1979


@pytest.mark.parametrize(
    "message",
    [
        "only humans behind the mic, and nothing from the 80s",
        "only want stuff where a human actually sang it",
        "hip hop but only human rappers, no ai verses",
    ],
)
def test_human_voices_ask_for_the_vocals_rule(message: str) -> None:
    intent = ai_intent(message)
    assert intent.no_ai_vocals and not intent.no_ai_any and not intent.human_only


def test_humans_who_sang_and_played_is_the_whole_track() -> None:
    intent = ai_intent("only stuff real humans sang and played")
    assert intent.human_only and not intent.no_ai_vocals
