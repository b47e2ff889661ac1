"""Item-to-item neighbours as a build artifact: each track's top neighbours in the fused space.

`liner build` computes them once, in batches (a FAISS batch search costs far less per query
than one search per request), and stores them compactly beside the index:

- ``neighbours/fused_rows.npy``: ``n × k`` int32 catalog rows, best first, ``-1`` padded;
- ``neighbours/fused_scores.npy``: ``n × k`` float16 scores (the index's inner products).

Nothing is excluded (a track's own row is usually its first neighbour); the pipeline's
filters apply after the lookup, as they do after a search. The serving side memory-maps both
files, so worker processes share one copy in the page cache.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recsys.artifacts import Manifest
from recsys.errors import ArtifactError

if TYPE_CHECKING:
    from recsys.build import BuildContext
    from recsys.pipeline.context import AnnIndex

ROWS = "neighbours/fused_rows.npy"
SCORES = "neighbours/fused_scores.npy"
BATCH = 4096
"""Queries per FAISS batch search at build time."""


@dataclass(frozen=True, kw_only=True, eq=False)
class NeighbourTable:
    """Top-``k`` neighbours per catalog row (``rows`` int32, ``scores`` float16, best first)."""

    rows: np.ndarray
    scores: np.ndarray

    @property
    def k(self) -> int:
        """Neighbours stored per track."""
        return int(self.rows.shape[1])

    def __len__(self) -> int:
        return len(self.rows)

    def lookup(self, seeds: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The first ``k`` neighbours of each seed row: ``(scores float32, rows int64)``, each
        ``len(seeds) × k``, ``-1`` padded like a search."""
        if k > self.k:
            raise ValueError(f"the table holds {self.k} neighbours per track, {k} asked")
        return (
            self.scores[seeds, :k].astype(np.float32),
            self.rows[seeds, :k].astype(np.int64),
        )


def compute_neighbours(
    index: AnnIndex, vectors: np.ndarray, k: int, *, ef: int | None = None, batch: int = BATCH
) -> NeighbourTable:
    """Search every row of ``vectors`` in ``index`` in batches of ``batch`` queries.

    ``ef`` is the HNSW beam (default ``k``: the beam the per-request item-to-item search
    used, so a lookup returns what that search returned). The build step passes the served
    index's :meth:`~recsys.index.FaissIndex.float_twin`: the same graph walk with float32
    distances (the served index's float16 codes cost ~5× as much per distance here).
    """
    n = len(vectors)
    k = min(k, n)
    rows = np.full((n, k), -1, np.int32)
    scores = np.zeros((n, k), np.float16)
    for start in range(0, n, batch):
        q = np.ascontiguousarray(vectors[start : start + batch], dtype=np.float32)
        s, r = index.search_rows(q, k, ef=k if ef is None else ef)
        rows[start : start + len(q)] = r
        scores[start : start + len(q)] = np.where(r >= 0, s, 0.0).astype(np.float16)
    return NeighbourTable(rows=rows, scores=scores)


def save_neighbours(table: NeighbourTable, root: Path) -> None:
    """Write the two ``.npy`` files under ``root``."""
    (root / ROWS).parent.mkdir(parents=True, exist_ok=True)
    np.save(root / ROWS, np.ascontiguousarray(table.rows, np.int32), allow_pickle=False)
    np.save(root / SCORES, np.ascontiguousarray(table.scores, np.float16), allow_pickle=False)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def load_neighbours(root: Path, manifest: Manifest | None) -> NeighbourTable | None:
    """The memory-mapped table, or None when the artifact set has none (built before it).

    With a manifest each file is hashed before it is mapped. An artifact directory is
    written once by `liner build` and never rewritten in place, so mapping after the check
    serves the bytes that were checked.

    Raises:
        ArtifactError: a listed file is missing, fails its hash or is not a readable array.
    """
    if manifest is not None and not (ROWS in manifest.files and SCORES in manifest.files):
        return None
    if manifest is None and not (root / ROWS).is_file():
        return None
    arrays = []
    for rel in (ROWS, SCORES):
        path = root / rel
        if not path.is_file():
            raise ArtifactError(f"{rel} (in {root}) is missing; rebuild with `liner build`")
        if manifest is not None and _sha256(path) != manifest.sha256_of(rel):
            raise ArtifactError(f"{rel} (in {root}) fails its sha256 check; rebuild")
        try:
            # A plain ndarray view of the mapping: indexing a ``np.memmap`` runs Python code
            # per call (``__getitem__``, ``__array_finalize__``); the view reads the same pages.
            arrays.append(np.asarray(np.load(path, mmap_mode="r", allow_pickle=False)))
        except (ValueError, EOFError, OSError) as exc:
            raise ArtifactError(
                f"{rel} (in {root}) is not a readable .npy file ({exc}); rebuild"
            ) from exc
    return NeighbourTable(rows=arrays[0], scores=arrays[1])


def check_neighbours(root: Path, table: NeighbourTable, n_tracks: int) -> None:
    """One row per track, int32 rows in ``[-1, n_tracks)``, float16 scores of the same shape.

    Raises:
        ArtifactError: naming the file and the mismatch.
    """
    rows, scores = table.rows, table.scores
    if rows.ndim != 2 or rows.dtype != np.int32:
        raise ArtifactError(
            f"{ROWS} (in {root}) must be a 2-D int32 array, has shape {rows.shape} and dtype "
            f"{rows.dtype}; rebuild with `liner build`"
        )
    if len(rows) != n_tracks:
        raise ArtifactError(
            f"{ROWS} (in {root}) has {len(rows)} rows, expected {n_tracks} (one per track id); "
            "rebuild with `liner build`"
        )
    if scores.shape != rows.shape or scores.dtype != np.float16:
        raise ArtifactError(
            f"{SCORES} (in {root}) must be float16 of shape {rows.shape}, has {scores.shape} "
            f"and dtype {scores.dtype}; rebuild with `liner build`"
        )
    if rows.size and (int(rows.min()) < -1 or int(rows.max()) >= n_tracks):
        raise ArtifactError(
            f"{ROWS} (in {root}) names rows outside [0, {n_tracks}); rebuild with `liner build`"
        )


# -- build step ----------------------------------------------------------------------------
def neighbours_inputs(ctx: BuildContext) -> Any:
    return {
        "index": ctx.file_sha("indexes/fused.npz"),
        "vectors": ctx.file_sha("vectors/fused.npy"),
        "k": ctx.config.neighbours,
    }


def neighbours_run(ctx: BuildContext) -> dict[str, Any]:
    from recsys.index import FaissIndex
    from recsys.parallel import active_backend

    k = ctx.config.neighbours
    if k <= 0:
        return {"k": 0}
    backend = active_backend()
    if backend is not None and getattr(backend, "distributed", False) and len(ctx.track_ids):
        return _neighbours_as_tasks(ctx, k)
    vectors = ctx.load_npy("vectors/fused.npy")
    index = FaissIndex.load(ctx.work_dir / "indexes/fused.npz").float_twin(vectors)
    table = compute_neighbours(index, vectors, k)
    save_neighbours(table, ctx.work_dir)
    return {"k": table.k, "tracks": len(table)}


# One loaded index per worker process and index file: a Ray worker answers many blocks.
_LOADED: dict[tuple[str, str], Any] = {}
PACKED = np.dtype([("row", "<i4"), ("score", "<f2")])
"""A neighbour as one part-file cell: its catalog row and its score."""


def _neighbour_block(index_path: str, index_sha: str, vectors_path: str, k: int, rows: range
                     ) -> np.ndarray:  # fmt: skip
    """The neighbours of catalog ``rows`` (one batch of :func:`compute_neighbours`), packed
    ``len(rows) × k`` as :data:`PACKED`; runs in a task, reading the index and the vectors
    from the build directory (a file system the workers share), searching the index's
    float twin as the local step does."""
    from recsys.index import FaissIndex

    vectors = np.load(vectors_path, mmap_mode="r", allow_pickle=False)
    index = _LOADED.get((index_path, index_sha))
    if index is None:
        _LOADED.clear()  # a new build's index replaces the last one
        served = FaissIndex.load(Path(index_path), index_sha)
        index = _LOADED[(index_path, index_sha)] = served.float_twin(vectors)
    part = compute_neighbours(index, vectors[rows.start : rows.stop], k, batch=len(rows))
    out = np.empty(part.rows.shape, PACKED)
    out["row"], out["score"] = part.rows, part.scores
    return out


def _neighbours_as_tasks(ctx: BuildContext, k: int) -> dict[str, Any]:
    """:func:`compute_neighbours` as one task per batch of :data:`BATCH` catalog rows (the same
    batches, so the same table), each writing its part file; the parts are merged into the
    two ``.npy`` files block by block, so the build process never holds the table."""
    from functools import partial

    from recsys.parallel import iter_npy_blocks, map_rows_to_npy, save_npy_blocks

    vectors = ctx.work_dir / "vectors/fused.npy"
    n = int(np.load(vectors, mmap_mode="r", allow_pickle=False).shape[0])
    k = min(k, n)
    vectors_sha = ctx.file_sha("vectors/fused.npy")
    index_path = ctx.work_dir / "indexes/fused.npz"
    index_sha = ctx.file_sha("indexes/fused.npz")
    block = partial(_neighbour_block, str(index_path), index_sha, str(vectors), k)
    packed = ctx.cache_dir / "neighbours-packed.npy"
    packed.parent.mkdir(parents=True, exist_ok=True)
    # Part names: the index's hash and the rows, so a resumed build reuses finished blocks.
    starts = range(0, n, BATCH)
    keys = [
        hashlib.sha256(f"{index_sha}:{vectors_sha}:{k}:{a}".encode()).hexdigest()[:32]
        for a in starts
    ]
    parts_dir = ctx.cache_dir / "neighbours.parts"
    map_rows_to_npy(block, range(n), packed, partition=BATCH, desc="neighbours", keys=keys,
                    parts_dir=parts_dir)  # fmt: skip
    for rel, field, dtype in ((ROWS, "row", np.int32), (SCORES, "score", np.float16)):
        fields = (np.ascontiguousarray(b[field]) for b in iter_npy_blocks(packed, rows=BATCH * 16))
        save_npy_blocks(ctx.path(rel), (n, k), dtype, fields)
    packed.unlink()
    return {"k": k, "tracks": n}


__all__ = [
    "ROWS",
    "SCORES",
    "NeighbourTable",
    "check_neighbours",
    "compute_neighbours",
    "load_neighbours",
    "neighbours_inputs",
    "neighbours_run",
    "save_neighbours",
]
