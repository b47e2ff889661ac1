"""Machine-audio cues on audio made here: renders repeat exactly, hold their pitch and have no
noise floor; a performance does none of that; a render dressed as a recording (hiss, tape
wow, new gain) still repeats itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from recsys.domain import Track
from recsys.integrity.machine_audio import (
    CUE_NAMES,
    extract_machine_cues_cached,
    machine_cue_cache,
    machine_cues,
    noise_floor,
    repeat_residual,
    steady_pitch_share,
)
from recsys.integrity.machine_evidence import REFERENCE_BOUNDS, machine_score
from tests.recsys.integrity.clips import (
    SR,
    dressed,
    performance,
    rendered_loop,
    rendered_melody,
)

SEEDS = (0, 1, 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_render_shows_all_three_cues_and_a_performance_none(seed: int) -> None:
    rng = np.random.default_rng(seed)
    loop, played = rendered_loop(12, rng), performance(12, rng)
    assert repeat_residual(loop) < REFERENCE_BOUNDS["repeat_residual"].bound
    assert steady_pitch_share(loop) > REFERENCE_BOUNDS["steady_pitch_share"].bound
    assert noise_floor(loop) < REFERENCE_BOUNDS["floor_db"].bound
    assert repeat_residual(played) > 0.3
    assert steady_pitch_share(played) < REFERENCE_BOUNDS["steady_pitch_share"].bound
    assert noise_floor(played) > -70
    assert machine_score(machine_cues(loop))[0] >= 0
    assert machine_score(machine_cues(played))[0] < 0


@pytest.mark.parametrize("seed", SEEDS)
def test_a_render_that_never_repeats_is_caught_by_pitch_and_floor(seed: int) -> None:
    cues = machine_cues(rendered_melody(12, np.random.default_rng(seed)))
    assert cues[0] > 0.3  # nothing repeats
    assert machine_score(cues)[0] >= 0


def test_a_dressed_render_still_repeats_itself() -> None:
    scores = []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        cues = machine_cues(dressed(rendered_loop(12, rng), rng))
        assert cues[CUE_NAMES.index("floor_db")] > -60  # the hiss hides the floor
        assert cues[CUE_NAMES.index("steady_pitch_share")] < 0.12  # the wow hides the pitch
        assert cues[CUE_NAMES.index("repeat_residual")] < REFERENCE_BOUNDS["repeat_residual"].bound
        scores.append(float(machine_score(cues)[0]))
    # One hard cue alone must lie half a decade past its bound. Seed 1's loop is 8 ms off the
    # analysis frame grid (residual 0.0075, 0.47 decades past): a known miss, as 4 of the
    # tuning seed's 156 dressed renders are.
    assert [s >= 0 for s in scores] == [True, False, True]


def test_silence_and_short_clips_give_no_repetition_cue() -> None:
    assert np.isnan(repeat_residual(np.zeros(20 * SR, dtype=np.float32)))
    assert np.isnan(repeat_residual(rendered_loop(3, np.random.default_rng(0))))


def test_cues_are_cached_per_track_and_path(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    sf.write(tmp_path / "a.wav", rendered_loop(8, rng), SR)
    sf.write(tmp_path / "b.wav", performance(8, rng), SR)
    (tmp_path / "broken.wav").write_bytes(b"not audio")
    tracks = [
        Track(track_id=tid, title=tid, audio_path=f"{tid}.wav") for tid in ("a", "b", "broken")
    ]
    cache = machine_cue_cache(tmp_path / "liner.integrity-audio.npz")
    assert cache.name == "liner.integrity-machine.npz"
    first = extract_machine_cues_cached(tracks, cache, tmp_path)
    assert set(first) == {"a", "b"}  # the broken upload is skipped, the rest go on
    (tmp_path / "a.wav").unlink()  # a second run reads the cache, not the file
    again = extract_machine_cues_cached(tracks, cache, tmp_path)
    np.testing.assert_array_equal(again["a"], first["a"])


def test_a_recordings_digital_silence_is_no_loop_and_no_missing_floor() -> None:
    # A hidden-track style upload: 20 s of playing, then 30 s of digital zeros.
    played = performance(20, np.random.default_rng(9))
    padded = np.concatenate([np.zeros(SR, np.float32), played, np.zeros(30 * SR, np.float32)])
    cues = machine_cues(padded)
    assert cues[CUE_NAMES.index("repeat_residual")] > 0.3
    assert cues[CUE_NAMES.index("floor_db")] > -70
    assert machine_score(cues)[0] < 0
