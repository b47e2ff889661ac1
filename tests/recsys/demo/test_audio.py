"""Synthesised clips: genres are separable by content features; machine clips carry a signature;
near-duplicates stay near their source."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from recsys.demo import DemoConfig, generate_demo, write_folder
from recsys.demo.audio import SAMPLE_RATE, ClipSpec, perturb_clip, render_clips
from recsys.demo.names import GENRES

PER_GENRE = 6


def features(clip: np.ndarray) -> np.ndarray:
    mfcc = librosa.feature.mfcc(y=clip, sr=SAMPLE_RATE, n_mfcc=20)
    contrast = librosa.feature.spectral_contrast(y=clip, sr=SAMPLE_RATE, n_bands=5, fmin=100)
    return np.concatenate([mfcc.mean(axis=1), contrast.mean(axis=1)])


def test_nearest_genre_centroid_beats_chance_clearly() -> None:
    specs = [
        ClipSpec(genre=g, seed=100 * i + j, tempo_scale=1 + 0.02 * (j - 3), machine=j == 0)
        for i, g in enumerate(GENRES)
        for j in range(PER_GENRE)
    ]
    x = np.stack([features(c) for c in render_clips(specs)])
    y = np.repeat(np.arange(len(GENRES)), PER_GENRE)
    train = np.arange(len(y)) % 2 == 0
    mu, sd = x[train].mean(axis=0), x[train].std(axis=0) + 1e-9
    z = (x - mu) / sd
    centroids = np.stack([z[train & (y == k)].mean(axis=0) for k in range(len(GENRES))])
    dist = ((z[~train][:, None, :] - centroids[None]) ** 2).sum(axis=-1)
    accuracy = (dist.argmin(axis=1) == y[~train]).mean()
    assert accuracy >= 0.6  # chance is 1/9


def high_band_floor_db(clip: np.ndarray) -> float:
    """The quietest moments above 6 kHz, where only a noise floor lives between hits."""
    power = np.abs(librosa.stft(clip, n_fft=512, hop_length=256)) ** 2
    band = power[int(6000 / SAMPLE_RATE * 512) :].sum(axis=0)
    return float(10 * np.log10(np.percentile(band, 5) + 1e-20))


def test_machine_clips_have_no_noise_floor_and_fixed_peaks() -> None:
    genres = ["folk", "ambient", "jazz", "pop"]
    human = render_clips([ClipSpec(genre=g, seed=s) for g in genres for s in range(3)])
    machine = render_clips(
        [ClipSpec(genre=g, seed=s, machine=True) for g in genres for s in range(3)]
    )
    assert max(high_band_floor_db(c) for c in machine) < min(high_band_floor_db(c) for c in human)
    peaks = np.array([np.abs(c).max() for c in machine])
    assert np.allclose(peaks, 10 ** (-1 / 20), atol=1e-3)
    assert np.std([np.abs(c).max() for c in human]) > 0.01


def test_clips_depend_only_on_their_own_spec() -> None:
    spec = ClipSpec(genre="rock", seed=11)
    alone = render_clips([spec])[0]
    in_batch = render_clips([ClipSpec(genre="rock", seed=3), spec, ClipSpec(genre="jazz", seed=1)])
    assert np.array_equal(alone, in_batch[1])


def test_perturbed_copy_stays_closest_to_its_source() -> None:
    clips = render_clips([ClipSpec(genre="pop", seed=s) for s in range(5)])
    copy = perturb_clip(clips[0], np.random.default_rng(0))
    assert not np.array_equal(copy, clips[0])
    dists = [np.linalg.norm(features(copy) - features(c)) for c in clips]
    assert int(np.argmin(dists)) == 0


def test_world_audio_files_exist_and_read_as_mono_16k(tmp_path: Path) -> None:
    write_folder(generate_demo(DemoConfig(tracks=90, listeners=10, seed=3)), tmp_path)
    items = pd.read_csv(tmp_path / "items.csv", dtype=str, keep_default_na=False)
    truth = pd.read_csv(tmp_path / "truth.csv", dtype=str, keep_default_na=False)
    assert (items["audio_path"] != "").all()
    for rel in items["audio_path"]:
        info = sf.info(str(tmp_path / rel))
        assert info.samplerate == SAMPLE_RATE and info.channels == 1
    dup = truth[truth["duplicate_of"] != ""].iloc[0]
    path = items.set_index("item_id")["audio_path"]
    copy, _ = sf.read(str(tmp_path / path[dup["item_id"]]))
    source, _ = sf.read(str(tmp_path / path[dup["duplicate_of"]]))
    assert len(copy) == len(source) and not np.array_equal(copy, source)
    others = [c for c in items["audio_path"].sample(5, random_state=0) if c != path[dup["item_id"]]]
    near = np.linalg.norm(features(copy.astype(np.float32)) - features(source.astype(np.float32)))
    for rel in others:
        other, _ = sf.read(str(tmp_path / rel), dtype="float32")
        if rel != path[dup["duplicate_of"]]:
            assert near < np.linalg.norm(features(copy.astype(np.float32)) - features(other))


@pytest.mark.parametrize("genre", ["ambient", "classical", "hip-hop", "electronic"])
def test_machine_clips_of_one_artist_are_all_distinct(genre: str) -> None:
    # Same artist habits (personas and farms have none of their own), different tracks: the
    # slowest genres used to hold one note per clip and repeat byte for byte.
    clips = render_clips([ClipSpec(genre=genre, seed=s, machine=True) for s in range(40)])
    pcm = {np.round(c * 32767).astype(np.int16).tobytes() for c in clips}
    assert len(pcm) == len(clips)
    x = np.stack(clips)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    gram = x @ x.T
    np.fill_diagonal(gram, 0.0)
    assert gram.max() < 0.98
