"""Texture matching finds re-encoded copies among same-style songs, tolerating a re-encode's
gain, noise and slight speed and pitch change."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.demo.audio import ClipSpec, perturb_clip, render_clips, write_clip
from recsys.domain import Artist, Credit, Track
from recsys.integrity.audio import MEL_BANDS, MEL_SEGMENTS, analyse_file
from recsys.integrity.texture import STRETCH_RATIOS, stretch, texture, texture_neighbours

GENRES = ("metal", "ambient", "hip-hop")
PER_GENRE = 12
COPIED = (0, 5)  # of each genre


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, list[Track], dict]:  # type: ignore[type-arg]
    # Same style, same artist habits, machine-made (the hardest case: no human drift), and
    # in genres whose tracks share tempo and drive.
    folder = tmp_path_factory.mktemp("texture")
    specs = [
        ClipSpec(genre=g, seed=s, machine=s % 2 == 0) for g in GENRES for s in range(PER_GENRE)
    ]
    clips = render_clips(specs)
    rng = np.random.default_rng(4)
    copies = [
        perturb_clip(clips[g * PER_GENRE + c], rng) for g in range(len(GENRES)) for c in COPIED
    ]
    mel, tracks, artists = [], [], {}
    for i, clip in enumerate([*clips, *copies]):
        path = folder / f"{i}.flac"
        write_clip(path, clip)
        mel.append(analyse_file(path)[2])
        aid = f"a{i}"
        artists[aid] = Artist(artist_id=aid, name=f"Artist {i}", rights_holder_id=f"h{i}")
        tracks.append(
            Track(track_id=f"t{i}", title=f"T{i}", credits=(Credit(artist_id=aid, share=1.0),))
        )
    return np.stack(mel), tracks, artists


def test_each_copy_finds_its_source_and_stands_out(catalog) -> None:  # type: ignore[no-untyped-def]
    mel, tracks, artists = catalog
    assert mel.shape[1:] == (MEL_BANDS, MEL_SEGMENTS)
    found = texture_neighbours(mel, tracks, artists)
    n = len(GENRES) * PER_GENRE
    sources = [g * PER_GENRE + c for g in range(len(GENRES)) for c in COPIED]
    assert [int(r) for r in found.row[n:]] == sources
    genuine = np.setdiff1d(np.arange(n), sources)
    # Every copy's contrast beats every genuine, uncopied track's.
    assert found.contrast[n:].min() > found.contrast[genuine].max()


def test_texture_ignores_gain_and_stretch_undoes_speed() -> None:
    rng = np.random.default_rng(0)
    mel = rng.normal(-40, 6, size=(1, MEL_BANDS, MEL_SEGMENTS)).astype(np.float32)
    louder = mel + 12.0  # +12 dB in every cell
    assert float(texture(mel)[0] @ texture(louder)[0]) == pytest.approx(1.0, abs=1e-5)
    sped = stretch(mel, 1.02)  # a copy played 2 % faster
    scores = {r: float(texture(mel)[0] @ texture(stretch(sped, r))[0]) for r in STRETCH_RATIOS}
    assert scores[1.0] < 0.5 < 0.8 < scores[0.98] == max(scores.values())


def test_tracks_without_audio_match_nothing(tmp_path: Path) -> None:
    mel = np.full((3, MEL_BANDS, MEL_SEGMENTS), np.nan, dtype=np.float32)
    artists = {
        f"a{i}": Artist(artist_id=f"a{i}", name=f"A{i}", rights_holder_id=f"h{i}") for i in range(3)
    }
    tracks = [
        Track(track_id=f"t{i}", title="x", credits=(Credit(artist_id=f"a{i}", share=1.0),))
        for i in range(3)
    ]
    found = texture_neighbours(mel, tracks, artists)
    assert (found.row == -1).all() and np.isneginf(found.contrast).all()
