"""Landmark fingerprints on real recordings: edited copies match their original at the right
offset, unrelated music does not, and broken files get a reason instead of a crash."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from recsys.domain import Track
from recsys.integrity.audio import decode_audio
from recsys.integrity.fingerprint import SAMPLE_RATE, fingerprint_signal
from recsys.integrity.fingerprint_cache import fingerprint_tracks
from recsys.integrity.fingerprint_index import FingerprintIndex
from recsys.integrity.neardup import MIN_SCORE

SR = SAMPLE_RATE
MUSIC_DIRS = (
    Path("/usr/share/games/wesnoth/1.16/data/core/music"),
    Path("/usr/share/hyperrogue/music"),
    Path("/usr/share/games/asc/music"),
)
FMA = Path(__file__).resolve().parents[4] / "shared/datasets/fma-sample-clip/000002.mp3"
PIECE_S = 20.0
COPY_FLOOR = 0.09  # unrelated music scores under 0.03 (test below)


def _real_files() -> list[Path]:
    found = sorted(p for d in MUSIC_DIRS if d.is_dir() for p in d.glob("*.ogg"))
    long_enough = [p for p in found if sf.info(str(p)).duration >= 45]
    return long_enough[:: max(1, len(long_enough) // 4)][:4]


@pytest.fixture(scope="module")
def pieces() -> list[np.ndarray]:
    """Four 20 s excerpts of different real pieces (from 10 s in, past any intro silence)."""
    files = _real_files()
    if len(files) < 4:
        pytest.skip(
            "needs real music: apt-get install wesnoth-1.16-music hyperrogue-music asc-music"
        )
    out = []
    for path in files:
        y, _ = decode_audio(path, SR, 10 + PIECE_S)
        out.append(y[10 * SR :])
    return out


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(spectrum.size), 1))
    noise = np.fft.irfft(spectrum, n)
    return noise / noise.std()


def _mp3(y: np.ndarray, folder: Path) -> np.ndarray:
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg for the MP3 round trip: apt-get install ffmpeg")
    wav, mp3 = folder / "in.wav", folder / "out.mp3"
    sf.write(str(wav), y, SR)
    cmd = ["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), "-b:a", "128k", str(mp3)]
    subprocess.run(cmd, check=True)
    return decode_audio(mp3, SR, 60)[0]


def _resample(y: np.ndarray, ratio: float) -> np.ndarray:
    """Played ``ratio`` times faster: pitch and tempo both up by ``ratio``."""
    src = np.arange(0, y.size - 1, ratio)
    return np.interp(src, np.arange(y.size), y).astype(np.float32)


def _edits(y: np.ndarray, tmp: Path) -> dict[str, tuple[np.ndarray, float]]:
    """Edited copies and where each one's start sits in the original, in seconds."""
    import librosa

    rng = np.random.default_rng(3)
    lead = np.zeros(2 * SR, dtype=np.float32)
    return {
        "trim 0.5 s": (y[SR // 2 :], 0.5),
        "trim 3 s": (y[3 * SR :], 3.0),
        "2 s leading silence": (np.concatenate([lead, y]), -2.0),
        "gain -6 dB + pink noise 20 dB SNR": (
            0.5 * y + 0.05 * y.std() * _pink(y.size, rng).astype(np.float32),
            0.0,
        ),
        "10 s excerpt": (y[4 * SR : 14 * SR], 4.0),
        "pitch +2 %": (librosa.effects.pitch_shift(y, sr=SR, n_steps=12 * np.log2(1.02)), 0.0),
        "time-stretch -3 %": (librosa.effects.time_stretch(y, rate=0.97), 0.0),
        "speed +2 %": (_resample(y, 1.02), 0.0),
        "mp3 128 kbit/s": (_mp3(y, tmp), 0.0),
    }


def test_edited_copies_match_their_original_at_the_right_offset(
    pieces: list[np.ndarray], tmp_path: Path
) -> None:
    originals = pieces[:3]
    index = FingerprintIndex.build(["a", "b", "c"], [fingerprint_signal(y) for y in originals])
    for k, y in enumerate(originals[:2]):
        for name, (copy, start) in _edits(y, tmp_path).items():
            found = index.match(fingerprint_signal(copy))
            assert found, name
            best = found[0]
            assert best.track_id == "abc"[k], name
            # Every edit clears the fingerprint's own copy floor; whether it clears the
            # screen's threshold (neardup) is measured on full-length tracks in the suite:
            # a phase-vocoder stretch of a 20 s piece scores ~0.10-0.12 here, 0.25+ there.
            assert best.score >= COPY_FLOOR, (name, best)
            assert best.offset_s == pytest.approx(start, abs=0.3), (name, best)
            assert all(m.score < MIN_SCORE for m in found[1:]), (name, found)


def test_unrelated_music_does_not_match(pieces: list[np.ndarray]) -> None:
    index = FingerprintIndex.build(["a", "b", "c"], [fingerprint_signal(y) for y in pieces[:3]])
    found = index.match(fingerprint_signal(pieces[3]))
    assert all(m.score < min(MIN_SCORE, COPY_FLOOR / 3) for m in found), found


def test_index_round_trips_through_memory_mapped_files(
    pieces: list[np.ndarray], tmp_path: Path
) -> None:
    index = FingerprintIndex.build(["a", "b"], [fingerprint_signal(y) for y in pieces[:2]])
    index.save(tmp_path / "index")
    loaded = FingerprintIndex.load(tmp_path / "index")
    query = fingerprint_signal(pieces[1][3 * SR :])
    assert loaded.match(query) == index.match(query)
    assert isinstance(loaded.rows, np.memmap)


def test_broken_files_get_a_reason_and_the_batch_goes_on(
    pieces: list[np.ndarray], tmp_path: Path
) -> None:
    good = tmp_path / "good.flac"
    sf.write(str(good), pieces[0], SR)
    (tmp_path / "garbage.flac").write_bytes(b"not audio at all" * 100)
    (tmp_path / "empty.wav").write_bytes(b"")
    renamed = tmp_path / "really_flac.mp3"
    shutil.copy(good, renamed)
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(SR, dtype=np.float32), SR)
    names = ["good.flac", "garbage.flac", "empty.wav", "missing.ogg", "really_flac.mp3"]
    tracks = [
        Track(track_id=f"t{i}", title=n, audio_path=n) for i, n in enumerate([*names, "silent.wav"])
    ]
    cache = tmp_path / "fingerprints"
    found = fingerprint_tracks(tracks, tmp_path, cache)
    assert found.fingerprints[0] is not None and found.fingerprints[4] is not None
    assert set(found.unreadable) == {"t1", "t2", "t3", "t5"}
    assert "cannot decode" in found.unreadable["t1"]
    assert "empty" in found.unreadable["t2"]
    assert "no such audio file" in found.unreadable["t3"]
    assert "silent" in found.unreadable["t5"]
    again = fingerprint_tracks(tracks, tmp_path, cache)
    assert again.computed == 0  # the good files come from the cache
    assert np.array_equal(again.fingerprints[0].hashes, found.fingerprints[0].hashes)  # type: ignore[union-attr]


def test_two_uploaders_of_one_recording_are_both_flagged(pieces: list[np.ndarray]) -> None:
    from datetime import UTC, datetime, timedelta

    from recsys.domain import Artist, Credit
    from recsys.integrity.neardup import NearDuplicateScreen, calibrate, holder_of, match_catalog
    from recsys.integrity.screening import ScreenContext

    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    artists = {
        f"a{k}": Artist(artist_id=f"a{k}", name=f"Artist {k}", rights_holder_id=f"h{k}")
        for k in range(6)
    }
    rng = np.random.default_rng(5)
    audio = [
        *pieces,
        pieces[0][SR:] + 0.03 * pieces[0].std() * rng.standard_normal(pieces[0].size - SR),
        _resample(pieces[0], 0.98),
    ]
    tracks = [
        Track(
            track_id=f"t{k}",
            title=f"Song {k}",
            credits=(Credit(artist_id=f"a{k}", share=1.0),),
            received_at=t0 + timedelta(days=k),
        )
        for k in range(len(audio))
    ]
    fps = [fingerprint_signal(y.astype(np.float32)) for y in audio]
    index = FingerprintIndex.build([t.track_id for t in tracks], fps)
    holders = np.asarray([holder_of(t, artists) for t in tracks])
    edges = match_catalog(index, list(fps), holders)
    calibration = calibrate(edges, np.zeros(len(tracks), dtype=bool))
    screen = NearDuplicateScreen(tracks, edges, calibration)
    flags = {f.track_id: f for f in screen.screen(ScreenContext(tracks=tracks, artists=artists))}
    assert set(flags) == {"t4", "t5"}
    assert all("cluster: t0, t4, t5" in f.evidence for f in flags.values())
