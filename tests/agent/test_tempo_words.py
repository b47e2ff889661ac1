"""A tempo implied by words ("upbeat", "chill") drops tracks whose measured tempo breaks it
and keeps tracks without a measured tempo; a tempo given as a figure is hard (unmeasured tracks
are left out). Both are stated in the summary."""

from __future__ import annotations

from agent.discovery import DiscoveryAgent
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
