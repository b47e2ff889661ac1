"""The compressed index setting (IVF + fast-scan PQ, re-scored on SQ8 codes) and its
streamed build, which never holds every vector at once."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.errors import ConfigError
from recsys.index import FaissIndex, FaissIndexConfig
from tests.recsys.test_index import clustered, exact_topk, ids_of

CONFIG = FaissIndexConfig(factory="IVF32,PQ16x4fs,Refine(SQ8)", nprobe=4, refine_k_factor=8)
X = clustered(6000, 32, seed=11)
Q = clustered(100, 32, seed=12)
NONE = np.array([], dtype=np.int64)


def recall(rows: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(r) & set(t)) / 10 for r, t in zip(rows, truth, strict=True)]))


def test_streamed_build_equals_the_whole_build() -> None:
    whole = FaissIndex.build(X, ids_of(len(X)), CONFIG)
    blocks = (X[a : a + 1000] for a in range(0, len(X), 1000))
    streamed = FaissIndex.build_streamed(blocks, ids_of(len(X)), CONFIG, train=X)
    assert streamed.kind == whole.kind == "IndexRefine"
    a, b = whole.search_rows(Q, 10), streamed.search_rows(Q, 10)
    assert (a[1] == b[1]).all() and np.allclose(a[0], b[0])
    # Trained once (as for every shard of a catalog), then filled: the same index again.
    trained = FaissIndex.train_empty(X, CONFIG)
    again = FaissIndex.build_streamed([X], ids_of(len(X)), CONFIG, trained=trained)
    assert (again.search_rows(Q, 10)[1] == a[1]).all() and trained.ntotal == 0


def test_per_call_nprobe_and_refinement_raise_recall() -> None:
    index = FaissIndex.build(X, ids_of(len(X)), CONFIG)
    truth = exact_topk(X, Q, 10, NONE)
    low, default, every = (
        recall(index.search_rows(Q, 10, nprobe=p)[1], truth) for p in (1, None, 32)
    )
    assert low < default <= every and every >= 0.85
    # Without re-scoring a shortlist, the 8-byte codes alone rank far worse.
    unrefined = FaissIndex.build(
        X, ids_of(len(X)), CONFIG.model_copy(update={"refine_k_factor": 1})
    )
    assert recall(unrefined.search_rows(Q, 10, nprobe=32)[1], truth) < every - 0.2


def test_exclusions_hold_on_the_compressed_index() -> None:
    index = FaissIndex.build(X, ids_of(len(X)), CONFIG)
    first = index.search_rows(Q[:5], 10)[1]
    excluded = np.unique(first[:, :5])
    _, rows = index.search_rows(Q[:5], 10, exclude_rows=excluded)
    assert not set(rows.ravel().tolist()) & set(excluded.tolist())
    assert (rows >= 0).all()


def test_streamed_build_names_what_is_wrong() -> None:
    with pytest.raises(ConfigError, match="needs a FAISS factory"):
        FaissIndex.build_streamed([X], ids_of(len(X)), FaissIndexConfig(), train=X)
    with pytest.raises(ConfigError, match="training sample or a trained"):
        FaissIndex.build_streamed([X], ids_of(len(X)), CONFIG)
    with pytest.raises(ConfigError, match="rows but there are"):
        FaissIndex.build_streamed([X[:10]], ids_of(len(X)), CONFIG, train=X)
    bad = X[:10].copy()
    bad[3, 2] = np.nan
    with pytest.raises(ConfigError, match="NaN"):
        FaissIndex.build_streamed([bad], ids_of(10), CONFIG, train=X)
