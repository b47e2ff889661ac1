"""At a width FAISS has no SIMD float16 kernel for (not a multiple of 8), the float16 HNSW
index (the served setting) is built over float32 rows, and its float twin walks the same
graph with float32 distances (the neighbour table's batch searches); at SIMD widths both are
as they were."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest

from recsys.errors import ArtifactError
from recsys.index import FaissIndex, FaissIndexConfig
from tests.recsys.test_index import clustered, exact_topk, ids_of

_faiss: Any = faiss  # the bundled stubs lack HNSW's fields and search parameters


@pytest.fixture
def one_thread() -> Iterator[None]:
    """FAISS adds rows to an HNSW graph in parallel, in an order that depends on the threads:
    one thread makes two builds of the same rows comparable."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


def _recall(rows: np.ndarray, truth: np.ndarray) -> float:
    pairs = zip(rows, truth, strict=True)
    return float(np.mean([len(set(r) & set(t)) / truth.shape[1] for r, t in pairs]))


def _graphs(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The served float16 index's graph, and the graphs built over float32 rows and by
    float16 walks, same parameters."""
    d = x.shape[1]
    config = FaissIndexConfig(exact_below=0, hnsw_m=8, ef_construction=40, locality_order=False)
    index = FaissIndex.build(x, ids_of(len(x)), config)
    assert index.kind == "IndexHNSWSQ"  # served as before: float16 codes, 2 bytes a value
    inner: Any = faiss.downcast_index(index._index)
    # (Searched with the codes zero-padded to the next SIMD width: 2 bytes a value.)
    assert inner.storage.sa_code_size() == 2 * (-(-d // 8) * 8)
    graph: Any = faiss.IndexHNSWFlat(d, 8, faiss.METRIC_INNER_PRODUCT)
    walked: Any = faiss.index_factory(d, "HNSW8,SQfp16", faiss.METRIC_INNER_PRODUCT)
    for other in (graph, walked):
        other.hnsw.efConstruction = 40
        other.add(x)
    return tuple(faiss.vector_to_array(i.hnsw.neighbors) for i in (inner, graph, walked))  # type: ignore[return-value]


def test_at_a_width_without_simd_the_graph_is_built_over_float32(one_thread: None) -> None:
    x = clustered(3000, 33, seed=11)
    served, over_float32, walked = _graphs(x)
    np.testing.assert_array_equal(served, over_float32)
    # A graph built by float16 walks differs, so the check above tells them apart.
    assert not np.array_equal(served, walked)
    # And the index recalls as well as the float16-walked one.
    q = clustered(200, 33, seed=12)
    config = FaissIndexConfig(exact_below=0, hnsw_m=8, ef_construction=40)
    index = FaissIndex.build(x, ids_of(len(x)), config)
    old: Any = faiss.index_factory(33, "HNSW8,SQfp16", faiss.METRIC_INNER_PRODUCT)
    old.hnsw.efConstruction = 40
    old.add(x)
    truth = exact_topk(x, q, 10, np.array([], dtype=np.int64))
    params = _faiss.SearchParametersHNSW(efSearch=config.ef_search)
    before = _recall(old.search(q, 10, params=params)[1], truth)
    after = _recall(index.search_rows(q, 10)[1], truth)
    assert after >= 0.95 and after >= before - 0.01


def test_at_a_width_without_simd_the_codes_are_searched_zero_padded(
    tmp_path: Path, one_thread: None
) -> None:
    x = clustered(3000, 33, seed=16)
    q = clustered(100, 33, seed=17)
    index = FaissIndex.build(x, ids_of(len(x)), FaissIndexConfig(exact_below=0, hnsw_m=8))
    assert (index.dim, index._pad_to) == (33, 40)
    # The artifact keeps its width: the file holds the 33-column codes, the padded ones'
    # first 33 columns exactly.
    index.save(tmp_path / "fused.npz")
    with np.load(tmp_path / "fused.npz") as data:
        raw = faiss.deserialize_index(data["index"])
        order = data["order"]
    stored: Any = faiss.downcast_index(raw)
    assert stored.d == 33
    served: Any = faiss.downcast_index(index._index)
    wide_storage: Any = faiss.downcast_index(served.storage)
    narrow_storage: Any = faiss.downcast_index(stored.storage)
    wide_codes, narrow_codes = wide_storage.codes, narrow_storage.codes
    wide = faiss.vector_to_array(wide_codes).view(np.float16).reshape(-1, 40)
    narrow = faiss.vector_to_array(narrow_codes).view(np.float16).reshape(-1, 33)
    np.testing.assert_array_equal(wide[:, :33], narrow)
    assert not wide[:, 33:].any()
    # The stored index searched as it is (one float16 component at a time) finds the same
    # rows with the same scores up to the kernels' order of addition.
    params = _faiss.SearchParametersHNSW(efSearch=200, bounded_queue=False)
    old_scores, old_stored = stored.search(q, 100, params=params)
    scores, rows = index.search_rows(q, 100, ef=200)
    assert np.mean(order[old_stored] == rows) >= 0.99
    np.testing.assert_allclose(scores, old_scores, rtol=0, atol=1e-5)
    # Loading pads again; exclusions and the exhaustive fallback take padded queries too.
    loaded = FaissIndex.load(tmp_path / "fused.npz")
    assert loaded._pad_to == 40
    again = loaded.search_rows(q, 100, ef=200)
    np.testing.assert_array_equal(again[1], rows)
    np.testing.assert_array_equal(again[0], scores)
    banned = rows[:, :5].ravel()
    _, kept = loaded.search_rows(q, 100, exclude_rows=banned)
    assert not np.isin(kept, banned).any() and (kept >= 0).all()
    _, everything = loaded.search_rows(q[:2], len(x) - len(np.unique(banned)), exclude_rows=banned)
    assert (everything >= 0).all() and not np.isin(everything, banned).any()
    # Indexes at a SIMD width, float32 and exact ones are searched as they are.
    for config in (
        FaissIndexConfig(exact_below=0, hnsw_m=8, hnsw_storage="flat"),
        FaissIndexConfig(),
    ):
        assert FaissIndex.build(x, ids_of(len(x)), config)._pad_to is None
    y = clustered(2000, 32, seed=16)
    assert FaissIndex.build(y, ids_of(len(y)), FaissIndexConfig(exact_below=0))._pad_to is None


def test_at_a_simd_width_the_graph_is_built_by_float16_walks(one_thread: None) -> None:
    # (Float16 SIMD kernels are as fast as float32 there, and the codes are half the reads.)
    served, over_float32, walked = _graphs(clustered(3000, 32, seed=11))
    np.testing.assert_array_equal(served, walked)
    assert not np.array_equal(served, over_float32)


def test_the_float_twin_walks_the_graph_with_exact_scores(tmp_path: Path) -> None:
    x = clustered(4000, 33, seed=13)
    index = FaissIndex.build(x, ids_of(len(x)), FaissIndexConfig(exact_below=0, hnsw_m=8))
    assert index._order is not None  # locality order: stored rows are not catalog rows
    np.save(tmp_path / "fused.npy", x)  # the build step hands it the memory-mapped file
    twin = index.float_twin(np.load(tmp_path / "fused.npy", mmap_mode="r"), block=1000)
    assert twin.kind == "IndexHNSWFlat" and len(twin) == len(index)
    np.testing.assert_array_equal(twin.ids, index.ids)
    q = x[::20]
    scores, rows = twin.search_rows(q, 50, ef=50)
    served_scores, served_rows = index.search_rows(q, 50, ef=50)
    # The same walk: float16 rounding moves a near-tie now and then, no more.
    assert _recall(rows, served_rows) >= 0.98
    # Catalog rows, scored by the float32 rows themselves (the codes are ~1e-3 off).
    exact = np.take_along_axis(q @ x.T, rows, axis=1)
    np.testing.assert_allclose(scores, exact, atol=1e-5)
    assert np.abs(served_scores - np.take_along_axis(q @ x.T, served_rows, axis=1)).max() > 1e-5
    truth = exact_topk(x, q, 50, np.array([], dtype=np.int64))
    assert _recall(rows, truth) >= _recall(served_rows, truth) - 0.005


def test_the_float_twin_refuses_rows_of_another_build() -> None:
    x = clustered(2000, 17, seed=14)
    index = FaissIndex.build(x, ids_of(len(x)), FaissIndexConfig(exact_below=0, hnsw_m=8))
    with pytest.raises(ArtifactError, match="do not match the index's stored codes"):
        index.float_twin(clustered(2000, 17, seed=15))
    with pytest.raises(ArtifactError, match="do not match the index"):
        index.float_twin(x[:-1])
    # Float32 and exact indexes are already float: returned as they are.
    flat = FaissIndex.build(x, ids_of(len(x)), FaissIndexConfig(exact_below=0, hnsw_storage="flat"))
    assert flat.float_twin(x) is flat
    exact = FaissIndex.build(x, ids_of(len(x)))
    assert exact.float_twin(x) is exact
    # At a SIMD width the float16 walk is as fast: the served index itself.
    y = clustered(2000, 16, seed=14)
    simd = FaissIndex.build(y, ids_of(len(y)), FaissIndexConfig(exact_below=0, hnsw_m=8))
    assert simd.float_twin(y) is simd
