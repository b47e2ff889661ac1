"""The integrity audio cache keeps rows only for tracks with audio files: a catalog without
audio allocates and writes nothing per track, and a second run reuses what the first analysed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from recsys.domain import Track
from recsys.integrity.audio import (
    FINGERPRINT_DIM,
    FORENSIC_NAMES,
    extract_audio,
    extract_audio_cached,
)
from tests.recsys.integrity.clips import SR, performance, rendered_loop


def _tracks(tmp_path: Path) -> list[Track]:
    rng = np.random.default_rng(3)
    sf.write(tmp_path / "a.wav", rendered_loop(6, rng), SR)
    sf.write(tmp_path / "b.wav", performance(6, rng), SR)
    (tmp_path / "broken.wav").write_bytes(b"not audio")
    with_files = [Track(track_id=t, title=t, audio_path=f"{t}.wav") for t in ("a", "b", "broken")]
    plain = [Track(track_id=f"n{i}", title=f"n{i}") for i in range(50)]
    return [plain[0], with_files[0], *plain[1:25], with_files[1], with_files[2], *plain[25:]]


def test_rows_follow_the_catalog_and_the_cache_holds_only_tracks_with_audio(
    tmp_path: Path,
) -> None:
    tracks = _tracks(tmp_path)
    cache = tmp_path / "liner.integrity-audio.npz"
    first = extract_audio_cached(tracks, cache, tmp_path)
    assert first.fingerprint.shape == (len(tracks), FINGERPRINT_DIM)
    assert first.forensic.shape == (len(tracks), len(FORENSIC_NAMES))
    readable = ~np.isnan(first.fingerprint).all(axis=1)
    assert [t.track_id for t, ok in zip(tracks, readable, strict=True) if ok] == ["a", "b"]
    direct = extract_audio(tracks, tmp_path)
    np.testing.assert_array_equal(first.fingerprint, direct.fingerprint)
    np.testing.assert_array_equal(first.forensic, direct.forensic)
    with np.load(cache) as z:
        assert sorted(z.files) == ["fingerprint", "forensic", "keys"]
        assert len(z["keys"]) == 3  # a, b and the broken file; none of the 50 without audio

    (tmp_path / "a.wav").unlink()  # a second run reads the cache, not the file
    again = extract_audio_cached(tracks[::-1], cache, tmp_path)
    np.testing.assert_array_equal(again.fingerprint, first.fingerprint[::-1])


def test_a_catalog_without_audio_gets_zero_columns_and_no_cache(tmp_path: Path) -> None:
    tracks = [Track(track_id=f"n{i}", title=f"n{i}") for i in range(20)]
    cache = tmp_path / "liner.integrity-audio.npz"
    features = extract_audio_cached(tracks, cache, tmp_path)
    assert features.fingerprint.shape == (20, 0)
    assert features.forensic.shape == (20, 0)
    assert not cache.exists()


def test_a_cache_of_an_older_layout_is_analysed_again(tmp_path: Path) -> None:
    tracks = _tracks(tmp_path)
    cache = tmp_path / "liner.integrity-audio.npz"
    keys = np.asarray([f"{t.track_id}\t{t.audio_path or ''}" for t in tracks])
    np.savez(cache, keys=keys, fingerprint=np.zeros((len(tracks), 7)), forensic=np.zeros((1, 2)))
    features = extract_audio_cached(tracks, cache, tmp_path)
    np.testing.assert_array_equal(features.fingerprint, extract_audio(tracks, tmp_path).fingerprint)
