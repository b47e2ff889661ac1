"""A tempo implied by words ("upbeat", "chill") drops tracks whose measured tempo breaks it
and keeps tracks without a measured tempo; a tempo given as a figure is hard (unmeasured tracks
are left out). Both are stated in the summary."""

from __future__ import annotations

import pytest

from agent.constraints import bare_tempo_bounds, tempo_range
from agent.discovery import DiscoveryAgent
from agent.request import VocabularyMatcher, parse_request
from tests.agent.fakes import FakeBackend


def backend_with_unmeasured(prefix: str) -> tuple[FakeBackend, set[str]]:
    backend = FakeBackend()
    unmeasured = {t for t in backend.tempo if t.startswith(prefix)}
    for t in unmeasured:
        del backend.tempo[t]
    return backend, unmeasured


def test_words_keep_unmeasured_tracks_and_drop_measured_ones_that_break_the_bound() -> None:
    backend, unmeasured = backend_with_unmeasured("indie-t0")
    answer = DiscoveryAgent(backend).ask("upbeat indie", listener_id="fan", k=12)
    c = answer.constraints
    assert c.tempo_soft and c.tempo_min == 115.0
    got = {i.track.track_id: backend.tempo.get(i.track.track_id) for i in answer.items}
    assert unmeasured & set(got)  # kept: nothing says they are slow
    assert all(t is None or t >= 115.0 for t in got.values())  # indie-t1x (80 BPM) dropped
    assert not {t for t in got if t.startswith("indie-t1")}
    assert "where measured" in answer.summary


def test_a_figure_is_hard() -> None:
    backend, unmeasured = backend_with_unmeasured("rap-t0")
    answer = DiscoveryAgent(backend).ask("rap at least 115 bpm", listener_id="fan", k=12)
    assert not answer.constraints.tempo_soft
    got = {i.track.track_id for i in answer.items}
    assert got and not unmeasured & got
    assert all(backend.tempo[t] >= 115.0 for t in got)
    assert "no measured tempo left out" in answer.summary


def test_a_figure_in_a_follow_up_makes_the_bound_hard() -> None:
    agent = DiscoveryAgent(FakeBackend())
    first = agent.ask("chill jazz", listener_id="fan", k=5)
    assert first.constraints.tempo_soft
    again = agent.ask(
        "but no faster than 90 bpm", listener_id="fan", k=5, session_id=first.session_id
    )
    assert not again.constraints.tempo_soft and again.constraints.tempo_max == 90.0


@pytest.mark.parametrize(
    ("text", "bounds"),
    [
        ("keep it under a hundred bpm", (None, 100.0)),
        ("nothing above ninety bpm", (None, 90.0)),
        ("ninety to a hundred and ten bpm", (90.0, 110.0)),
        ("somewhere around 90 beats a minute", (80.0, 100.0)),
        ("150 beats per min or more", (150.0, None)),
        ("bpm no higher than 110", (None, 110.0)),
        ("max tempo 90 bpm", (None, 90.0)),
        ("min bpm 128", (128.0, None)),
        ("tempo should be under 100", (None, 100.0)),
        ("tempo in the 60 to 70 range", (60.0, 70.0)),
        ("dnb at about 174", (164.0, 184.0)),
        ("one hundred songs please", None),
        ("under 100 monthly listeners", None),
    ],
)
def test_tempo_figures_in_words_and_other_units(
    text: str, bounds: tuple[float | None, float | None] | None
) -> None:
    assert tempo_range(text) == bounds


def test_a_bare_bound_is_a_tempo_only_when_the_request_speaks_of_tempo() -> None:
    matcher = VocabularyMatcher(FakeBackend())
    c = parse_request("fast songs, at least 160", matcher)
    assert (c.tempo_min, c.tempo_max, c.tempo_soft) == (160.0, None, False)
    c = parse_request("slow stuff, nothing over 90 please", matcher)
    assert (c.tempo_min, c.tempo_max) == (None, 90.0)
    c = parse_request("fast songs by artists with over 500 fans", matcher)
    assert (c.tempo_min, c.tempo_max) == (115.0, None)  # 500 is no tempo
    assert bare_tempo_bounds("jazz, at least 30 minutes") is None


@pytest.mark.parametrize(
    ("text", "bounds"),
    [
        ("between 70 & 80 bpm", (70.0, 80.0)),
        ("130 bpm+", (130.0, None)),
        ("from 100 bpm up", (100.0, None)),
        ("not exceeding 100 bpm", (None, 100.0)),
        ("tempo must not exceed 110", (None, 110.0)),
        ("songs exceeding 100 bpm", (100.0, None)),
    ],
)
def test_more_ways_to_bound_a_tempo(
    text: str, bounds: tuple[float | None, float | None] | None
) -> None:
    assert tempo_range(text) == bounds
