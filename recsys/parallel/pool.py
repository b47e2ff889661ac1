"""A process pool that maps a function over items in order, with a progress bar.

The results are those of calling the function in this process (same function, same inputs,
same order); only the wall time changes. Worker processes are forked when nothing
thread-heavy is loaded, else started as fresh interpreters (a fork of a process that runs
torch's thread pool can hang).

Inside :func:`use_backend` every :func:`parallel_map` goes to that backend instead (the Ray
cluster of `liner build --ray`, :mod:`recsys.distributed`): the callers do not change.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

from tqdm import tqdm

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS_PER_WORKER = 8
"""Fewer items than this per worker run in this process: starting workers would cost more."""


@dataclass(frozen=True)
class Failed:
    """An item whose call raised (with ``errors="return"``): the exception's type and text."""

    error: str
    message: str

    def __str__(self) -> str:
        return f"{self.error}: {self.message}"


class MapBackend(Protocol):
    """Somewhere else to run :func:`parallel_map` (e.g. a Ray cluster).

    Attributes:
        distributed: True when work leaves this machine's process tree (steps then also
            send work they keep in-process locally, such as text embedding).
    """

    distributed: bool

    def map(
        self,
        fn: Callable[[Any], Any],
        items: Sequence[Any],
        *,
        desc: str | None,
        partition_size: int | None = None,
    ) -> list[Any]:
        """``[fn(x) for x in items]``, in order; raises when items still fail after retries."""
        ...


_BACKEND: list[MapBackend] = []


@contextmanager
def use_backend(backend: MapBackend | None) -> Iterator[None]:
    """Run every :func:`parallel_map` inside the block on ``backend`` (None: locally)."""
    if backend is None:
        yield
        return
    _BACKEND.append(backend)
    try:
        yield
    finally:
        _BACKEND.remove(backend)


def active_backend() -> MapBackend | None:
    """The backend of the innermost :func:`use_backend`, or None."""
    return _BACKEND[-1] if _BACKEND else None


def default_workers() -> int:
    """``LINER_WORKERS`` if set, else the CPUs this process may run on."""
    env = os.environ.get("LINER_WORKERS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            logger.warning("LINER_WORKERS=%r is not a number; using every CPU", env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _call(fn: Callable[[T], R], catch: bool, item: T) -> R | Failed:
    if not catch:
        return fn(item)
    try:
        return fn(item)
    except Exception as exc:  # reported per item; one bad item must not stop the rest
        return Failed(type(exc).__name__, str(exc))


def _context() -> multiprocessing.context.BaseContext:
    if any(m in sys.modules for m in ("torch", "ray", "grpc")):
        # Fresh interpreters, children of this process (so their CPU time is this process's
        # children's, as for forked workers): forking torch's thread pool or a gRPC server
        # (the service screening a backlog) can hang the child.
        return multiprocessing.get_context("spawn")
    return multiprocessing.get_context("fork")


def parallel_map(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int | None = None,
    desc: str | None = None,
    unit: str = "item",
    errors: str = "raise",
    partition: int | None = None,
    min_per_worker: int = MIN_ITEMS_PER_WORKER,
) -> list[R | Failed]:
    """``[fn(x) for x in items]`` computed by ``workers`` processes, with a progress bar.

    Args:
        fn: a module-level (picklable) function.
        items: picklable inputs.
        workers: processes; default :func:`default_workers`.
        desc: progress bar label (no bar when None).
        unit: progress bar unit.
        errors: ``"raise"`` re-raises the first failure; ``"return"`` puts a :class:`Failed`
            in that item's place and goes on.
        partition: at most this many items per task on a backend (default: its own size).
        min_per_worker: fewer items than this per worker run in fewer workers (1 for items
            that are each a large piece of work, such as a partition).
    """
    if errors not in ("raise", "return"):
        raise ValueError(f"errors must be 'raise' or 'return', not {errors!r}")
    call = partial(_call, fn, errors == "return")
    n = len(items)
    backend = active_backend()
    if backend is not None and n:
        return backend.map(call, items, desc=desc, partition_size=partition)
    workers = min(workers or default_workers(), max(1, n // max(1, min_per_worker)))
    bar = tqdm(total=n, desc=desc, unit=unit, disable=desc is None or n == 0, leave=False)
    out: list[R | Failed] = []
    try:
        if workers <= 1:
            for item in items:
                out.append(call(item))
                bar.update()
            return out
        chunk = max(1, min(32, n // (workers * 8)))
        with ProcessPoolExecutor(max_workers=workers, mp_context=_context()) as pool:
            for result in pool.map(call, items, chunksize=chunk):
                out.append(result)
                bar.update()
        return out
    finally:
        bar.close()


__all__ = [
    "MIN_ITEMS_PER_WORKER",
    "Failed",
    "MapBackend",
    "active_backend",
    "default_workers",
    "parallel_map",
    "use_backend",
]
