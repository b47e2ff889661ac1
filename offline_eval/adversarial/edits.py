"""Edits an abuser makes to a copied recording before uploading it again.

Each edit kind is drawn with parameters from a range (``trim_0.5`` trims 0.4–0.6 s), so a
detector tuned on one seed meets other values on another. :func:`apply_edits` runs a list of
edits on mono float32 audio; an ``mp3_128k`` edit is a real MP3 encode through ``ffmpeg``, and
the file is kept as MP3 (see :func:`encode_mp3`), so the decoder meets the codec's delay and
padding as a real upload would.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from scipy.signal import lfilter

from offline_eval.errors import DatasetError


@dataclass(frozen=True, kw_only=True)
class Edit:
    """One edit with its drawn parameters.

    Attributes:
        kind: the edit kind (a key of :data:`EDIT_KINDS`).
        params: its parameters (seconds, dB, ratios).
    """

    kind: str
    params: Mapping[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        """``kind(name=value,...)``, the form ``truth.csv`` records."""
        inner = ",".join(f"{k}={v:g}" for k, v in sorted(self.params.items()))
        return f"{self.kind}({inner})" if inner else self.kind


Sampler = Callable[[np.random.Generator], dict[str, float]]


def _between(low: float, high: float) -> Sampler:
    return lambda rng: {"value": round(float(rng.uniform(low, high)), 4)}


def _shelf(low: bool) -> Sampler:
    def draw(rng: np.random.Generator) -> dict[str, float]:
        freq = rng.uniform(150, 300) if low else rng.uniform(3000, 6000)
        gain = rng.uniform(6, 10) * rng.choice([-1.0, 1.0])
        return {"hz": round(float(freq), 1), "db": round(float(gain), 2)}

    return draw


EDIT_KINDS: dict[str, Sampler] = {
    "exact": lambda rng: {},
    "trim_0.2": _between(0.16, 0.24),
    "trim_0.5": _between(0.4, 0.6),
    "trim_1": _between(0.8, 1.2),
    "trim_3": _between(2.6, 3.4),
    "offset_2s": _between(1.8, 2.2),
    "gain_+6db": _between(5.0, 7.0),
    "gain_-6db": _between(-7.0, -5.0),
    "eq_low_shelf": _shelf(low=True),
    "eq_high_shelf": _shelf(low=False),
    "pink_noise_20db": _between(18.0, 22.0),
    "pitch_+2pct": _between(1.5, 2.5),
    "pitch_-2pct": _between(-2.5, -1.5),
    "stretch_+3pct": _between(2.5, 3.5),
    "stretch_-3pct": _between(-3.5, -2.5),
    "speed_+2pct": _between(1.5, 2.5),
    "speed_-2pct": _between(-2.5, -1.5),
    "mp3_128k": lambda rng: {"kbps": 128.0},
    "excerpt_30s": lambda rng: {"seconds": 30.0, "jitter": round(float(rng.uniform(-5, 5)), 3)},
    # Hand-made kinds (not in the default single-edit set; see HANDMADE_COPIES):
    "lead_silence": _between(15.0, 40.0),
    "reversed": lambda rng: {},
    "first_half": lambda rng: {"value": round(float(rng.uniform(0.45, 0.55)), 4)},
    "second_half": lambda rng: {"value": round(float(rng.uniform(0.45, 0.55)), 4)},
}
"""Edit kind → parameter sampler. ``value`` is seconds (trims, offset, leading silence), dB
(gain), the SNR in dB (noise), a percentage (pitch, stretch, speed) or the share of the track
where a half ends or starts."""
SINGLE_EDITS: tuple[str, ...] = tuple(EDIT_KINDS)[: list(EDIT_KINDS).index("lead_silence")]
"""The single-edit copy kinds of the original suite."""
HANDMADE_COPIES: dict[str, tuple[tuple[str, ...], ...]] = {
    "speed_pitch": (("speed_+2pct", "pitch_-2pct"), ("speed_-2pct", "pitch_+2pct"),
                    ("speed_+2pct", "pitch_+2pct")),
    "pitch_stretch": (("pitch_+2pct", "stretch_-3pct"), ("pitch_-2pct", "stretch_+3pct")),
    "after_silence": (("lead_silence",), ("lead_silence", "gain_-6db")),
    "reversed_excerpt": (("excerpt_30s", "reversed"),),
    "split_upload": (("first_half",), ("second_half",)),
}  # fmt: skip
"""Hand-made copy kinds added after the first suite (``copy/<kind>``): each draws one of its
edit chains. ``split_upload`` is one copy split over two uploads of one account (both
halves are planned, each must be caught)."""

COMBINABLE: tuple[str, ...] = (
    "trim_0.2",
    "trim_0.5",
    "gain_+6db",
    "gain_-6db",
    "eq_low_shelf",
    "eq_high_shelf",
    "pink_noise_20db",
    "pitch_+2pct",
    "stretch_-3pct",
    "mp3_128k",
)
"""Edits a combined attack draws two or three of."""


def draw_edit(kind: str, rng: np.random.Generator) -> Edit:
    """An edit of ``kind`` with parameters drawn from its range.

    Raises:
        DatasetError: unknown kind.
    """
    if kind not in EDIT_KINDS:
        raise DatasetError(f"unknown edit {kind!r}; known: {', '.join(EDIT_KINDS)}")
    return Edit(kind=kind, params=EDIT_KINDS[kind](rng))


def draw_combined(rng: np.random.Generator, pool: Sequence[str] = COMBINABLE) -> list[Edit]:
    """Two or three different edits from ``pool`` (one trim at most; MP3 always last)."""
    n = int(rng.integers(2, 4))
    chosen: list[str] = []
    for kind in rng.permutation(list(pool)):
        if len(chosen) == n:
            break
        if kind.startswith("trim") and any(c.startswith("trim") for c in chosen):
            continue
        if kind.startswith("gain") and any(c.startswith("gain") for c in chosen):
            continue
        chosen.append(str(kind))
    chosen.sort(key=lambda k: k == "mp3_128k")
    return [draw_edit(k, rng) for k in chosen]


def _pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    scale = np.ones(len(spectrum))
    scale[1:] = 1.0 / np.sqrt(np.arange(1, len(spectrum)))
    scale[0] = 0.0
    noise = np.fft.irfft(spectrum * scale, n)
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12)


def _shelf_filter(audio: np.ndarray, sr: int, hz: float, db: float, low: bool) -> np.ndarray:
    """RBJ audio-EQ-cookbook shelving biquad (slope 1)."""
    a = 10 ** (db / 40)
    w0 = 2 * math.pi * hz / sr
    cos, alpha = math.cos(w0), math.sin(w0) / 2 * math.sqrt(2)
    sq = 2 * math.sqrt(a) * alpha
    sign = 1 if low else -1
    b = [
        a * ((a + 1) - sign * (a - 1) * cos + sq),
        2 * sign * a * ((a - 1) - sign * (a + 1) * cos),
        a * ((a + 1) - sign * (a - 1) * cos - sq),
    ]
    den = [
        (a + 1) + sign * (a - 1) * cos + sq,
        -2 * sign * ((a - 1) + sign * (a + 1) * cos),
        (a + 1) + sign * (a - 1) * cos - sq,
    ]
    return np.asarray(lfilter(np.array(b) / den[0], np.array(den) / den[0], audio))


def time_stretch(audio: np.ndarray, rate: float, n_fft: int = 2048, hop: int = 512) -> np.ndarray:
    """Phase-vocoder time stretch: ``rate`` > 1 is faster (shorter), pitch unchanged."""
    window = np.hanning(n_fft + 1)[:-1]
    padded = np.pad(np.asarray(audio, np.float64), n_fft // 2)
    if padded.size < n_fft + hop:
        return np.asarray(audio)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop] * window
    spec = np.fft.rfft(frames, axis=1)
    steps = np.arange(0, spec.shape[0] - 1, rate)
    i = steps.astype(int)
    frac = (steps - i)[:, None]
    magnitude = (1 - frac) * np.abs(spec[i]) + frac * np.abs(spec[i + 1])
    omega = 2 * np.pi * hop * np.arange(spec.shape[1]) / n_fft
    advance = np.angle(spec[i + 1]) - np.angle(spec[i]) - omega
    advance = omega + advance - 2 * np.pi * np.round(advance / (2 * np.pi))
    phase = np.angle(spec[0]) + np.vstack([np.zeros_like(omega), np.cumsum(advance, 0)[:-1]])
    out_frames = np.fft.irfft(magnitude * np.exp(1j * phase), n_fft, axis=1) * window
    length = hop * (len(steps) - 1) + n_fft
    out, norm = np.zeros(length), np.zeros(length)
    for k, frame in enumerate(out_frames):
        out[k * hop : k * hop + n_fft] += frame
        norm[k * hop : k * hop + n_fft] += window**2
    out = out / np.maximum(norm, 1e-8)
    target = round(len(audio) / rate)
    return out[n_fft // 2 : n_fft // 2 + target].astype(np.float32)


def _apply(edit: Edit, audio: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    kind, p = edit.kind, edit.params
    if kind in ("exact", "mp3_128k"):
        return audio
    if kind.startswith("trim"):
        return audio[round(p["value"] * sr) :]
    if kind == "offset_2s":
        return np.concatenate([np.zeros(round(p["value"] * sr), audio.dtype), audio])
    if kind.startswith("gain"):
        return np.clip(audio * 10 ** (p["value"] / 20), -1.0, 1.0)
    if kind.startswith("eq_"):
        return _shelf_filter(audio, sr, p["hz"], p["db"], low=kind == "eq_low_shelf")
    if kind == "pink_noise_20db":
        rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
        return audio + _pink_noise(len(audio), rng) * rms * 10 ** (-p["value"] / 20)
    if kind.startswith("pitch"):
        # Stretch to ratio × the length, then play it back ratio × faster: same length,
        # every frequency times the ratio.
        ratio = 1 + p["value"] / 100
        return np.asarray(soxr.resample(time_stretch(audio, 1 / ratio), sr * ratio, sr))
    if kind.startswith("stretch"):
        return time_stretch(audio, 1 + p["value"] / 100)
    if kind.startswith("speed"):
        # Played faster: fewer samples at the same rate, pitch and tempo both move.
        return np.asarray(soxr.resample(audio, sr * (1 + p["value"] / 100), sr, quality="HQ"))
    if kind == "lead_silence":
        return np.concatenate([np.zeros(round(p["value"] * sr), audio.dtype), audio])
    if kind == "reversed":
        return audio[::-1].copy()
    if kind == "first_half":
        return audio[: int(p["value"] * len(audio))]
    if kind == "second_half":
        return audio[int(p["value"] * len(audio)) :]
    if kind == "excerpt_30s":
        n = int(p["seconds"] * sr)
        middle = (len(audio) - n) / 2 + p["jitter"] * sr
        start = int(min(max(middle, 0), max(len(audio) - n, 0)))
        return audio[start : start + n]
    raise DatasetError(f"unknown edit {kind!r}")


def apply_edits(
    audio: np.ndarray, sr: int, edits: Sequence[Edit], rng: np.random.Generator
) -> np.ndarray:
    """``audio`` after every edit in order (an MP3 edit is applied when the file is written)."""
    out = np.asarray(audio, dtype=np.float32)
    for edit in edits:
        out = np.asarray(_apply(edit, out, sr, rng), dtype=np.float32)
    peak = float(np.max(np.abs(out))) if len(out) else 0.0
    return out / peak * 0.999 if peak > 1.0 else out


def wants_mp3(edits: Sequence[Edit]) -> bool:
    """Whether the copy must be written as an MP3 file."""
    return any(e.kind == "mp3_128k" for e in edits)


def encode_mp3(audio: np.ndarray, sr: int, path: Path, kbps: int = 128) -> None:
    """Write ``audio`` as an MP3 file at ``kbps`` through ``ffmpeg`` (libmp3lame).

    Raises:
        DatasetError: ffmpeg is missing or failed.
    """
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise DatasetError("MP3 edits need ffmpeg: `apt-get install ffmpeg`")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "in.wav"
        sf.write(str(wav), audio, sr, subtype="PCM_16")
        done = subprocess.run(
            [
                ffmpeg,
                "-nostdin",
                "-loglevel",
                "error",
                "-y",
                "-i",
                str(wav),
                "-codec:a",
                "libmp3lame",
                "-b:a",
                f"{kbps}k",
                str(path),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise DatasetError(f"ffmpeg could not encode {path.name}: {done.stderr.strip()}")


__all__ = [
    "COMBINABLE",
    "EDIT_KINDS",
    "HANDMADE_COPIES",
    "SINGLE_EDITS",
    "Edit",
    "apply_edits",
    "draw_combined",
    "draw_edit",
    "encode_mp3",
    "time_stretch",
    "wants_mp3",
]
