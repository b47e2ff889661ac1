"""Tempo accuracy on audio at known BPM: a synthetic generator of its own, styled after the
genres whose tempo was doubled or halved (hip-hop, folk, ambient, classical) plus clicks and
drum and bass, each at 30 s and cut to the demo world's 1.5 s; and, reported apart, the demo
world's own clips (recsys/demo/audio.py, a different generator).

No dataset here has audio with a known tempo (the FMA folder holds one clip without a tempo,
and the Spotify/TidyTuesday tempos come without audio), so the ground truth is the BPM each
clip was rendered at. Reported per style: librosa's default estimate (what the build wrote
before), the octave-decided estimate (:func:`recsys.embeddings.audio_facts.tempo_from_onsets`),
the share judged reliable (confidence >= the threshold; an ambiguous octave has confidence 0),
the accuracy among the reliable ones (within 4 %), and how many were reliable but wrong.

The octave rule's constants were set looking at seed 17 (seeds 18 and 19 were seen while it
was built); the figures to quote are from seed 20, the default, first run on the final rule.

Usage:
    .venv/bin/python -m benchmarks.tempo_accuracy [--per-style 12] [--seed 20] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from recsys.embeddings.audio_facts import (
    MIN_TEMPO_CONFIDENCE,
    TEMPO_HOP,
    TEMPO_SR,
    onset_envelopes,
    tempo_from_onsets,
)

SR = TEMPO_SR
SECONDS = 30.0
SHORT_SECONDS = 1.5
"""The demo world's clip length: the styles are also scored on cuts this long."""


def _hit(y: np.ndarray, t: float, sound: np.ndarray, gain: float) -> None:
    i = int(t * SR)
    if 0 <= i < len(y):
        n = min(len(sound), len(y) - i)
        y[i : i + n] += gain * sound[:n]


def _env(n: int, decay: float, attack: float = 0.001) -> np.ndarray:
    t = np.arange(n) / SR
    return np.minimum(t / attack, 1.0) * np.exp(-t / decay)


def _kick(rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.25 * SR)) / SR
    return np.sin(2 * np.pi * (50 + 80 * np.exp(-t / 0.03)) * t) * _env(len(t), 0.12)


def _noise(rng: np.random.Generator, seconds: float, decay: float, high: bool) -> np.ndarray:
    n = rng.standard_normal(int(seconds * SR))
    if high:
        n = np.diff(n, prepend=0.0)
    return n * _env(len(n), decay)


def _tone(freqs: list[float], seconds: float, decay: float, attack: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    wave = sum(np.sin(2 * np.pi * f * t) for f in freqs) / max(len(freqs), 1)
    return wave * _env(len(t), decay, attack)


def clicks(bpm: float, rng: np.random.Generator) -> np.ndarray:
    y = np.zeros(int(SECONDS * SR))
    for b in np.arange(0, SECONDS, 60 / bpm):
        _hit(y, b, _noise(rng, 0.03, 0.005, True), 1.0)
    return y


def hiphop(bpm: float, rng: np.random.Generator) -> np.ndarray:
    """Kick on 1, the "and" of 2 and 3, snare on 2 and 4, swung eighth hats."""
    y, beat = np.zeros(int(SECONDS * SR)), 60 / bpm
    for bar in np.arange(0, SECONDS, 4 * beat):
        for pos in (0, 1.5, 2):
            _hit(y, bar + pos * beat, _kick(rng), 1.0)
        for pos in (1, 3):
            _hit(y, bar + pos * beat, _noise(rng, 0.2, 0.06, False), 0.7)
        for e in range(8):
            swing = 0.08 * beat if e % 2 else 0.0
            _hit(y, bar + e * beat / 2 + swing, _noise(rng, 0.05, 0.01, True), 0.25)
    return y


def folk(bpm: float, rng: np.random.Generator) -> np.ndarray:
    """Strummed chords on eighth notes, downstrokes on the beat louder, hand-played timing."""
    y, beat = np.zeros(int(SECONDS * SR)), 60 / bpm
    chords = [[196.0, 247.0, 294.0], [220.0, 262.0, 330.0], [175.0, 220.0, 262.0]]
    for i, t in enumerate(np.arange(0, SECONDS, beat / 2)):
        chord = chords[(i // 8) % len(chords)]
        jitter = rng.normal(0, 0.012)
        _hit(y, t + jitter, _tone(chord, 0.6, 0.25, 0.004), 1.0 if i % 2 == 0 else 0.45)
    return y


def dnb(bpm: float, rng: np.random.Generator) -> np.ndarray:
    """Kick on 1 and the "and" of 3, snare on 2 and 4, sixteenth hats."""
    y, beat = np.zeros(int(SECONDS * SR)), 60 / bpm
    for bar in np.arange(0, SECONDS, 4 * beat):
        for pos in (0, 2.5):
            _hit(y, bar + pos * beat, _kick(rng), 1.0)
        for pos in (1, 3):
            _hit(y, bar + pos * beat, _noise(rng, 0.15, 0.05, False), 0.9)
        for s in range(16):
            _hit(y, bar + s * beat / 4, _noise(rng, 0.03, 0.008, True), 0.2)
    return y


def ambient(bpm: float, rng: np.random.Generator) -> np.ndarray:
    """Slow-attack pads changing every two beats: hardly any onsets."""
    y, beat = np.zeros(int(SECONDS * SR)), 60 / bpm
    for t in np.arange(0, SECONDS, 2 * beat):
        root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
        _hit(y, t, _tone([root, root * 1.5, root * 2.0], 4 * beat, 2.0, 0.8), 0.5)
    return y + 0.01 * rng.standard_normal(len(y))


def classical(bpm: float, rng: np.random.Generator) -> np.ndarray:
    """Piano-like eighth notes with rubato: the tempo drifts ±20 % over the clip."""
    y = np.zeros(int(SECONDS * SR))
    t, i = 0.0, 0
    while t < SECONDS:
        local = bpm * (1 + 0.2 * np.sin(2 * np.pi * t / 11.0))
        f = 262.0 * 2 ** (rng.integers(-5, 12) / 12)
        _hit(y, t, _tone([f, 2 * f], 0.8, 0.35, 0.005), 1.0 if i % 4 == 0 else 0.6)
        t += 60 / local / 2
        i += 1
    return y


STYLES: dict[str, tuple[Callable[[float, np.random.Generator], np.ndarray], float, float]] = {
    "clicks": (clicks, 60, 180),
    "hip-hop": (hiphop, 78, 98),
    "folk": (folk, 90, 125),
    "drum-and-bass": (dnb, 160, 178),
    "ambient": (ambient, 55, 80),
    "classical (rubato)": (classical, 60, 100),
}


def demo_clips(per_genre: int, seed: int) -> dict[str, list[tuple[float, np.ndarray]]]:
    """The demo world's synthesised clips (recsys/demo/audio.py) with the tempo each was
    rendered at: the genre's BPM × the artist's habit × the clip's own variation."""
    from recsys.demo.audio import GENRE_SOUNDS, ClipSpec, render_clips

    rng = np.random.default_rng(seed)
    out: dict[str, list[tuple[float, np.ndarray]]] = {}
    for genre, sound in GENRE_SOUNDS.items():
        specs = [
            ClipSpec(
                genre=genre, seed=int(rng.integers(1 << 30)), tempo_scale=rng.uniform(0.94, 1.06)
            )
            for _ in range(per_genre)
        ]
        clips = render_clips(specs, sr=SR)
        truth = [
            sound.bpm
            * s.tempo_scale
            * (0.96 + 0.08 * np.random.default_rng([9174, s.seed]).uniform(0, 1, size=12)[0])
            for s in specs
        ]
        out[f"demo {genre}"] = list(zip(truth, clips, strict=True))
    return out


def librosa_default(y: np.ndarray) -> float:
    import librosa

    onset = librosa.onset.onset_strength(y=y, sr=SR, hop_length=TEMPO_HOP)
    return float(
        np.atleast_1d(librosa.feature.tempo(onset_envelope=onset, sr=SR, hop_length=TEMPO_HOP))[0]
    )


def main() -> None:
    import librosa

    ap = argparse.ArgumentParser()
    ap.add_argument("--per-style", type=int, default=12)
    ap.add_argument("--seed", type=int, default=20, help="17 was used to set the thresholds")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "tempo_accuracy.json"))
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    report: dict[str, dict[str, float | None]] = {}
    cases: dict[str, list[tuple[float, np.ndarray]]] = {}
    for style, (make, lo, hi) in STYLES.items():
        cases[style] = [
            (float(b), make(float(b), rng)) for b in rng.uniform(lo, hi, args.per_style)
        ]
        # The same generator cut to the demo world's clip length, from varied offsets.
        cases[f"{style} {SHORT_SECONDS:g} s"] = [
            (b, clip[int(0.37 * SR * (i % 5)) :][: int(SHORT_SECONDS * SR)])
            for i, (b, clip) in enumerate(cases[style])
        ]
    cases.update(demo_clips(args.per_style, args.seed))
    for style, clips in cases.items():
        rows = []
        for bpm, clip in clips:
            y = np.asarray(clip, dtype=np.float64)
            y = y / (np.abs(y).max() or 1.0)
            onset, high = onset_envelopes(y, SR)
            old = float(
                np.atleast_1d(
                    librosa.feature.tempo(onset_envelope=onset, sr=SR, hop_length=TEMPO_HOP)
                )[0]
            )
            new, conf = tempo_from_onsets(onset, SR, TEMPO_HOP, high)
            rows.append((bpm, old, new, conf))
        a = np.array(rows)
        ok_old = np.abs(a[:, 1] / a[:, 0] - 1) <= 0.04
        ok_new = np.abs(a[:, 2] / a[:, 0] - 1) <= 0.04
        reliable = a[:, 3] >= MIN_TEMPO_CONFIDENCE
        report[style] = {
            "n": len(a),
            "librosa_default_acc": round(float(ok_old.mean()), 3),
            "octave_acc": round(float(ok_new.mean()), 3),
            "reliable_share": round(float(reliable.mean()), 3),
            "acc_among_reliable": round(float(ok_new[reliable].mean()), 3)
            if reliable.any()
            else None,
            "wrong_but_reliable": int((reliable & ~ok_new).sum()),
            "median_confidence": round(float(np.median(a[:, 3])), 3),
        }
        print(style, report[style], flush=True)
    Path(args.out).parent.mkdir(exist_ok=True)
    Path(args.out).write_text(
        json.dumps(
            {"threshold": MIN_TEMPO_CONFIDENCE, "seed": args.seed, "styles": report}, indent=1
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
