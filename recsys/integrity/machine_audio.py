"""Cues that audio was rendered by a machine rather than recorded.

A renderer (a text-to-music service's synthesis stage, a sequencer driven by a script, `sox
synth`, numpy) leaves traces a microphone and a performer do not, each measured here on its
own so a dispute can say which ones it saw:

- **repetition** (``repeat_residual``): the same material renders to the same audio. The
  spectrogram at the best lag (1 s up to most of the track) is compared with itself; a loop
  rendered twice differs only by the frame grid and any noise added afterwards (residual
  energy a few thousandths of the music's), while a part played twice, or even a
  sample-based recording mixed twice, differs by tenths. Energy-weighted, so quiet passages
  and added noise barely count.
- **steady pitch** (``steady_pitch_share``): synthesised notes hold an exact frequency.
  Spectral peaks are followed from frame to frame (quadratically interpolated on a 4096-point
  spectrum); the share of their loudness that moves less than a tenth of a cent is large for
  a renderer and a few per cent for voices and instruments (vibrato, bowing, tape, room).
- **noise floor** (``floor_db``): a recording chain has one (hiss, room, preamp); a renderer
  writes digital silence under the music. The quietest tenth of the frames in the quietest
  band, relative to the median frame level. Easy to fake by adding noise, so never enough on
  its own (see :mod:`recsys.integrity.machine_score`).

Each cue is computed on the first :data:`MAX_SECONDS` at :data:`SAMPLE_RATE`; a clip shorter
than :data:`MIN_REPEAT_SECONDS` has no repetition cue (NaN).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from recsys.domain import Track
from recsys.parallel import Failed, parallel_map

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
MAX_SECONDS = 90.0
MIN_REPEAT_SECONDS = 6.0
"""Shortest clip with a repetition cue: a lag of at least 1 s, compared over at least 4 s."""
MIN_LAG_S = 1.0
MIN_OVERLAP_S = 4.0
ACTIVE_SHARE = 0.25
"""Repetition is compared only where the frames carry this share of the clip's mean energy."""
ACTIVE_DB = 40.0
"""The floor is read on frames within this many dB of the loud frames (the 90th percentile)."""
CUE_NAMES: tuple[str, ...] = ("repeat_residual", "steady_pitch_share", "floor_db")
_EPS = 1e-12


def _frames(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Magnitude spectrogram (bins × frames), Hann window."""
    if y.size < n_fft:
        y = np.pad(y, (0, n_fft - y.size))
    count = 1 + (y.size - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(count)[:, None]
    window = np.hanning(n_fft).astype(np.float32)
    return np.abs(np.fft.rfft(y[index] * window, axis=1)).T.astype(np.float32)


def repeat_residual(y: np.ndarray, sr: int = SAMPLE_RATE) -> float:
    """Energy of the difference between the spectrogram and itself at the best lag, relative
    to the energy compared (0: an exact repeat; 1: unrelated material of equal level).

    Lags from :data:`MIN_LAG_S` while at least :data:`MIN_OVERLAP_S` overlap, and only where
    the frames compared carry at least :data:`ACTIVE_SHARE` of the clip's mean energy (digital
    silence repeats exactly too: a recording's silent tail is no loop); NaN when the clip is
    too short or silent.
    """
    hop = 256 * sr // 16_000
    n_fft = 4 * hop
    if y.size < MIN_REPEAT_SECONDS * sr:
        return float("nan")
    mag = _frames(y, n_fft, hop)
    # Coarse bands (log-spaced) keep the cost down and forgive a fraction-of-a-frame offset.
    edges = np.unique(np.geomspace(2, mag.shape[0] - 1, 49).astype(int))
    bands = np.add.reduceat(mag**2, edges[:-1], axis=0)
    a = np.sqrt(bands).astype(np.float64)  # bands × frames
    frames = a.shape[1]
    min_lag = round(MIN_LAG_S * sr / hop)
    min_overlap = round(MIN_OVERLAP_S * sr / hop)
    if frames - min_lag < min_overlap:
        return float("nan")
    size = 1 << int(np.ceil(np.log2(2 * frames)))
    spectrum = np.fft.rfft(a, n=size, axis=1)
    cross = np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=1)[:, :frames].sum(axis=0)
    energy = (a**2).sum(axis=0)
    cumulative = np.concatenate([[0.0], np.cumsum(energy)])
    lags = np.arange(min_lag, frames - min_overlap + 1)
    head = cumulative[frames - lags]  # frames 0 .. T-lag-1
    tail = cumulative[frames] - cumulative[lags]  # frames lag .. T-1
    total = head + tail
    active = (total > _EPS) & (total / (2 * (frames - lags)) >= ACTIVE_SHARE * energy.mean())
    if not active.any():
        return float("nan")
    residual = (total - 2 * cross[lags]) / np.maximum(total, _EPS)
    return float(np.clip(residual[active].min(), 0.0, 1.0))


STEADY_CENTS = 0.1
"""A spectral peak whose frequency moves less than this between frames holds its pitch."""


def steady_pitch_share(y: np.ndarray, sr: int = SAMPLE_RATE) -> float:
    """Share of the loudness of persisting spectral peaks whose frequency moves less than
    :data:`STEADY_CENTS` from one frame (32 ms) to the next (NaN without any peaks).

    A synthesised note holds its frequency exactly, so most of a render's tonal energy is
    steady (0.25-0.9 on the suite's tuning renders, after Ogg Vorbis); voices, bowed and blown
    instruments, vibrato, tape and room move it, so real recordings keep a few per cent (at
    most 0.07 there).
    """
    changes = peak_changes(y, sr)
    if changes is None:
        return float("nan")
    change, weight = changes
    total = float(weight.sum())
    return float(weight[change < STEADY_CENTS].sum() / total) if total > 0 else float("nan")


def peak_changes(y: np.ndarray, sr: int = SAMPLE_RATE) -> tuple[np.ndarray, np.ndarray] | None:
    """Frame-to-frame change (cents) and loudness of every persisting spectral peak."""
    n_fft, hop = 4096 * sr // 16_000, 512 * sr // 16_000
    mag = _frames(y, n_fft, hop)
    if mag.shape[1] < 2:
        return None
    db = 20 * np.log10(mag + 1e-9)
    top = db.max()
    low = max(2, int(60 * n_fft / sr))  # above 60 Hz
    high = int(4000 * n_fft / sr)
    core = db[low - 1 : high + 1]
    centre = core[1:-1]
    peaks = (centre > core[:-2]) & (centre >= core[2:])
    # Strong peaks only: within 40 dB of the frame's loudest and 50 dB of the track's.
    frame_max = centre.max(axis=0, keepdims=True)
    peaks &= (centre > frame_max - 40) & (centre > top - 50)
    left, right = core[:-2], core[2:]
    denom = left - 2 * centre + right
    offset = np.where(
        np.abs(denom) > 1e-9, 0.5 * (left - right) / np.where(denom == 0, 1, denom), 0
    )
    offset = np.clip(offset, -0.5, 0.5)
    freq = np.arange(low, high)[:, None] + offset  # in bins (the unit cancels in cents)
    # A peak persists when the next frame has one in the same bin, else one bin down, else up.
    now, nxt = peaks[:, :-1], peaks[:, 1:]
    same = now & nxt
    down = now & ~same & np.pad(nxt[:-1], ((1, 0), (0, 0)))
    up = now & ~same & ~down & np.pad(nxt[1:], ((0, 1), (0, 0)))
    f0, f1 = freq[:, :-1], freq[:, 1:]
    shifted_down = np.pad(f1[:-1], ((1, 0), (0, 0)), constant_values=1.0)
    shifted_up = np.pad(f1[1:], ((0, 1), (0, 0)), constant_values=1.0)
    matched = same | down | up
    if not matched.any():
        return None
    follow = np.where(same, f1, np.where(down, shifted_down, shifted_up))
    change = np.abs(1200 * np.log2(follow[matched] / f0[matched]))
    return change, 10 ** (centre[:, :-1][matched] / 20)


def noise_floor(y: np.ndarray, sr: int = SAMPLE_RATE) -> float:
    """The quietest tenth of the frames in the quietest of eight bands above 500 Hz, in dB
    relative to the median frame level, over the frames where music plays (within
    :data:`ACTIVE_DB` of the loud frames: pauses and a silent tail are not the floor under the
    music); very low: digital silence under the music. NaN for a silent clip."""
    hop, n_fft = 512 * sr // 16_000, 2048 * sr // 16_000
    power = _frames(y, n_fft, hop).astype(np.float64) ** 2
    level = 10 * np.log10(power.sum(axis=0) + _EPS)
    playing = level >= np.percentile(level, 90) - ACTIVE_DB
    if level.max() <= 10 * np.log10(_EPS) + 1:
        return float("nan")
    power, level = power[:, playing], level[playing]
    low = int(500 * n_fft / sr)
    edges = np.linspace(low, power.shape[0], 9).astype(int)
    floors = [
        np.percentile(10 * np.log10(power[a:b].sum(axis=0) + _EPS), 10)
        for a, b in itertools.pairwise(edges)
    ]
    return float(min(floors) - np.median(level))


def machine_cues(y: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """The :data:`CUE_NAMES` of mono audio ``y`` at ``sr``."""
    y = np.asarray(y, dtype=np.float32)
    return np.array(
        [repeat_residual(y, sr), steady_pitch_share(y, sr), noise_floor(y, sr)], dtype=np.float64
    )


def analyse_machine_cues(path: Path) -> np.ndarray:
    """:func:`machine_cues` of an audio file's first :data:`MAX_SECONDS`.

    Raises:
        AudioDecodeError: the file cannot be decoded or is empty.
    """
    from recsys.integrity.audio import decode_audio

    y, _ = decode_audio(path, SAMPLE_RATE, MAX_SECONDS)
    return machine_cues(y, SAMPLE_RATE)


def extract_machine_cues(tracks: Sequence[Track], root: Path | None = None) -> np.ndarray:
    """Cues of every track with an audio file (``len(tracks) × len(CUE_NAMES)``; NaN rows
    for tracks without readable audio: one broken upload must not stop the rest)."""
    out = np.full((len(tracks), len(CUE_NAMES)), np.nan)
    todo = []
    for i, t in enumerate(tracks):
        if t.audio_path:
            p = Path(t.audio_path)
            todo.append((i, p if p.is_absolute() or root is None else root / p))
    done = parallel_map(
        analyse_machine_cues, [p for _, p in todo], desc="machine cues", unit="clip",
        errors="return",
    )  # fmt: skip
    for (i, path), result in zip(todo, done, strict=True):
        if isinstance(result, Failed):
            logger.warning("no machine cues for %s (%s): %s", tracks[i].track_id, path, result)
        else:
            out[i] = result
    return out


def machine_cue_cache(audio_cache: Path) -> Path:
    """The cue cache kept beside the audio-analysis cache (``liner.integrity-audio.npz`` →
    ``liner.integrity-machine.npz``)."""
    name = audio_cache.name.replace(".integrity-audio", "")
    return audio_cache.with_name(f"{Path(name).stem}.integrity-machine.npz")


def extract_machine_cues_cached(
    tracks: Sequence[Track], cache: Path | None, root: Path | None = None
) -> dict[str, np.ndarray]:
    """Cues by track id for ``tracks`` (those with readable audio), reusing rows of an
    ``.npz`` cache whose track id, audio path and cue names are unchanged."""
    keys = [f"{t.track_id}\t{t.audio_path or ''}" for t in tracks]
    old: dict[str, np.ndarray] = {}
    if cache is not None and cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as z:
                if tuple(str(n) for n in z["names"]) == CUE_NAMES:
                    old = {str(k): v for k, v in zip(z["keys"], z["cues"], strict=True)}
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("ignoring unreadable machine-cue cache %s: %s", cache, exc)
    todo = [i for i, k in enumerate(keys) if k not in old and tracks[i].audio_path]
    fresh = extract_machine_cues([tracks[i] for i in todo], root)
    for k, i in enumerate(todo):
        old[keys[i]] = fresh[k]
    if cache is not None and todo:
        cache.parent.mkdir(parents=True, exist_ok=True)
        names = np.asarray(sorted(old))
        np.savez(cache, keys=names, cues=np.stack([old[str(k)] for k in names]),
                 names=np.asarray(CUE_NAMES))  # fmt: skip
    out: dict[str, np.ndarray] = {}
    for t, key in zip(tracks, keys, strict=True):
        cues = old.get(key)
        if cues is not None and np.isfinite(cues).any():
            out[t.track_id] = cues
    return out


__all__ = [
    "CUE_NAMES",
    "MAX_SECONDS",
    "SAMPLE_RATE",
    "analyse_machine_cues",
    "extract_machine_cues",
    "extract_machine_cues_cached",
    "machine_cue_cache",
    "machine_cues",
    "noise_floor",
    "peak_changes",
    "repeat_residual",
    "steady_pitch_share",
]
