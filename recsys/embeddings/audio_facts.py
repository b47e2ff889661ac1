"""Audio facts measured at build time: tempo, loudness, energy and key per track.

The ``audio_facts`` step of `liner build` writes ``catalog/tempo.npy`` (BPM),
``catalog/loudness_db.npy`` (mean RMS in dBFS), ``catalog/energy.npy`` (mean RMS) and
``catalog/key.npy`` (code into :data:`KEY_NAMES`, -1 unknown), one value per track row, NaN
where the track has no value. The values come from the service's own analysis of the audio
(the librosa feature rows the ``audio`` step computed and cached, so nothing is decoded
twice), or from a dataset's ``audio_tempo`` / ``audio_loudness`` / ``audio_energy``
descriptors when it ships descriptors instead of audio. A track with neither has no value,
and a constraint on that fact excludes it rather than letting it through.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from recsys.domain import Track
from recsys.embeddings.audio import N_MELS, N_MFCC, LibrosaAudioEncoder

if TYPE_CHECKING:
    from recsys.build import BuildContext

STEP_VERSION = "audio-facts-1"
FACT_FILES = {
    "tempo": "catalog/tempo.npy",
    "loudness_db": "catalog/loudness_db.npy",
    "energy": "catalog/energy.npy",
    "key": "catalog/key.npy",
}
PITCHES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
KEY_NAMES = tuple(f"{p} major" for p in PITCHES) + tuple(f"{p} minor" for p in PITCHES)
"""Key codes 0-11 are the major keys from C, 12-23 the minor ones."""

# Positions in a LibrosaAudioEncoder row (see its docstring for the layout).
_CHROMA = 2 * N_MELS + 2 * N_MFCC
_RMS_MEAN = _CHROMA + 12 + 7
_TEMPO = LibrosaAudioEncoder.dim - 1

# Krumhansl-Kessler key profiles.
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def estimate_key(chroma: np.ndarray) -> np.ndarray:
    """Key codes of ``n × 12`` mean chroma rows (Krumhansl-Schmuckler; -1 for a flat row)."""
    chroma = np.atleast_2d(np.asarray(chroma, dtype=np.float64))
    profiles = np.stack(
        [np.roll(_MAJOR, k) for k in range(12)] + [np.roll(_MINOR, k) for k in range(12)]
    )
    p = profiles - profiles.mean(axis=1, keepdims=True)
    c = chroma - chroma.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(c, axis=1, keepdims=True) * np.linalg.norm(p, axis=1)[None, :]
    corr = np.divide(c @ p.T, norms, out=np.zeros((len(c), 24)), where=norms > 0)
    codes = corr.argmax(axis=1).astype(np.int8)
    codes[np.linalg.norm(c, axis=1) < 1e-9] = -1
    return codes


def facts_from_librosa(raw: np.ndarray) -> dict[str, np.ndarray]:
    """Facts from :class:`LibrosaAudioEncoder` rows (an all-zero row is a track without
    audio: every fact NaN / -1)."""
    raw = np.asarray(raw, dtype=np.float64)
    has = np.any(raw != 0, axis=1)
    tempo = np.where(has & (raw[:, _TEMPO] > 0), raw[:, _TEMPO] * 200.0, np.nan)
    rms = np.where(has, raw[:, _RMS_MEAN], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        loudness = np.where(rms > 0, 20.0 * np.log10(rms), np.nan)
    key = estimate_key(raw[:, _CHROMA : _CHROMA + 12])
    key[~has] = -1
    return {
        "tempo": tempo.astype(np.float32),
        "loudness_db": loudness.astype(np.float32),
        "energy": rms.astype(np.float32),
        "key": key,
    }


def facts_from_descriptors(tracks: Sequence[Track]) -> dict[str, np.ndarray]:
    """Facts a dataset declares as ``audio_tempo`` / ``audio_loudness`` / ``audio_energy``."""
    n = len(tracks)
    out = {name: np.full(n, np.nan, dtype=np.float32) for name in ("tempo", "loudness_db")}
    out["energy"] = np.full(n, np.nan, dtype=np.float32)
    for i, t in enumerate(tracks):
        d = t.audio_descriptors
        for fact, key in (("tempo", "tempo"), ("loudness_db", "loudness"), ("energy", "energy")):
            value = d.get(key)
            if value is not None and np.isfinite(value) and (fact != "tempo" or value > 0):
                out[fact][i] = float(value)
    out["key"] = np.full(n, -1, dtype=np.int8)
    return out


def audio_facts_inputs(ctx: BuildContext) -> Any:
    return {
        "version": STEP_VERSION,
        "audio": ctx.file_sha("vectors/audio.npy"),
        "descriptors": [sorted(t.audio_descriptors.items()) for t in ctx.tracks],
    }


def audio_facts_run(ctx: BuildContext) -> dict[str, Any]:
    from recsys.embeddings.steps import _audio_encoder, _raw_audio

    facts = facts_from_descriptors(ctx.tracks)
    enc = _audio_encoder(ctx)
    if isinstance(enc, LibrosaAudioEncoder):
        # Measured beats declared: the audio is the service's own observation.
        measured = facts_from_librosa(_raw_audio(ctx, enc))
        for name, values in measured.items():
            known = values >= 0 if name == "key" else np.isfinite(values)
            facts[name] = np.where(known, values, facts[name]).astype(values.dtype)
    for name, rel in FACT_FILES.items():
        ctx.save_npy(rel, facts[name])
    return {
        "tracks": len(ctx.tracks),
        "with_tempo": int(np.isfinite(facts["tempo"]).sum()),
        "with_key": int((facts["key"] >= 0).sum()),
    }


def _register() -> None:
    from recsys.build import BuildStep, register_build_step

    register_build_step(
        BuildStep(name="audio_facts", run=audio_facts_run, inputs=audio_facts_inputs),
        after="indexes",
    )


_register()

__all__ = [
    "FACT_FILES",
    "KEY_NAMES",
    "audio_facts_inputs",
    "audio_facts_run",
    "estimate_key",
    "facts_from_descriptors",
    "facts_from_librosa",
]
