"""The `neighbours` build step on a distributed backend: one task per batch of catalog rows,
each writing its part file, merged into the same two `.npy` files the local step writes; a
stopped step resumes from the batches it finished."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recsys.artifacts import sha256_file
from recsys.embeddings import neighbours
from recsys.embeddings.config import EmbeddingConfig
from recsys.embeddings.neighbours import BATCH, ROWS, SCORES, compute_neighbours, neighbours_run
from recsys.index import FaissIndex, FaissIndexConfig
from recsys.parallel import use_backend


class _Ctx:
    """What the neighbours step reads of a ``BuildContext``."""

    def __init__(
        self, root: Path, n: int, k: int, index: FaissIndexConfig | None = None, dim: int = 16
    ) -> None:
        self.work_dir = root / "work"
        self.cache_dir = root / "cache"
        self.config = EmbeddingConfig(neighbours=k)
        self.track_ids = np.char.add("t", np.arange(n).astype(str))
        rng = np.random.default_rng(3)
        x = rng.normal(size=(n, dim)).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        np.save(self.path("vectors/fused.npy"), x)
        FaissIndex.build(x, self.track_ids, index).save(self.path("indexes/fused.npz"))

    def path(self, rel: str) -> Path:
        path = self.work_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def file_sha(self, rel: str) -> str:
        return sha256_file(self.work_dir / rel)

    def load_npy(self, rel: str) -> np.ndarray:
        return np.load(self.work_dir / rel)


class _Cluster:
    """A distributed backend that runs each task here, counting them; fails after ``fail_after``
    tasks when set (a worker lost mid-map)."""

    distributed = True

    def __init__(self, fail_after: int | None = None) -> None:
        self.tasks = 0
        self.fail_after = fail_after

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any], *, desc: str | None,
            partition_size: int | None = None) -> list[Any]:  # fmt: skip
        out = []
        for item in items:
            if self.fail_after is not None and self.tasks >= self.fail_after:
                raise RuntimeError("worker lost")
            self.tasks += 1
            out.append(fn(item))
        return out


def _table(root: Path) -> tuple[np.ndarray, np.ndarray]:
    return np.load(root / ROWS), np.load(root / SCORES)


def test_tasks_write_the_table_the_local_step_writes(tmp_path: Path) -> None:
    n = 2 * BATCH + 300  # three batches, the last one short
    ctx = _Ctx(tmp_path, n, k=12)
    assert neighbours_run(ctx) == {"k": 12, "tracks": n}  # type: ignore[arg-type]
    local_rows, local_scores = _table(ctx.work_dir)
    for rel in (ROWS, SCORES):
        (ctx.work_dir / rel).unlink()
    cluster = _Cluster()
    with use_backend(cluster):
        assert neighbours_run(ctx) == {"k": 12, "tracks": n}  # type: ignore[arg-type]
    assert cluster.tasks == 3
    rows, scores = _table(ctx.work_dir)
    assert rows.dtype == np.int32 and scores.dtype == np.float16 and rows.shape == (n, 12)
    np.testing.assert_array_equal(rows, local_rows)
    np.testing.assert_array_equal(scores, local_scores)
    assert rows[:, 0].tolist() == list(range(n))  # each track is its own first neighbour
    assert not list(ctx.cache_dir.glob("neighbours*"))  # parts and the packed file are gone


def test_a_stopped_step_resumes_from_the_batches_it_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 2 * BATCH + 300
    ctx = _Ctx(tmp_path, n, k=5)
    with use_backend(_Cluster(fail_after=2)), pytest.raises(RuntimeError, match="worker lost"):
        neighbours_run(ctx)  # type: ignore[arg-type]
    assert len(list((ctx.cache_dir / "neighbours.parts").glob("part-*.npy"))) == 2
    searched: list[int] = []

    def counting(index: Any, vectors: np.ndarray, k: int, **kw: Any) -> Any:
        searched.append(len(vectors))
        return compute_neighbours(index, vectors, k, **kw)

    monkeypatch.setattr(neighbours, "compute_neighbours", counting)
    with use_backend(_Cluster()):
        neighbours_run(ctx)  # type: ignore[arg-type]
    assert searched == [300]  # only the batch that had not finished
    rows, _ = _table(ctx.work_dir)
    expected = FaissIndex.load(ctx.work_dir / "indexes/fused.npz")
    _, found = expected.search_rows(np.load(ctx.work_dir / "vectors/fused.npy")[-300:], 5)
    np.testing.assert_array_equal(rows[-300:], found)


def test_the_hnsw_table_is_searched_with_float32_distances(tmp_path: Path) -> None:
    """Over the served float16 HNSW index at a width without SIMD float16 kernels (17) the
    step walks its float twin: the same graph, float32 rows, so each stored score is the
    tracks' inner product to float16 rounding (the codes are ~1e-3 off), locally and as
    tasks alike."""
    n = BATCH + 500
    ctx = _Ctx(tmp_path, n, k=20, index=FaissIndexConfig(exact_below=0, hnsw_m=8), dim=17)
    assert FaissIndex.load(ctx.work_dir / "indexes/fused.npz").kind == "IndexHNSWSQ"
    neighbours_run(ctx)  # type: ignore[arg-type]
    rows, scores = _table(ctx.work_dir)
    x = np.load(ctx.work_dir / "vectors/fused.npy")
    exact = np.einsum("nd,nkd->nk", x, x[rows]).astype(np.float16)
    # Equal but where the two float32 sums round to neighbouring float16 values (searched on
    # the float16 codes, about 10 % of them are a float16 step off).
    assert np.mean(scores != exact) < 1e-3
    assert np.abs(scores.astype(np.float32) - exact.astype(np.float32)).max() <= 2**-11
    for rel in (ROWS, SCORES):
        (ctx.work_dir / rel).unlink()
    with use_backend(_Cluster()):
        neighbours_run(ctx)  # type: ignore[arg-type]
    np.testing.assert_array_equal(_table(ctx.work_dir)[0], rows)
    np.testing.assert_array_equal(_table(ctx.work_dir)[1], scores)
