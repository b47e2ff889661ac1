"""Audio facts measured at build time (``recsys/embeddings/audio_facts.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.domain import Track
from recsys.embeddings.audio import LibrosaAudioEncoder
from recsys.embeddings.audio_facts import (
    KEY_NAMES,
    MIN_TEMPO_CONFIDENCE,
    estimate_key,
    facts_from_descriptors,
    facts_from_librosa,
    measure_tempo,
    tempo_from_onsets,
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


@pytest.mark.parametrize("bpm", [72.0, 150.0], ids=["72", "150"])
def test_a_steady_pulse_is_measured_with_confidence(tmp_path: Path, bpm: float) -> None:
    tempo, confidence = measure_tempo(str(_clicks(tmp_path / "c.wav", bpm)))
    assert abs(tempo - bpm) <= 0.04 * bpm
    assert confidence >= MIN_TEMPO_CONFIDENCE


def test_no_pulse_is_unreliable_and_no_onsets_is_unknown() -> None:
    rng = np.random.default_rng(0)
    _, confidence = tempo_from_onsets(rng.random(1300))
    assert confidence < MIN_TEMPO_CONFIDENCE
    tempo, confidence = tempo_from_onsets(np.zeros(1300))
    assert np.isnan(tempo) and confidence == 0.0


def test_build_tempi_are_cached_by_content(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from recsys.embeddings.audio_facts import measured_tempi

    clip = _clicks(tmp_path / "c.wav", 120.0)
    tracks = [
        Track(track_id="a", title="a", audio_path=str(clip)),
        Track(track_id="b", title="b"),
        Track(track_id="c", title="c", audio_path=str(tmp_path / "gone.wav")),
    ]
    ctx = SimpleNamespace(tracks=tracks, cache_dir=tmp_path / "cache")
    (tmp_path / "cache").mkdir()
    first = measured_tempi(ctx)  # type: ignore[arg-type]
    assert abs(first[0, 0] - 120.0) <= 4.8 and first[0, 1] >= MIN_TEMPO_CONFIDENCE
    assert np.isnan(first[1, 0]) and np.isnan(first[2, 0]) and first[2, 1] == 0.0
    _clicks(clip, 90.0)  # same path, new bytes: measured again
    again = measured_tempi(SimpleNamespace(tracks=tracks[:1], cache_dir=tmp_path / "cache"))  # type: ignore[arg-type]
    assert abs(again[0, 0] - 90.0) <= 3.6


def test_a_reliable_measurement_wins_over_a_claim_but_a_claim_names_the_octave() -> None:
    from recsys.embeddings.audio_facts import octave_of, settle_tempo

    sure, unsure = 0.9, 0.1
    tempi = np.array(
        [
            [176.0, sure],  # the claim's pulse doubled: the claim names the octave
            [44.5, sure],  # halved
            [130.0, sure],  # not an octave of 88: the measurement wins
            [176.0, unsure],  # unreliable: the claim stays
            [np.nan, 0.0],  # no audio: the claim stays
            [120.0, sure],  # no claim: measured
            [np.nan, 0.0],  # neither: unknown
            [89.5, sure],  # agrees with the claim: measured
        ]
    )
    declared = np.array([88.0, 88.0, 88.0, 88.0, 95.0, np.nan, np.nan, 88.0])
    tempo, counts = settle_tempo(tempi, declared)
    np.testing.assert_allclose(tempo[:6], [88.0, 88.0, 130.0, 88.0, 95.0, 120.0])
    assert np.isnan(tempo[6]) and tempo[7] == np.float32(89.5)
    assert counts == {"unreliable": 1, "confirmed": 1, "overridden": 1, "octave_from_claim": 2}
    assert not octave_of(np.array([100.0]), np.array([np.nan])).any()
    assert not octave_of(np.array([150.0]), np.array([88.0])).any()  # 1.7x is no octave
