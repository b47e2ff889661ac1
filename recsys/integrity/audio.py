"""Audio vectors for the integrity jobs (near-duplicate search and the AI detector).

The project's audio encoder (``recsys.embeddings.audio``) is used when it is available; until
then, and for tracks it cannot read, this module computes plain content statistics itself:
librosa MFCC, chroma and spectral statistics from ``audio_path``, or the track's audio
descriptor columns when the dataset ships descriptors instead of audio. The output is
standardised per column so no feature dominates a cosine similarity.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from recsys.domain import Track

logger = logging.getLogger(__name__)

SAMPLE_RATE = 22_050
MAX_SECONDS = 30.0


def librosa_features(path: Path) -> np.ndarray:
    """Content statistics of one audio file (first 30 s, mono, 22.05 kHz): mean and standard
    deviation of 20 MFCCs, mean chroma, and mean/std of centroid, bandwidth, rolloff, flatness,
    zero-crossing rate and RMS energy (64 values)."""
    import librosa

    y, sr = librosa.load(str(path), sr=SAMPLE_RATE, mono=True, duration=MAX_SECONDS)
    if y.size < 2048:
        y = np.pad(y, (0, 2048 - y.size))
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)
    chroma = librosa.feature.chroma_stft(y=y, sr=sr)
    spectral = np.vstack(
        [
            librosa.feature.spectral_centroid(y=y, sr=sr) / sr,
            librosa.feature.spectral_bandwidth(y=y, sr=sr) / sr,
            librosa.feature.spectral_rolloff(y=y, sr=sr) / sr,
            librosa.feature.spectral_flatness(y=y),
            librosa.feature.zero_crossing_rate(y),
            librosa.feature.rms(y=y),
        ]
    )
    return np.concatenate(
        [mfcc.mean(1), mfcc.std(1), chroma.mean(1), spectral.mean(1), spectral.std(1)]
    ).astype(np.float32)


def descriptor_names(tracks: Sequence[Track]) -> list[str]:
    """Descriptor names present on any track, sorted."""
    return sorted({name for t in tracks for name in t.audio_descriptors})


def _resolve(path: str, root: Path | None) -> Path:
    p = Path(path)
    return p if p.is_absolute() or root is None else root / p


def raw_audio_features(tracks: Sequence[Track], root: Path | None = None) -> np.ndarray:
    """Unstandardised audio features, one row per track (NaN where a track has none).

    Uses librosa on ``audio_path`` when every track with a path can be read, plus the audio
    descriptors; columns a track lacks are NaN (LightGBM handles missing values; the
    near-duplicate search fills them with the column mean).
    """
    names = descriptor_names(tracks)
    desc = np.full((len(tracks), len(names)), np.nan, dtype=np.float32)
    for i, t in enumerate(tracks):
        for j, name in enumerate(names):
            if name in t.audio_descriptors:
                desc[i, j] = t.audio_descriptors[name]
    with_audio = [i for i, t in enumerate(tracks) if t.audio_path]
    if not with_audio:
        return desc
    rows: dict[int, np.ndarray] = {}
    for i in with_audio:
        path = _resolve(tracks[i].audio_path or "", root)
        try:
            rows[i] = librosa_features(path)
        except Exception as exc:  # a broken file must not stop the screen of the rest
            logger.warning("cannot read audio of %s (%s): %s", tracks[i].track_id, path, exc)
    width = len(next(iter(rows.values()))) if rows else 0
    audio = np.full((len(tracks), width), np.nan, dtype=np.float32)
    for i, row in rows.items():
        audio[i] = row
    return np.hstack([audio, desc])


def standardise(features: np.ndarray) -> np.ndarray:
    """Column z-scores with missing values at the column mean, then L2-normalised rows (so an
    inner product is a cosine similarity). Constant columns become 0."""
    x = np.array(features, dtype=np.float64)
    if x.size == 0:
        return x.astype(np.float32)
    x[:, np.isnan(x).all(0)] = 0.0
    mean = np.nanmean(x, axis=0)
    x = np.where(np.isnan(x), mean, x)
    std = x.std(0)
    z = (x - mean) / np.where(std > 0, std, 1.0)
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return (z / np.where(norms > 0, norms, 1.0)).astype(np.float32)


__all__ = ["descriptor_names", "librosa_features", "raw_audio_features", "standardise"]
