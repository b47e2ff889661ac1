"""FaissIndex: recall of the served index, exclusions, save/load checks, hot swap."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys.errors import ArtifactError, ConfigError
from recsys.index import FaissIndex, FaissIndexConfig, IndexHolder


def clustered(n: int, dim: int, seed: int, clusters: int = 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(clusters, dim))
    x = centers[rng.integers(0, clusters, n)] + 0.35 * rng.normal(size=(n, dim))
    x = x.astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def exact_topk(x: np.ndarray, q: np.ndarray, k: int, excluded: np.ndarray) -> np.ndarray:
    s = q @ x.T
    s[:, excluded] = -np.inf
    return np.argsort(-s, axis=1, kind="stable")[:, :k]


def ids_of(n: int) -> list[str]:
    return [f"t{i}" for i in range(n)]


@pytest.mark.parametrize(
    ("storage", "kind"),
    [("fp16", "IndexHNSWSQ"), ("sq8", "IndexRefineFlat"), ("flat", "IndexHNSWFlat")],
)
def test_served_hnsw_recall_at_10_is_at_least_095(storage: str, kind: str) -> None:
    x = clustered(6000, 32, seed=1)
    q = clustered(200, 32, seed=2)
    config = FaissIndexConfig(exact_below=1000, hnsw_storage=storage)
    index = FaissIndex.build(x, ids_of(len(x)), config)
    assert index.kind == kind
    _, rows = index.search_rows(q, 10)
    truth = exact_topk(x, q, 10, np.array([], dtype=np.int64))
    recall = np.mean([len(set(r) & set(t)) / 10 for r, t in zip(rows, truth, strict=True)])
    assert recall >= 0.95


def test_per_call_ef_sets_the_search_effort() -> None:
    x = clustered(6000, 32, seed=1)
    q = clustered(200, 32, seed=2)
    index = FaissIndex.build(x, ids_of(len(x)), FaissIndexConfig(exact_below=1000))
    truth = exact_topk(x, q, 10, np.array([], dtype=np.int64))

    def recall(ef: int | None) -> float:
        _, rows = index.search_rows(q, 10, ef=ef)
        return float(np.mean([len(set(r) & set(t)) / 10 for r, t in zip(rows, truth, strict=True)]))

    # A beam of k (ef is never below k) recalls less than the default beam; a wider one, more.
    assert recall(1) == recall(10) < recall(None) <= recall(512)


def test_small_catalog_uses_exact_search() -> None:
    x = clustered(500, 16, seed=3)
    index = FaissIndex.build(x, ids_of(500))
    assert index.kind == "IndexFlatIP"
    _, rows = index.search_rows(x[:20], 5)
    assert (rows == exact_topk(x, x[:20], 5, np.array([], dtype=np.int64))).all()


X_SMALL = clustered(300, 16, seed=4)
INDEXES = {
    "flat": FaissIndex.build(X_SMALL, ids_of(300)),
    "hnsw": FaissIndex.build(X_SMALL, ids_of(300), FaissIndexConfig(exact_below=10, hnsw_m=8)),
    "hnsw-catalog-order": FaissIndex.build(
        X_SMALL, ids_of(300), FaissIndexConfig(exact_below=10, hnsw_m=8, locality_order=False)
    ),
    "hnsw-sq8": FaissIndex.build(
        X_SMALL, ids_of(300), FaissIndexConfig(exact_below=10, hnsw_m=8, hnsw_storage="sq8")
    ),
    "ivf": FaissIndex.build(X_SMALL, ids_of(300), FaissIndexConfig(factory="IVF8,Flat", nprobe=2)),
    "refine": FaissIndex.build(X_SMALL, ids_of(300), FaissIndexConfig(factory="PCA8,Flat")),
}


@pytest.mark.parametrize("kind", sorted(INDEXES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    excluded=st.sets(st.integers(0, 299), max_size=299),
    k=st.integers(1, 40),
    query_rows=st.lists(st.integers(0, 299), min_size=1, max_size=4),
)
def test_excluded_rows_never_returned_and_k_filled(
    kind: str, excluded: set[int], k: int, query_rows: list[int]
) -> None:
    index = INDEXES[kind]
    ex = np.array(sorted(excluded), dtype=np.int64)
    scores, rows = index.search_rows(X_SMALL[query_rows], k, exclude_rows=ex)
    want = min(k, 300 - len(ex))
    assert rows.shape == (len(query_rows), k)
    for r, s in zip(rows, scores, strict=True):
        assert not set(r.tolist()) & excluded
        assert (r[:want] >= 0).all() and (r[want:] == -1).all()
        assert len(set(r[:want].tolist())) == want
        assert (np.diff(s[:want]) <= 1e-5).all()


def test_locality_order_is_invisible_to_callers(tmp_path: Path) -> None:
    x = clustered(4000, 16, seed=5)
    index = FaissIndex.build(x, ids_of(len(x)), FaissIndexConfig(exact_below=10))
    order = index._order
    assert order is not None and not (order == np.arange(len(x))).all()
    _, rows = index.search_rows(x[:50], 1)
    assert (rows[:, 0] == np.arange(50)).all()  # each vector finds its own catalog row
    _, rows = index.search_rows(x[:50], 5, exclude_rows=np.arange(50))
    assert not set(rows.ravel().tolist()) & set(range(50))
    assert [hits[0][0] for hits in index.search(x[:3], 1)] == ["t0", "t1", "t2"]
    path = tmp_path / "ordered.npz"
    loaded = FaissIndex.load(path, index.save(path))
    assert loaded._order is not None and (loaded._order == order).all()
    assert (loaded.search_rows(x[:50], 10)[1] == index.search_rows(x[:50], 10)[1]).all()


def test_search_by_string_ids_honours_exclude() -> None:
    index = INDEXES["hnsw"]
    exclude = {f"t{i}" for i in range(0, 300, 2)} | {"not-indexed"}
    results = index.search(X_SMALL[:3], 20, exclude=exclude)
    for hits in results:
        assert len(hits) == 20
        assert not {t for t, _ in hits} & exclude


def test_rejects_mismatched_shapes_and_duplicate_ids() -> None:
    with pytest.raises(ConfigError):
        FaissIndex.build(X_SMALL, ids_of(299))
    with pytest.raises(ConfigError):
        FaissIndex.build(X_SMALL[:2], ["a", "a"])
    with pytest.raises(ConfigError):
        FaissIndex.build(X_SMALL, ids_of(300), FaissIndexConfig(factory="NoSuchIndex"))


def test_save_load_round_trip_and_tamper_detection(tmp_path: Path) -> None:
    index = INDEXES["hnsw"]
    path = tmp_path / "fused.npz"
    digest = index.save(path)
    loaded = FaissIndex.load(path, digest)
    assert loaded.row_of("t7") == 7 and len(loaded) == 300
    a = index.search_rows(X_SMALL[:5], 10)[1]
    b = loaded.search_rows(X_SMALL[:5], 10)[1]
    assert (a == b).all()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="sha256"):
        FaissIndex.load(path, digest)
    with pytest.raises(ArtifactError, match="missing"):
        FaissIndex.load(tmp_path / "absent.npz")


def test_hot_swap_while_searches_run() -> None:
    old = FaissIndex.build(X_SMALL[:150], ids_of(150))
    new = FaissIndex.build(X_SMALL, [f"n{i}" for i in range(300)])
    holder = IndexHolder(old)
    errors: list[BaseException] = []
    seen: set[str] = set()
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                index = holder.get()
                hits = index.search(X_SMALL[:2], 5)
                prefixes = {t[0] for row in hits for t, _ in row}
                assert len(prefixes) == 1  # one request never mixes two indexes
                seen.update(prefixes)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(50):
        holder.swap(new if i % 2 == 0 else old)
    holder.swap(new)
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert holder.get() is new
    assert holder.get().search(X_SMALL[:1], 1)[0][0][0].startswith("n")


def test_huge_pages_cover_the_graph_and_codes_and_change_no_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import faiss

    from recsys import index as index_module

    x = clustered(40_000, 16, seed=9)
    q = clustered(100, 16, seed=10)
    config = FaissIndexConfig(exact_below=1000, hnsw_storage="flat", ef_construction=40)
    index = FaissIndex.build(x, ids_of(len(x)), config)
    assert index.huge_page_bytes == 0  # below the size where huge pages are asked for
    raw = index._index
    hnsw = faiss.downcast_index(raw)
    sizes = sorted(size for _, size in index_module._index_buffers(raw))
    # The neighbour lists, the levels and the stored vectors, each found whole.
    assert sizes == sorted(
        [hnsw.hnsw.neighbors.size() * 4, hnsw.hnsw.levels.size() * 4, len(x) * 16 * 4]
    )
    before = index.search_rows(q, 50)
    monkeypatch.setattr(index_module, "_HUGE_PAGES_FROM", 1 << 20)
    asked = index_module.back_with_huge_pages(raw)
    if sys.platform.startswith("linux"):
        assert asked >= 2 << 20 and asked % (2 << 20) == 0
    after = index.search_rows(q, 50)
    assert (after[1] == before[1]).all() and (after[0] == before[0]).all()
