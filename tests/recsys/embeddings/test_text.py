"""Text embeddings: content-hash cache, track text, and one test with the real MiniLM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recsys.domain import Credit, Track
from recsys.embeddings import text as text_module
from recsys.embeddings.text import VectorCache, embed_with_cache, load_text_model, track_text
from recsys.settings import default_text_model


class CountingModel:
    """A tiny deterministic 'model': bag of character codes; records every text it embeds."""

    name = "counting"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, sentences: list[str], **_: Any) -> np.ndarray:
        self.seen.extend(sentences)
        out = np.zeros((len(sentences), 8), dtype=np.float32)
        for i, s in enumerate(sentences):
            for ch in s:
                out[i, ord(ch) % 8] += 1.0
        return out


def test_rebuild_embeds_only_changed_texts(tmp_path: Path) -> None:
    model = CountingModel()
    cache = VectorCache(tmp_path / "text.npz")
    first, n1 = embed_with_cache(["a b", "c d", "e f"], model, "counting", cache)
    cache.save()
    assert n1 == 3 and first.shape == (3, 8)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)

    model.seen.clear()
    reloaded = VectorCache(tmp_path / "text.npz")
    second, n2 = embed_with_cache(["a b", "c d!", "e f"], model, "counting", reloaded)
    assert n2 == 1 and model.seen == ["c d!"]
    np.testing.assert_array_equal(second[[0, 2]], first[[0, 2]])


def test_cache_is_keyed_by_model_name(tmp_path: Path) -> None:
    model = CountingModel()
    cache = VectorCache(tmp_path / "text.npz")
    embed_with_cache(["same"], model, "model-a", cache)
    _, n = embed_with_cache(["same"], model, "model-b", cache)
    assert n == 1


def test_duplicate_texts_are_embedded_once(tmp_path: Path) -> None:
    model = CountingModel()
    vectors, n = embed_with_cache(["x", "x", "y"], model, "m", VectorCache(tmp_path / "c.npz"))
    assert n == 2 and len(vectors) == 3 and model.seen.count("x") == 1


class _FakeBulk:
    """Stands in for the worker processes: rows marked by the precision they ran in."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], str]] = []

    def __call__(self, texts: list[str], name: str, batch: int, *rest: Any) -> list[np.ndarray]:
        precision = rest[0] if rest else text_module.bulk_precision()
        self.calls.append((list(texts), precision))
        mark = 1.0 if precision == "bfloat16" else -1.0
        return [np.full(8, mark, np.float32) / np.sqrt(8) for _ in texts]


@pytest.fixture
def bulk(monkeypatch: pytest.MonkeyPatch) -> tuple[CountingModel, _FakeBulk]:
    """A named model whose catalog-sized runs (here 2 texts or more) go to :class:`_FakeBulk`."""
    model, fake = CountingModel(), _FakeBulk()
    monkeypatch.setitem(text_module._MODELS, "named", model)
    monkeypatch.setattr(text_module, "BULK_MIN", 2)
    monkeypatch.setattr(text_module, "_embed_bulk", fake)
    return model, fake


def test_bfloat16_rows_are_not_served_to_a_float32_run(
    tmp_path: Path, bulk: tuple[CountingModel, _FakeBulk], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, fake = bulk
    cache = VectorCache(tmp_path / "text.npz")
    monkeypatch.setenv(text_module.PRECISION_ENV, "bfloat16")
    reduced, n = embed_with_cache(["a b", "c d", "e f"], model, "named", cache)
    assert n == 3 and fake.calls[-1][1] == "bfloat16" and (reduced > 0).all()
    cache.save()

    monkeypatch.setenv(text_module.PRECISION_ENV, "float32")
    full, n = embed_with_cache(["a b", "c d", "e f"], model, "named", VectorCache(cache.path))
    assert n == 3 and fake.calls[-1][1] == "float32" and (full < 0).all()


def test_reduced_precision_run_reuses_its_rows_and_float32_rows(
    tmp_path: Path, bulk: tuple[CountingModel, _FakeBulk], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, fake = bulk
    cache = VectorCache(tmp_path / "text.npz")
    monkeypatch.setenv(text_module.PRECISION_ENV, "float32")
    embed_with_cache(["a b", "c d"], model, "named", cache)
    monkeypatch.setenv(text_module.PRECISION_ENV, "bfloat16")
    vectors, n = embed_with_cache(["a b", "c d", "x", "y", "x"], model, "named", cache)
    assert n == 2 and sorted(fake.calls[-1][0]) == ["x", "y"] and fake.calls[-1][1] == "bfloat16"
    assert (vectors[:2] < 0).all() and (vectors[2:] > 0).all() and len(vectors) == 5
    again, n = embed_with_cache(["a b", "c d", "x", "y", "x"], model, "named", cache)
    assert n == 0 and len(fake.calls) == 2
    np.testing.assert_array_equal(again, vectors)


def test_track_text_names_title_artists_genre_tags() -> None:
    track = Track(
        track_id="t1",
        title="Night Drive",
        credits=(Credit(artist_id="a1", share=1.0),),
        tags=("synthwave", "driving"),
        genre="electronic",
    )
    text = track_text(track, {"a1": "Neon Rider"})
    for part in ("Night Drive", "Neon Rider", "electronic", "synthwave", "driving"):
        assert part in text


@pytest.mark.slow
def test_real_minilm_puts_related_texts_closer() -> None:
    model = load_text_model(default_text_model())
    vectors, _ = embed_with_cache(
        ["calm piano for sleeping", "soft quiet piano lullaby", "aggressive heavy metal riffs"],
        model,
        "minilm",
        VectorCache(Path("/nonexistent-cache-dir/never-written.npz")),
    )
    assert vectors.shape == (3, 384)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_bulk_precision_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    from recsys.embeddings.text import PRECISION_ENV, bulk_precision
    from recsys.errors import ConfigError

    monkeypatch.setenv(PRECISION_ENV, "float32")
    assert bulk_precision() == "float32"
    monkeypatch.setenv(PRECISION_ENV, "half")
    with pytest.raises(ConfigError, match="auto, bfloat16 or float32"):
        bulk_precision()


def test_a_model_passed_as_an_object_is_never_sent_to_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import recsys.embeddings.text as text

    monkeypatch.setattr(text, "BULK_MIN", 2)
    model = CountingModel()  # not loaded by name: workers could not load it
    vectors, n = embed_with_cache(["a", "b", "c"], model, "counting", VectorCache(tmp_path / "c"))
    assert n == 3 and model.seen == ["a", "b", "c"] and vectors.shape == (3, 8)


@pytest.mark.slow
def test_bulk_workers_return_each_text_its_own_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker processes, length-sorted chunks: every row lands back at its own text."""
    import recsys.embeddings.text as text

    name = default_text_model()
    model = load_text_model(name)
    texts = [f"{w} song number {i}" * (1 + i % 3) for i, w in enumerate(["rain", "fire"] * 12)]
    expected, _ = embed_with_cache(texts, model, name, VectorCache(tmp_path / "a.npz"))
    monkeypatch.setattr(text, "BULK_MIN", 4)
    monkeypatch.setattr(text, "_PROGRESS_CHUNK", 5)
    monkeypatch.setenv("LINER_WORKERS", "2")
    monkeypatch.setenv(text.PRECISION_ENV, "float32")
    got, n = embed_with_cache(texts, model, name, VectorCache(tmp_path / "b.npz"), batch_size=4)
    assert n == len(texts)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    monkeypatch.setenv(text.PRECISION_ENV, "bfloat16")
    half, _ = embed_with_cache(texts, model, name, VectorCache(tmp_path / "c.npz"), batch_size=4)
    assert np.min(np.sum(half * expected, axis=1)) > 0.999
