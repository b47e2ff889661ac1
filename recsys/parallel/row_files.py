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
name is the hash of the function and the partition's items.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from recsys.parallel.pool import active_backend, parallel_map

ROWS_PER_PART = 256
"""Items per partition (one task, one part file)."""


def _key(fn: Callable[..., Any], items: Sequence[Any]) -> str:
    return hashlib.sha256(pickle.dumps((fn, list(items)), protocol=5)).hexdigest()[:32]


def _write_part(
    fn: Callable[[Sequence[Any]], np.ndarray], parts: str, job: tuple[str, Sequence[Any]]
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
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        np.save(f, rows)
    tmp.replace(path)
    return path.name, tuple(rows.shape), str(rows.dtype)


def map_rows_to_npy(
    fn: Callable[[Sequence[Any]], np.ndarray],
    items: Sequence[Any],
    out: Path,
    *,
    partition: int = ROWS_PER_PART,
    desc: str | None = None,
) -> tuple[int, ...]:
    """Write ``np.concatenate([fn(part) for part in partitions(items)])`` to ``out``.

    Args:
        fn: a picklable function from a slice of ``items`` to one row per item (``len × d``).
        items: the inputs, split into partitions of ``partition`` items, in order.
        out: the ``.npy`` to write; its parts live in ``<out>.parts/`` until the merge.
        partition: items per partition (one task, one part file).
        desc: progress bar label.

    Returns:
        The shape of ``out``.
    """
    out = Path(out)
    parts_dir = out.with_name(out.name + ".parts")
    parts_dir.mkdir(parents=True, exist_ok=True)
    # Slices, not lists: a partition of a ``range`` stays a range (no per-item objects here).
    chunks = [items[a : a + partition] for a in range(0, len(items), partition)]
    jobs = [(_key(fn, c), c) for c in chunks]
    write = partial(_write_part, fn, str(parts_dir))
    if active_backend() is not None:
        # One task per partition (``fn`` is shipped once); only (name, shape, dtype) returns.
        written = parallel_map(write, jobs, desc=desc, partition=1)
    else:
        written = [write(job) for job in jobs]
    return merge_parts(parts_dir, [w[0] for w in written], out)  # type: ignore[index]


def _skip_header(f: Any) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)
    return np.lib.format.read_array_header_2_0(f)


def merge_parts(parts_dir: Path, names: Sequence[str], out: Path) -> tuple[int, ...]:
    """Append the parts, in order, to one ``.npy`` at ``out``, one part in memory at a time;
    the parts are then removed. Returns the shape written."""
    shapes, dtypes = [], set()
    for name in names:
        part = np.load(parts_dir / name, mmap_mode="r")
        shapes.append(part.shape)
        dtypes.add(part.dtype.str)
        del part
    if len({s[1:] for s in shapes}) > 1 or len(dtypes) > 1:
        raise ValueError(f"parts disagree on row shape or dtype: {set(shapes)}, {dtypes}")
    shape = (sum(s[0] for s in shapes), *(shapes[0][1:] if shapes else (0,)))
    dtype = np.dtype(dtypes.pop() if dtypes else "<f4")
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
    for name in names:
        (parts_dir / name).unlink(missing_ok=True)
    if not any(parts_dir.iterdir()):
        parts_dir.rmdir()
    return shape


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


__all__ = ["ROWS_PER_PART", "iter_npy_blocks", "map_rows_to_npy", "merge_parts"]
