"""Copy kinds the fingerprint must survive, on music synthesised here (not the adversarial
suite's recordings): a resampling-style speed change of 3-5 % (pitch and tempo move together),
a pitch shift of 4 %, a 3-10 s excerpt of a long track with loud and quiet sections, and
leading digital silence."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from recsys.integrity.fingerprint import SAMPLE_RATE, fingerprint_signal
from recsys.integrity.fingerprint_index import FingerprintIndex
from recsys.integrity.neardup import MIN_SCORE, match_catalog

SR = SAMPLE_RATE


def song(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A piece of its own: a melody on a random scale with random note lengths and timbre,
    a bass line, noise hits, and sections of different loudness (up to 20 dB apart)."""
    n = int(seconds * SR)
    y = np.zeros(n + SR, dtype=np.float64)
    scale = np.cumsum(rng.choice([1, 2, 2, 3], size=7))
    root = rng.uniform(48, 62)
    harmonics = rng.uniform(0.1, 1.0, size=5) / np.arange(1, 6)
    t, degree = 0.0, 0
    while t < seconds:
        length = float(rng.choice([0.12, 0.18, 0.25, 0.37, 0.5]))
        degree = int(np.clip(degree + rng.integers(-3, 4), -7, 10))
        midi = root + 12 * (degree // 7) + scale[degree % 7]
        f = 440.0 * 2 ** ((midi - 69) / 12)
        m = int(length * SR)
        tt = np.arange(m) / SR
        env = (1 - np.exp(-tt / 0.01)) * np.exp(-tt / (0.4 * length + 0.05))
        tone = sum(a * np.sin(2 * np.pi * f * k * tt) for k, a in enumerate(harmonics, 1))
        s = int(t * SR)
        y[s : s + m] += env * tone
        if rng.random() < 0.3:  # a noise hit
            y[s : s + 400] += 0.3 * rng.standard_normal(400) * np.exp(-np.arange(400) / 80)
        t += length
    for s in range(0, n, SR):  # a bass note every second
        f = 440.0 * 2 ** ((root - 24 + rng.choice(scale) - 69) / 12)
        tt = np.arange(SR) / SR
        y[s : s + SR] += 0.5 * np.sin(2 * np.pi * f * tt) * np.exp(-tt / 0.5)
    section = np.repeat(10 ** (-rng.uniform(0, 20, size=n // (8 * SR) + 1) / 20), 8 * SR)
    out = y[:n] * section[:n]
    return (0.5 * out / np.abs(out).max()).astype(np.float32)


def speed(y: np.ndarray, ratio: float) -> np.ndarray:
    """Played ``ratio`` times faster (resampled): pitch and tempo both times ``ratio``."""
    return np.asarray(soxr.resample(y, SR * ratio, SR), dtype=np.float32)


@pytest.fixture(scope="module")
def songs() -> list[np.ndarray]:
    rng = np.random.default_rng(42)
    return [song(90.0, rng) for _ in range(5)]


@pytest.fixture(scope="module")
def index(songs: list[np.ndarray]) -> FingerprintIndex:
    return FingerprintIndex.build(["a", "b", "c", "d"], [fingerprint_signal(y) for y in songs[:4]])


@pytest.mark.parametrize("ratio", [0.955, 0.965, 1.035, 1.048])
def test_a_speed_change_of_3_to_5_pct_is_matched_with_its_ratios(
    songs: list[np.ndarray], index: FingerprintIndex, ratio: float
) -> None:
    copy = speed(songs[1][5 * SR : 65 * SR], ratio)
    found = index.match(fingerprint_signal(copy))
    assert found and found[0].track_id == "b", found
    best = found[0]
    assert best.score >= 2 * MIN_SCORE, best
    assert best.pitch == pytest.approx(ratio, abs=0.02), best
    assert best.ratio == pytest.approx(1 / ratio, abs=0.015), best  # time runs 1/ratio
    assert best.offset_s == pytest.approx(5.0, abs=0.4), best
    assert all(m.score < MIN_SCORE for m in found[1:]), found


@pytest.mark.parametrize("percent", [-4.5, 4.0])
def test_a_pitch_shift_of_4_pct_keeping_the_tempo_is_matched(
    songs: list[np.ndarray], index: FingerprintIndex, percent: float
) -> None:
    import librosa

    ratio = 1 + percent / 100
    copy = librosa.effects.pitch_shift(songs[2][: 60 * SR], sr=SR, n_steps=12 * np.log2(ratio))
    found = index.match(fingerprint_signal(copy))
    assert found and found[0].track_id == "c", found
    assert found[0].score >= MIN_SCORE and found[0].ratio == pytest.approx(1.0, abs=0.015)
    assert found[0].pitch == pytest.approx(ratio, abs=0.02), found[0]


def test_unrelated_music_stays_under_the_floor_with_every_hypothesis(
    songs: list[np.ndarray], index: FingerprintIndex
) -> None:
    for ratio in (1.0, 0.96, 1.04):
        found = index.match(fingerprint_signal(speed(songs[4], ratio)))
        assert all(m.score < MIN_SCORE / 2 for m in found), (ratio, found)


def test_short_excerpts_of_a_long_track_are_found_in_loud_and_quiet_sections(
    songs: list[np.ndarray],
) -> None:
    rng = np.random.default_rng(7)
    long_tracks = songs[:4]
    excerpts, truth = [], []
    for k, y in enumerate([*long_tracks, songs[4]]):
        for _ in range(4):
            n = int(rng.uniform(3.0, 10.0) * SR)
            start = int(rng.integers(0, y.size - n))
            gain = 10 ** (rng.uniform(-6, 6) / 20)
            noise = rng.standard_normal(n).astype(np.float32) * 0.003
            excerpts.append(y[start : start + n] * gain + noise)
            truth.append(k if k < len(long_tracks) else -1)
    fps = [fingerprint_signal(y) for y in [*long_tracks, *excerpts]]
    index = FingerprintIndex.build([str(i) for i in range(len(fps))], fps)
    edges = match_catalog(index, fps, np.arange(len(fps)), rows=range(4, len(fps)))
    held = {(e.a, e.b) for e in edges if e.holds(MIN_SCORE) and e.b < len(long_tracks)}
    for q, k in enumerate(truth):
        row = len(long_tracks) + q
        if k >= 0:
            assert (row, k) in held, (q, [e for e in edges if e.a == row][:2])
        assert not [b for a, b in held if a == row and b != k], q


def test_leading_digital_silence_adds_no_landmarks(songs: list[np.ndarray]) -> None:
    y = songs[3][: 40 * SR]
    padded = np.concatenate([np.zeros(20 * SR, dtype=np.float32), y])
    plain, lead = fingerprint_signal(y), fingerprint_signal(padded)
    assert abs(len(lead) - len(plain)) <= 0.05 * len(plain)
    assert int(lead.times.min()) >= int(19.5 / (128 / SR))  # nothing inside the silence
