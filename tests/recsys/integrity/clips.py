"""Audio made in the tests: renders (what a script or a generator writes) and performances
(what a microphone hears), built from different material each call."""

from __future__ import annotations

import numpy as np

SR = 16_000


def _note(freq: np.ndarray | float, n: int, harmonics: tuple[float, ...]) -> np.ndarray:
    """A note of ``n`` samples; ``freq`` is a constant or a per-sample frequency track."""
    f = np.broadcast_to(np.asarray(freq, dtype=np.float64), (n,))
    phase = 2 * np.pi * np.cumsum(f) / SR
    tone = sum(a * np.sin(k * phase) for k, a in enumerate(harmonics, start=1))
    t = np.arange(n) / SR
    return np.asarray(tone * np.minimum(1.0, t / 0.01) * np.exp(-t * 2.5))


def rendered_loop(seconds: float, rng: np.random.Generator, bars: int = 2) -> np.ndarray:
    """A sequencer render: ``bars`` bars of quantised notes at exact equal-tempered pitches,
    looped, no noise under it, peak at -1 dBFS."""
    bpm = float(rng.uniform(90, 140))
    step = int(SR * 60 / bpm / 2)  # eighth notes, whole samples
    notes = 440 * 2 ** (rng.integers(-14, 10, size=8 * bars) / 12)
    loop = np.zeros(step * 8 * bars)
    for i, f in enumerate(notes):
        loop[i * step : (i + 1) * step] += _note(float(f), step, (1.0, 0.4, 0.2))
    out = np.tile(loop, int(np.ceil(seconds * SR / loop.size)))[: int(seconds * SR)]
    return (out / np.abs(out).max() * 10 ** (-1 / 20)).astype(np.float32)


def rendered_melody(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A script's render that never repeats: random exact pitches and lengths, no noise."""
    out = np.zeros(int(seconds * SR))
    at = 0
    while at < out.size:
        n = min(int(SR * rng.uniform(0.15, 0.6)), out.size - at)
        out[at : at + n] += _note(440 * 2 ** (int(rng.integers(-18, 12)) / 12), n, (1.0, 0.5))
        at += n
    return (out / np.abs(out).max() * 0.9).astype(np.float32)


def performance(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A player: notes that never repeat exactly, with vibrato and drifting intonation,
    uneven timing and loudness, through a chain with hiss (about -55 dB)."""
    out = np.zeros(int(seconds * SR))
    at = 0
    while at < out.size:
        n = min(int(SR * rng.uniform(0.2, 0.5)), out.size - at)
        base = 440 * 2 ** ((int(rng.integers(-14, 10)) + rng.normal(0, 0.12)) / 12)
        t = np.arange(n) / SR
        cents = rng.uniform(8, 20) * np.sin(
            2 * np.pi * rng.uniform(4.5, 6.5) * t + rng.uniform(0, 6)
        )
        cents += np.cumsum(rng.normal(0, 0.15, n)) / 10  # slow intonation drift
        out[at : at + n] += rng.uniform(0.5, 1.0) * _note(
            base * 2 ** (cents / 1200), n, (1.0, 0.5, 0.3)
        )
        at += n + int(rng.normal(0, 0.012) * SR)
        at = max(at, 0)
    out = out / np.abs(out).max() * rng.uniform(0.4, 0.8)
    return (out + rng.standard_normal(out.size) * 10 ** (-55 / 20)).astype(np.float32)


def dressed(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A render dressed as a recording: hiss 45 dB down, tape wow of a few cents, new gain."""
    n = audio.size
    cents = 8 * np.sin(2 * np.pi * 0.7 * np.arange(n) / SR)
    position = np.cumsum(2 ** (cents / 1200))
    y = np.interp(position[position < n - 1], np.arange(n), audio.astype(np.float64))
    y = y / np.abs(y).max() + rng.standard_normal(y.size) * 10 ** (-45 / 20)
    return (y / np.abs(y).max() * 0.5).astype(np.float32)
