"""The text and audio build steps write their rows by partitions to the build cache: the same
vectors as embedding everything at once, one partition recomputed per changed text, clips
analysed once per content, and a build that stopped resumes from the partitions it finished."""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recsys.domain import Credit, Track
from recsys.embeddings.config import EmbeddingConfig
from recsys.embeddings.steps import (
    TEXT_CHUNK,
    _raw_audio,
    _sha,
    text_key,
    text_run,
)
from recsys.embeddings.text import VectorCache, embed_texts
from recsys.settings import LinerSettings
from tests.recsys.pipeline.test_demo_world import HashTextModel


class CountingModel(HashTextModel):
    """Counts the texts it embeds; fails while ``broken`` is set."""

    def __init__(self) -> None:
        self.seen = 0
        self.broken = False

    def encode(self, sentences: list[str], **kwargs: Any) -> np.ndarray:
        if self.broken:
            raise RuntimeError("model crashed")
        self.seen += len(sentences)
        return super().encode(sentences, **kwargs)


class _Ctx:
    """What the text and audio steps read of a ``BuildContext``."""

    def __init__(self, root: Path, tracks: list[Track], model: Any = None) -> None:
        self.settings = LinerSettings(text_model="fake-text")
        self.config = EmbeddingConfig()
        self.cache_dir = root / "cache"
        self.work_dir = root / "work"
        self.text_model = model
        self.audio_encoder: Any = None
        self.tracks = tracks
        self.artist_names = {"a": "Artist"}

    def path(self, rel: str) -> Path:
        path = self.work_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


def _tracks(n: int, start: int = 0) -> list[Track]:
    credit = (Credit(artist_id="a", share=1.0),)
    return [
        Track(track_id=f"t{i:05d}", title=f"song {i} of {i % 97}", credits=credit)
        for i in range(start, start + n)
    ]


def test_text_vectors_by_partitions_equal_one_pass_and_a_change_costs_one_partition(
    tmp_path: Path,
) -> None:
    tracks = _tracks(6000)
    model = CountingModel()
    info = text_run(_Ctx(tmp_path, tracks, model))  # type: ignore[arg-type]
    texts = [f"{t.title} by Artist" for t in tracks]
    vectors = np.load(tmp_path / "work/vectors/text.npy")
    np.testing.assert_allclose(vectors, embed_texts(texts, HashTextModel()), atol=1e-6)
    assert info["embedded"] == 6000 and model.seen == 6000
    parts = sorted((tmp_path / "cache").glob("text-*.parts/part-*.npy"))
    assert 6000 / TEXT_CHUNK / 3 < len(parts) < 6000 / TEXT_CHUNK * 3
    # One text changed in the middle, one track added: only the partitions around them are
    # embedded again (fixed-size partitions would all shift after an insertion).
    changed = [*tracks[:3000], dataclasses.replace(tracks[3000], title="new"), *tracks[3001:]]
    changed.insert(100, dataclasses.replace(changed[100], track_id="t00100a", title="added"))
    model.seen = 0
    info = text_run(_Ctx(tmp_path, changed, model))  # type: ignore[arg-type]
    assert 0 < info["embedded"] == model.seen < 6000 / 3  # about 2 x 2 x TEXT_CHUNK
    assert info["embedded"] + info["cached"] == 6001
    assert len(list((tmp_path / "cache").glob("text-*.parts/*"))) <= len(parts) + 4  # pruned


def test_a_stopped_text_step_resumes_from_the_finished_partitions(tmp_path: Path) -> None:
    tracks = _tracks(2000)
    model = CountingModel()
    calls = 0
    real = model.encode

    def fail_half_way(sentences: list[str], **kwargs: Any) -> np.ndarray:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise RuntimeError("killed")
        return real(sentences, **kwargs)

    model.encode = fail_half_way  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="killed"):
        text_run(_Ctx(tmp_path, tracks, model))  # type: ignore[arg-type]
    assert model.seen > 0
    done = model.seen
    model.encode = real  # type: ignore[method-assign]
    model.seen = 0
    info = text_run(_Ctx(tmp_path, tracks, model))  # type: ignore[arg-type]
    assert info["cached"] == done and model.seen == info["embedded"] == 2000 - done


def test_vectors_of_the_single_cache_file_move_into_partitions(tmp_path: Path) -> None:
    tracks = _tracks(600)
    texts = [f"{t.title} by Artist" for t in tracks]
    legacy = VectorCache(tmp_path / "cache" / f"text-{_sha('hash-bow')[:16]}.npz")
    for text, vec in zip(texts, embed_texts(texts, HashTextModel()), strict=True):
        legacy.put(text_key("hash-bow", text), vec)
    legacy.save()
    model = CountingModel()
    info = text_run(_Ctx(tmp_path, tracks, model))  # type: ignore[arg-type]
    assert info["embedded"] == model.seen == 0 and not legacy.path.exists()


class RowEncoder:
    """An audio encoder whose row is the file's first byte, counting the files it reads."""

    name = "first-byte"
    dim = 3

    def __init__(self) -> None:
        self.read: list[str] = []

    def encode(self, paths: list[str]) -> np.ndarray:
        self.read.extend(paths)
        return np.asarray([[Path(p).read_bytes()[0], 1.0, 2.0] for p in paths], np.float32)


def test_audio_rows_by_partitions_are_laid_out_by_track_once_per_content(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    credit = (Credit(artist_id="a", share=1.0),)
    tracks = []
    for i in range(300):
        path = None
        if i % 10:  # every tenth track has no audio
            path = clips / f"{i}.bin"
            path.write_bytes(bytes([i % 50 + 1]))  # 50 distinct contents
        tracks.append(
            Track(
                track_id=f"t{i:04d}",
                title="x",
                credits=credit,
                audio_path=str(path) if path else None,
            )
        )
    ctx = _Ctx(tmp_path, tracks)
    ctx.audio_encoder = encoder = RowEncoder()
    raw = _raw_audio(ctx, encoder)  # type: ignore[arg-type]
    want = np.asarray(
        [[i % 50 + 1, 1, 2] if i % 10 else [0, 0, 0] for i in range(300)], dtype=np.float32
    )
    np.testing.assert_array_equal(np.asarray(raw), want)
    assert len(encoder.read) == len({bytes([i % 50 + 1]) for i in range(300) if i % 10})
    again = RowEncoder()
    fresh = _Ctx(tmp_path, tracks)
    fresh.audio_encoder = again
    np.testing.assert_array_equal(np.asarray(_raw_audio(fresh, again)), want)  # type: ignore[arg-type]
    assert again.read == []  # every partition came from the cache


def _fake_bulk(name: str, precision: str, batch_size: int, texts: list[str]) -> np.ndarray:
    scale = 1.0 if precision == "float32" else 2.0
    return embed_texts(list(texts), HashTextModel()) * scale  # tells the two apart


def test_a_named_models_precision_names_its_parts_and_the_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import recsys.embeddings.steps as steps

    monkeypatch.setattr(steps, "embed_bulk_chunk", _fake_bulk)
    tracks = _tracks(700)
    ctx: Any = _Ctx(tmp_path, tracks)  # no model object: the settings name one
    monkeypatch.setattr(steps, "bulk_precision", lambda: "float32")
    first = steps.text_inputs(ctx)
    assert first["precision"] == "float32"
    assert text_run(ctx)["embedded"] == 700  # type: ignore[arg-type]
    # Another precision: another step key, and no part of the first is served.
    ctx = _Ctx(tmp_path, tracks)
    monkeypatch.setattr(steps, "bulk_precision", lambda: "bfloat16")
    assert steps.text_inputs(ctx) != first
    assert text_run(ctx)["embedded"] == 700  # type: ignore[arg-type]
    vectors = np.load(tmp_path / "work/vectors/text.npy")
    texts = [f"{t.title} by Artist" for t in tracks]
    np.testing.assert_allclose(vectors, 2 * embed_texts(texts, HashTextModel()), atol=1e-6)


class NoisyEncoder(RowEncoder):
    """Eight varied columns per clip (a function of its bytes), so the PCA has work to do."""

    dim = 8

    def encode(self, paths: list[str]) -> np.ndarray:
        self.read.extend(paths)
        seeds = [int.from_bytes(Path(p).read_bytes(), "big") for p in paths]
        return np.stack([np.random.default_rng(s).normal(size=8) for s in seeds]).astype("f4")


def test_audio_vectors_written_by_blocks_equal_the_whole_array_fit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import recsys.embeddings.steps as steps
    from recsys.embeddings.fusion import PcaReducer, normalise_rows

    clips = tmp_path / "clips"
    clips.mkdir()
    credit = (Credit(artist_id="a", share=1.0),)
    tracks = []
    for i in range(500):
        (clips / f"{i}.bin").write_bytes(i.to_bytes(2, "big"))
        path = str(clips / f"{i}.bin") if i % 7 else None
        tracks.append(Track(track_id=f"t{i:04d}", title="x", credits=credit, audio_path=path))
    mask = np.arange(500) % 3 != 0
    monkeypatch.setattr(steps, "_blocks", partial(steps._blocks, rows=64))  # many blocks

    def run(cap: int) -> tuple[np.ndarray, dict[str, Any]]:
        monkeypatch.setattr(steps, "AUDIO_PCA_ROWS", cap)
        ctx: Any = _Ctx(tmp_path / str(cap), tracks)
        ctx.audio_encoder = NoisyEncoder()
        ctx.config = EmbeddingConfig(fusion={"audio_dim": 4})
        ctx.load_npy = lambda rel: mask
        info = steps.audio_run(ctx)
        return np.load(ctx.work_dir / "vectors/audio.npy"), info

    raw = np.asarray(_raw_audio(_with_encoder(_Ctx(tmp_path / "raw", tracks)), NoisyEncoder()))
    has = np.any(raw, axis=1)
    whole = PcaReducer.fit(raw[has & mask], 4, standardise=True)
    vectors, info = run(10_000)
    np.testing.assert_allclose(vectors, normalise_rows(whole.transform(raw)), atol=1e-5)
    assert info["fit_on"] == info["pca_sample"] == int((has & mask).sum())
    capped, info = run(100)
    assert info["pca_sample"] == 100 < info["fit_on"]
    assert capped.shape == vectors.shape and not np.allclose(capped, vectors, atol=1e-3)


def _with_encoder(ctx: _Ctx) -> Any:
    ctx.audio_encoder = NoisyEncoder()
    return ctx
