"""The `indexes` step fills a compressed index from its `.npy` block by block: the same index
(same codes, same answers) as building it from the whole array."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np
import pytest

from recsys.embeddings import steps
from recsys.embeddings.config import FaissIndexConfig
from recsys.index import FaissIndex


@pytest.fixture
def vectors(tmp_path: Path) -> Iterator[tuple[Path, np.ndarray, np.ndarray]]:
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # k-means threads only spin on a loaded 2-core machine
    rng = np.random.default_rng(7)
    x = rng.normal(size=(1200, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    path = tmp_path / "fused.npy"
    np.save(path, x)
    yield path, x, np.char.add("t", np.arange(len(x)).astype(str))
    faiss.omp_set_num_threads(threads)


@pytest.mark.parametrize("train_size", [400, 5000])  # a sample, and every row
def test_a_compressed_index_from_blocks_is_the_one_built_whole(
    vectors: tuple[Path, np.ndarray, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
    train_size: int,
) -> None:
    path, x, ids = vectors
    config = FaissIndexConfig(factory="IVF8,PQ8x4fs,Refine(SQ8)", train_size=train_size)
    monkeypatch.setattr(steps, "INDEX_BLOCK", 500)  # three blocks, the last one short
    streamed = steps.build_index(path, ids, config)
    whole = FaissIndex.build(x, ids, config)
    assert len(streamed) == len(whole) == len(x)
    np.testing.assert_array_equal(streamed.ids, whole.ids)
    assert bytes(faiss.serialize_index(streamed._index)) == bytes(
        faiss.serialize_index(whole._index)
    )
    a, b = streamed.search_rows(x[:50], 10), whole.search_rows(x[:50], 10)
    np.testing.assert_array_equal(a[1], b[1])


def test_other_settings_are_built_as_before(vectors: tuple[Path, np.ndarray, np.ndarray]) -> None:
    path, x, ids = vectors
    index = steps.build_index(path, ids, FaissIndexConfig())
    assert index.kind == FaissIndex.build(x, ids, FaissIndexConfig()).kind == "IndexFlatIP"
