"""Audio facts measured at build time (``recsys/embeddings/audio_facts.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.domain import Track
from recsys.embeddings.audio import LibrosaAudioEncoder
from recsys.embeddings.audio_facts import (
    KEY_NAMES,
    estimate_key,
    facts_from_descriptors,
    facts_from_librosa,
)


def _clicks(path: Path, bpm: float, seconds: float = 12.0, sr: int = 16_000) -> Path:
    import soundfile as sf

    y = np.zeros(int(seconds * sr), dtype=np.float32)
    burst = (np.sin(2 * np.pi * 880 * np.arange(400) / sr) * np.hanning(400)).astype(np.float32)
    for start in np.arange(0, seconds, 60.0 / bpm):
        i = int(start * sr)
        y[i : i + 400] += burst[: len(y) - i]
    sf.write(path, y, sr)
    return path


@pytest.mark.parametrize("bpm", [90.0, 128.0], ids=["90", "128"])
def test_tempo_is_measured_from_the_audio(tmp_path: Path, bpm: float) -> None:
    rows = LibrosaAudioEncoder().encode([_clicks(tmp_path / "c.wav", bpm), None])
    facts = facts_from_librosa(rows)
    assert abs(facts["tempo"][0] - bpm) <= 0.05 * bpm
    assert np.isfinite(facts["loudness_db"][0]) and facts["energy"][0] > 0
    # No audio: no value, never a default.
    assert np.isnan(facts["tempo"][1]) and np.isnan(facts["energy"][1])
    assert facts["key"][1] == -1


def test_key_of_a_major_and_a_minor_profile() -> None:
    c_major = np.zeros(12)
    c_major[[0, 4, 7]] = 1.0  # C E G
    a_minor = np.zeros(12)
    a_minor[[9, 0, 4]] = 1.0  # A C E
    a_minor[9] = 2.0
    codes = estimate_key(np.stack([c_major, a_minor, np.zeros(12)]))
    assert [KEY_NAMES[c] for c in codes[:2]] == ["C major", "A minor"]
    assert codes[2] == -1


def test_declared_descriptors_fill_tracks_without_audio() -> None:
    tracks = [
        Track(track_id="a", title="a", audio_descriptors={"tempo": 101.5, "energy": 0.7}),
        Track(track_id="b", title="b", audio_descriptors={"tempo": 0.0}),
        Track(track_id="c", title="c"),
    ]
    facts = facts_from_descriptors(tracks)
    assert facts["tempo"][0] == pytest.approx(101.5) and facts["energy"][0] == pytest.approx(0.7)
    assert np.isnan(facts["tempo"][1]) and np.isnan(facts["tempo"][2])
