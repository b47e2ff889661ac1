"""Per-partition rows written to disk, then merged by streaming: memory that does not grow
with the catalog.

:func:`parallel_map` returns every result to the calling process, so a map over 10M tracks
holds 10M rows there. :func:`map_rows_to_npy` instead has each partition's task write its rows
to ``<out>.parts/part-<key>.npy`` (on a cluster: a file system every node shares) and return
only the file's name and shape; this process then writes ``out`` (one ``.npy``) by appending
the parts in order, one at a time, and removes them. :func:`iter_npy_blocks` reads the result
back in blocks with plain reads (no memory map, whose touched pages would count as resident),
for consumers that stream (:meth:`recsys.index.FaissIndex.build_streamed`), while
``np.load(out, mmap_mode="r")`` serves those that index rows at random.

A partition whose file is already there (a run that stopped) is not computed again: the file
name is the hash of the function and the partition's items (or a key the caller gives). With
``keep_parts`` the parts stay as a cache for the next run: the build's text and audio steps keep
theirs in the build cache, cut by content (:func:`content_bounds`) so that a changed or added
track changes the part of its own partition only. :func:`plan_parts` / :func:`compute_parts`
are the two halves without the merge (the audio step lays the parts out by track itself), and
:func:`save_npy_blocks` writes a ``.npy`` from row blocks.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from recsys.parallel.pool import active_backend, parallel_map

ROWS_PER_PART = 256
"""Items per partition (one task, one part file)."""


def _key(fn: Callable[..., Any], items: Sequence[Any]) -> str:
    return hashlib.sha256(pickle.dumps((fn, list(items)), protocol=5)).hexdigest()[:32]


def content_bounds(hashes: Sequence[int], expected: int, *, most: int | None = None) -> list[int]:
    """Where partitions end, chosen by content: after each item whose ``hash % expected`` is 0
    (and after ``most`` items, default ``4 × expected``, without one).

    ``hashes`` are the items' content hashes (any uniform integers). Partitions then average
    ``expected`` items, and an item inserted, removed or changed moves at most the boundaries
    of its own partition and the next: the other partitions keep their items, so their part
    files (named by their content) are reused. Fixed-size partitions would all shift after an
    insertion. Returns the end offsets (the last is ``len(hashes)``).
    """
    if expected < 1:
        raise ValueError("expected must be at least 1")
    most = most or 4 * expected
    ends: list[int] = []
    start = 0
    for i, h in enumerate(hashes):
        if h % expected == 0 or i + 1 - start >= most:
            ends.append(i + 1)
            start = i + 1
    if start < len(hashes):
        ends.append(len(hashes))
    return ends


def _write_part(
    fn: Callable[[Any], np.ndarray], parts: str, job: tuple[str, Sequence[Any]]
) -> tuple[str, tuple[int, ...], str]:
    """Rows of one partition into ``parts/part-<key>.npy`` (atomically); name, shape, dtype."""
    key, items = job
    path = Path(parts) / f"part-{key}.npy"
    if path.is_file():  # finished by an earlier run
        done = np.load(path, mmap_mode="r")
        return path.name, tuple(done.shape), str(done.dtype)
    rows = np.ascontiguousarray(fn(items))
    if rows.ndim != 2 or len(rows) != len(items):
        raise ValueError(f"{len(items)} items gave rows of shape {rows.shape}; want one row each")
    Path(parts).mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        np.save(f, rows)
    tmp.replace(path)
    return path.name, tuple(rows.shape), str(rows.dtype)


@dataclass(frozen=True)
class PartPlan:
    """The partitions of one map and the part file each one has (or will have).

    Attributes:
        ends: end offset of each partition in the items.
        names: the part file of each partition (``part-<key>.npy``).
        parts_dir: the folder of the part files.
    """

    ends: list[int]
    names: list[str]
    parts_dir: Path

    @property
    def missing(self) -> list[int]:
        """Partitions whose part file is not there yet."""
        return [p for p, name in enumerate(self.names) if not (self.parts_dir / name).is_file()]

    def items_missing(self) -> int:
        """Items in the partitions still to compute."""
        return sum(self.ends[p] - (self.ends[p - 1] if p else 0) for p in self.missing)


def plan_parts(
    fn: Callable[[Any], np.ndarray],
    items: Sequence[Any],
    parts_dir: Path,
    *,
    partition: int = ROWS_PER_PART,
    ends: Sequence[int] | None = None,
    keys: Sequence[str] | None = None,
) -> PartPlan:
    """Partitions of ``items`` (``ends``, default every ``partition`` items) and their part
    files (``keys``, default the hash of ``fn`` and the partition's items)."""
    if ends is None:
        ends = list(range(partition, len(items), partition)) + ([len(items)] if items else [])
    ends = list(ends)
    rising = all(b > a for a, b in zip([0, *ends], ends, strict=False))
    if (ends and ends[-1] != len(items)) or not rising:
        raise ValueError(f"partition ends {ends[:5]}... must rise to {len(items)}")
    if keys is None:
        keys = [_key(fn, items[a:b]) for a, b in zip([0, *ends], ends, strict=False)]
    if len(keys) != len(ends):
        raise ValueError(f"{len(keys)} keys for {len(ends)} partitions")
    return PartPlan(ends=ends, names=[f"part-{k}.npy" for k in keys], parts_dir=Path(parts_dir))


def compute_parts(
    fn: Callable[[Any], np.ndarray],
    items: Sequence[Any],
    plan: PartPlan,
    *,
    desc: str | None = None,
    workers: int | None = 1,
    local: bool = False,
) -> list[tuple[int, ...]]:
    """Write every part of ``plan`` that is not on disk yet; the shape of each part.

    Args:
        fn: a picklable function from a slice of ``items`` to one row per item.
        items: the inputs.
        plan: from :func:`plan_parts`.
        desc: progress bar label.
        workers: processes on this machine (1: in this process, which suits work that is
            itself multi-threaded, such as a text model; None: every core).
        local: run here even inside :func:`~recsys.parallel.use_backend` (for a function
            that cannot be shipped, such as a user's audio encoder).
    """
    starts = [0, *plan.ends[:-1]]
    # Slices, not lists: a partition of a ``range`` stays a range (no per-item objects here).
    jobs = [
        (name[len("part-") : -len(".npy")], items[a:b])
        for name, a, b in zip(plan.names, starts, plan.ends, strict=True)
    ]
    write = partial(_write_part, fn, str(plan.parts_dir))
    plan.parts_dir.mkdir(parents=True, exist_ok=True)
    if active_backend() is not None and not local:
        # One task per partition (``fn`` is shipped once); only (name, shape, dtype) returns.
        written: list[Any] = parallel_map(write, jobs, desc=desc, partition=1)
    elif workers is None or workers > 1:
        written = parallel_map(write, jobs, desc=desc, workers=workers, min_per_worker=1)
    else:
        bar = tqdm(total=len(items), desc=desc, disable=desc is None or not items, leave=False)
        written = []
        for job in jobs:
            written.append(write(job))
            bar.update(len(job[1]))
        bar.close()
    return [tuple(w[1]) for w in written]


def map_rows_to_npy(
    fn: Callable[[Any], np.ndarray],
    items: Sequence[Any],
    out: Path,
    *,
    partition: int = ROWS_PER_PART,
    desc: str | None = None,
    ends: Sequence[int] | None = None,
    keys: Sequence[str] | None = None,
    parts_dir: Path | None = None,
    keep_parts: bool = False,
    workers: int | None = 1,
    local: bool = False,
) -> tuple[int, ...]:
    """Write ``np.concatenate([fn(part) for part in partitions(items)])`` to ``out``.

    Args:
        fn: a picklable function from a slice of ``items`` to one row per item (``len × d``).
        items: the inputs, split into partitions of ``partition`` items, in order.
        out: the ``.npy`` to write.
        partition: items per partition (one task, one part file).
        desc: progress bar label.
        ends: the partitions' end offsets instead (e.g. :func:`content_bounds`).
        keys: the partitions' part names instead of the hash of ``fn`` and the items (for a
            function that is costly to pickle, such as one holding a model).
        parts_dir: where the parts live (default ``<out>.parts/``).
        keep_parts: keep this map's parts after the merge, as a cache for the next run, and
            remove every other part in ``parts_dir`` (default: remove this map's parts).
        workers: processes on this machine when no backend is active (None: every core).
        local: run on this machine even inside :func:`~recsys.parallel.use_backend`.

    Returns:
        The shape of ``out``.
    """
    out = Path(out)
    parts = Path(parts_dir) if parts_dir is not None else out.with_name(out.name + ".parts")
    plan = plan_parts(fn, items, parts, partition=partition, ends=ends, keys=keys)
    compute_parts(fn, items, plan, desc=desc, workers=workers, local=local)
    shape = merge_parts(parts, plan.names, out, remove=not keep_parts)
    if keep_parts:
        prune_parts(parts, plan.names)
    return shape


def prune_parts(parts_dir: Path, keep: Sequence[str]) -> int:
    """Remove the part files (and leftover temporary files) of ``parts_dir`` not in ``keep``;
    how many were removed."""
    wanted = set(keep)
    removed = 0
    for path in Path(parts_dir).glob("*part-*"):
        if path.name not in wanted:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _skip_header(f: Any) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)
    return np.lib.format.read_array_header_2_0(f)


def merge_parts(
    parts_dir: Path, names: Sequence[str], out: Path, *, remove: bool = True
) -> tuple[int, ...]:
    """Append the parts, in order, to one ``.npy`` at ``out``, one part in memory at a time;
    the parts are then removed (unless ``remove`` is False). Returns the shape written."""
    shapes, dtypes = [], set()
    for name in names:
        part = np.load(parts_dir / name, mmap_mode="r")
        shapes.append(part.shape)
        dtypes.add(part.dtype)  # the dtype itself: a structured one keeps its fields
        del part
    if len({s[1:] for s in shapes}) > 1 or len(dtypes) > 1:
        raise ValueError(f"parts disagree on row shape or dtype: {set(shapes)}, {dtypes}")
    shape = (sum(s[0] for s in shapes), *(shapes[0][1:] if shapes else (0,)))
    dtype = dtypes.pop() if dtypes else np.dtype("<f4")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False}
        np.lib.format.write_array_header_2_0(f, {**header, "shape": shape})
        for name in names:
            with (parts_dir / name).open("rb") as part:
                _skip_header(part)
                while block := part.read(1 << 22):
                    f.write(block)
    tmp.replace(out)
    if remove:
        for name in names:
            (parts_dir / name).unlink(missing_ok=True)
        if parts_dir.is_dir() and not any(parts_dir.iterdir()):
            parts_dir.rmdir()
    return shape


def save_npy_blocks(
    out: Path, shape: tuple[int, int], dtype: Any, blocks: Iterator[np.ndarray]
) -> None:
    """Write a 2-d ``.npy`` of ``shape`` from its row blocks, in order, with plain writes (the
    file :func:`numpy.save` would write, without the whole array in memory)."""
    dtype = np.dtype(dtype)
    out = Path(out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    written = 0
    with tmp.open("wb") as f:
        header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False}
        np.lib.format.write_array_header_1_0(f, {**header, "shape": tuple(shape)})
        for block in blocks:
            block = np.ascontiguousarray(block, dtype=dtype)
            if block.ndim != 2 or block.shape[1] != shape[1]:
                raise ValueError(f"a block of shape {block.shape} in an array of {shape}")
            f.write(block.tobytes())
            written += len(block)
    if written != shape[0]:
        tmp.unlink(missing_ok=True)
        raise ValueError(f"{written} rows written for an array of {shape[0]}")
    tmp.replace(out)


def iter_npy_blocks(path: Path, rows: int = 262_144) -> Iterator[np.ndarray]:
    """The rows of a 2-d ``.npy``, ``rows`` at a time, read (not memory-mapped)."""
    with Path(path).open("rb") as f:
        shape, fortran, dtype = _skip_header(f)
        if fortran or len(shape) != 2:
            raise ValueError(f"{path} is not a C-ordered 2-d array")
        width = shape[1]
        for start in range(0, shape[0], rows):
            count = min(rows, shape[0] - start) * width
            block = np.fromfile(f, dtype=dtype, count=count)
            yield block.reshape(-1, width)


__all__ = [
    "ROWS_PER_PART",
    "PartPlan",
    "compute_parts",
    "content_bounds",
    "iter_npy_blocks",
    "map_rows_to_npy",
    "merge_parts",
    "plan_parts",
    "prune_parts",
    "save_npy_blocks",
]
