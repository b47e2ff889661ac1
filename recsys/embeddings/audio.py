"""Audio content embeddings behind one :class:`AudioEncoder` interface.

Encoders return *raw* feature rows (zeros where a track has no usable audio); the build
standardises and PCA-reduces them with statistics fitted only on tracks whose rights holders
grant ``ai_training`` (:class:`recsys.embeddings.fusion.PcaReducer`).

- :class:`LibrosaAudioEncoder`: log-mel, MFCC, chroma and spectral-contrast statistics plus
  tempo from audio files (first 30 s at 16 kHz by default).
- :class:`DescriptorAudioEncoder`: the ``audio_*`` descriptor columns of datasets that ship
  descriptors instead of audio (the Spotify datasets).
- :func:`load_audio_encoder`: any user-provided encoder (CLAP, MERT, ...) named ``module:Class``.
"""

from __future__ import annotations

import importlib
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from recsys.errors import ConfigError

logger = logging.getLogger(__name__)

N_MELS = 32
N_MFCC = 20


@runtime_checkable
class AudioEncoder(Protocol):
    """Turns a batch of tracks' audio into feature rows.

    Attributes:
        name: identifies the encoder and its version (part of the build's input hash).
        dim: length of each row.
    """

    name: str
    dim: int

    def encode(self, inputs: Any) -> np.ndarray:
        """``n × dim`` float32 rows for ``n`` inputs; zero rows where audio is unusable."""
        ...


class LibrosaAudioEncoder:
    """Content statistics computed from audio files with librosa.

    Per track: mean and std of a 32-band log-mel spectrogram and 20 MFCCs, mean of 12 chroma
    bins and 7 spectral-contrast bands, mean and std of RMS, spectral centroid and
    zero-crossing rate, and the estimated tempo: 130 numbers. Only the first
    ``seconds`` are decoded, resampled to ``sample_rate``, so a track costs tens of
    milliseconds.
    """

    dim = 2 * N_MELS + 2 * N_MFCC + 12 + 7 + 6 + 1

    def __init__(self, *, sample_rate: int = 16_000, seconds: float = 30.0) -> None:
        self.sample_rate = sample_rate
        self.seconds = seconds
        self.name = f"librosa-v1-{sample_rate}-{seconds:g}"

    def encode_file(self, path: str | Path) -> np.ndarray:
        """Feature row of one file; raises ``OSError``/``ValueError`` when unreadable."""
        with warnings.catch_warnings():
            # librosa warns on silent or very short clips; such rows are still valid features.
            warnings.simplefilter("ignore")
            return self._features(path)

    def _features(self, path: str | Path) -> np.ndarray:
        import librosa

        y, sr = librosa.load(str(path), sr=self.sample_rate, mono=True, duration=self.seconds)
        if y.size < 2048:
            y = np.pad(y, (0, 2048 - y.size))
        stft = np.abs(librosa.stft(y, n_fft=1024, hop_length=512))
        mel = librosa.power_to_db(librosa.feature.melspectrogram(S=stft**2, sr=sr, n_mels=N_MELS))
        mfcc = librosa.feature.mfcc(S=mel, n_mfcc=N_MFCC)
        chroma = librosa.feature.chroma_stft(S=stft**2, sr=sr, tuning=0.0)
        contrast = librosa.feature.spectral_contrast(S=stft, sr=sr, fmin=100.0, n_bands=6)
        rms = librosa.feature.rms(S=stft, frame_length=1024)
        centroid = librosa.feature.spectral_centroid(S=stft, sr=sr) / (sr / 2)
        zcr = librosa.feature.zero_crossing_rate(y, hop_length=512)
        onset = librosa.onset.onset_strength(y=y, sr=sr, hop_length=512)
        tempo = float(np.atleast_1d(librosa.feature.tempo(onset_envelope=onset, sr=sr))[0])
        parts = [
            mel.mean(1), mel.std(1), mfcc.mean(1), mfcc.std(1), chroma.mean(1), contrast.mean(1),
            [rms.mean(), rms.std(), centroid.mean(), centroid.std(), zcr.mean(), zcr.std()],
            [tempo / 200.0],
        ]  # fmt: skip
        return np.concatenate([np.asarray(p, dtype=np.float32).ravel() for p in parts])

    def encode(self, inputs: Any) -> np.ndarray:
        """Rows for a sequence of paths (``None`` or unreadable files give zero rows)."""
        paths: Sequence[str | Path | None] = list(inputs)
        out = np.zeros((len(paths), self.dim), dtype=np.float32)
        for i, path in enumerate(paths):
            if not path:
                continue
            try:
                out[i] = self.encode_file(path)
            except (OSError, ValueError, RuntimeError) as exc:
                logger.warning("cannot read audio %s: %s", path, exc)
        return out


class DescriptorAudioEncoder:
    """Audio descriptor columns (``audio_danceability``, ``audio_tempo``, ...) as features.

    Missing values become the column mean of the batch (so they carry no signal after
    standardisation); a row with no descriptor at all is a zero row.
    """

    def __init__(self, columns: Sequence[str]) -> None:
        if not columns:
            raise ConfigError("DescriptorAudioEncoder needs at least one audio_* column")
        self.columns = sorted(columns)
        self.dim = len(self.columns)
        self.name = "descriptors-v1:" + ",".join(self.columns)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> DescriptorAudioEncoder:
        """An encoder over every ``audio_*`` numeric column except ``audio_path``."""
        cols = [
            c
            for c in frame.columns
            if c.startswith("audio_")
            and c != "audio_path"
            and pd.api.types.is_numeric_dtype(frame[c])
        ]
        return cls(cols)

    def encode(self, inputs: Any) -> np.ndarray:
        """Rows for a frame with the descriptor columns (absent columns count as missing)."""
        frame = inputs if isinstance(inputs, pd.DataFrame) else pd.DataFrame(list(inputs))
        x = np.full((len(frame), self.dim), np.nan, dtype=np.float64)
        for j, col in enumerate(self.columns):
            if col in frame.columns:
                x[:, j] = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
        missing = np.isnan(x)
        empty = np.asarray(missing.all(axis=1))
        counts = (~missing).sum(axis=0)
        means = np.where(missing, 0.0, x).sum(axis=0) / np.maximum(counts, 1)
        x = np.where(missing, means[None, :], x)
        x[empty] = 0.0
        return x.astype(np.float32)


def load_audio_encoder(spec: str, weights_path: str | None = None) -> AudioEncoder:
    """Instantiate a user-provided encoder named ``module:Class``.

    The class is called with ``weights_path=...`` when a path is given (so a CLAP or MERT
    wrapper can load local weights offline) and must provide ``name``, ``dim`` and ``encode``.

    Raises:
        ConfigError: when the spec cannot be imported or the object is not an encoder.
    """
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"audio encoder {spec!r} must look like 'package.module:ClassName'")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
        encoder = cls(weights_path=weights_path) if weights_path else cls()
    except (ImportError, AttributeError, TypeError, OSError) as exc:
        raise ConfigError(f"cannot load audio encoder {spec!r}: {exc}") from exc
    if not isinstance(encoder, AudioEncoder):
        raise ConfigError(f"{spec!r} lacks name, dim or encode(); see AudioEncoder")
    return encoder


__all__ = ["AudioEncoder", "DescriptorAudioEncoder", "LibrosaAudioEncoder", "load_audio_encoder"]
