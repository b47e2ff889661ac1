"""The tempo's octave is decided from the clip itself (``tempo_from_onsets``): a short clip is
not read at double tempo for its off-beats, and an octave the audio cannot decide is unknown
rather than a confident guess."""

from __future__ import annotations

import numpy as np

from recsys.embeddings.audio_facts import (
    MIN_TEMPO_CONFIDENCE,
    TEMPO_HOP,
    TEMPO_SR,
    overlap_autocorrelation,
    tempo_from_onsets,
)

FPS = TEMPO_SR / TEMPO_HOP


def envelope(
    bpm: float,
    seconds: float,
    accents: tuple[float, ...],
    per_beat: int = 1,
    noise: float = 0.02,
) -> np.ndarray:
    """An onset envelope with a pulse ``per_beat`` times a beat, the pulses' heights cycling
    through ``accents`` (each pulse a short decay, a little noise)."""
    rng = np.random.default_rng(0)
    n = int(seconds * FPS)
    env = noise * rng.random(n)
    step = 60.0 * FPS / bpm / per_beat
    for i, t in enumerate(np.arange(0.0, n, step)):
        k = round(float(t))
        for d, w in enumerate((1.0, 0.5, 0.2)):
            if k + d < n:
                env[k + d] += accents[i % len(accents)] * w
    return env


def test_overlap_normalised_autocorrelation_does_not_favour_short_lags() -> None:
    env = envelope(90.0, 1.5, (1.0,))
    ac = overlap_autocorrelation(env, 40)
    lag = 60.0 * FPS / 90.0
    assert ac[round(lag)] > 0.6  # one beat later the clip looks like itself again


def test_a_short_clip_with_off_beats_is_not_read_at_double_tempo() -> None:
    # Kick on the beat, softer hats between: 1.5 s, as the demo world's clips.
    for seconds in (1.5, 3.0):
        tempo, confidence = tempo_from_onsets(envelope(100.0, seconds, (1.0, 0.45), per_beat=2))
        # Right, or unknown; never a confident double.
        assert abs(tempo - 100.0) <= 4.0 or confidence < MIN_TEMPO_CONFIDENCE, (seconds, tempo)
        assert abs(tempo - 200.0) > 8.0 or confidence < MIN_TEMPO_CONFIDENCE
    tempo, confidence = tempo_from_onsets(envelope(100.0, 3.0, (1.0, 0.45), per_beat=2))
    assert abs(tempo - 100.0) <= 4.0 and confidence >= MIN_TEMPO_CONFIDENCE


def test_a_slower_octave_the_clip_cannot_test_makes_the_tempo_unknown() -> None:
    # 150 BPM for 1.5 s: 75 BPM (as plausible a priori) needs more than the clip to show two
    # beats, so the octave is not decided.
    _, short = tempo_from_onsets(envelope(150.0, 1.5, (1.0,)))
    tempo, long = tempo_from_onsets(envelope(150.0, 20.0, (1.0, 0.5)))
    assert short < MIN_TEMPO_CONFIDENCE
    assert abs(tempo - 150.0) <= 6.0 and long >= MIN_TEMPO_CONFIDENCE


def test_a_clear_pulse_keeps_its_tempo_and_confidence() -> None:
    tempo, clear = tempo_from_onsets(envelope(120.0, 20.0, (1.0,)))
    assert abs(tempo - 120.0) <= 5.0 and clear >= MIN_TEMPO_CONFIDENCE


def test_a_busy_half_time_reading_is_doubled() -> None:
    # Kick and snare pulse at 86 BPM; above them, eight events a beat (sixteenths at 172).
    pulse = envelope(86.0, 20.0, (1.0, 0.8))
    busy = envelope(86.0, 20.0, (0.6,), per_beat=8, noise=0.0)
    calm = envelope(86.0, 20.0, (0.6,), per_beat=2, noise=0.0)
    assert abs(tempo_from_onsets(pulse, high=busy)[0] - 172.0) <= 7.0
    tempo, confidence = tempo_from_onsets(pulse, high=calm)
    assert abs(tempo - 86.0) <= 4.0 and confidence >= MIN_TEMPO_CONFIDENCE
