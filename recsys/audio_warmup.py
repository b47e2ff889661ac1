"""Compile the numba code behind the project's audio analysis once, in one process.

librosa caches its numba-compiled functions beside its own source. Two processes compiling
the same function for the first time at once can leave an index that points at another
process's machine code, and the next process to load it segfaults (seen when several
commands analysed audio at the same time on a fresh install). `make setup` runs this module
once after installing, so every later process only reads the cache.

Run it with ``python -m recsys.audio_warmup``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np


def warm_up() -> list[str]:
    """Analyse a short synthetic clip through every audio path the project uses; returns
    the names of the paths that ran."""
    import soundfile as sf

    from recsys.embeddings.audio import LibrosaAudioEncoder
    from recsys.integrity.audio import analyse_file, decode_audio
    from recsys.integrity.fingerprint import fingerprint_file

    sr = 22_050
    t = np.arange(int(3.0 * sr)) / sr
    rng = np.random.default_rng(0)
    y = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sign(np.sin(2 * np.pi * 2 * t))) / 2
    y = (y + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
    ran = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "warmup.wav"
        sf.write(path, y, sr)
        analyse_file(path)
        ran.append("integrity.analyse_file")
        decode_audio(path, 8000, 10.0)  # resampling, as the fingerprint decodes
        ran.append("integrity.decode_audio")
        fingerprint_file(path)
        ran.append("integrity.fingerprint_file")
        LibrosaAudioEncoder().encode_file(path)
        ran.append("embeddings.LibrosaAudioEncoder")
    return ran


if __name__ == "__main__":
    print("audio analysis compiled:", ", ".join(warm_up()))
