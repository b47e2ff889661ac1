"""The servers' thread pool: the thread that went idle last takes the next call.

``concurrent.futures.ThreadPoolExecutor`` hands work to its idle threads in the order they
started waiting, so a server that once ran 8 calls at once then serves each call on the next
of 8 threads in turn: every call starts on the thread that has been idle longest, whose
stack, thread-local SQLite connection (with its own page cache) and whatever else it touched
have left the CPU's caches. :class:`WarmestFirstExecutor` wakes the most recently idled
thread instead (last in, first out), so a steady load runs on one or two warm threads while a
burst still gets every thread. Calls, order of queued work and shutdown are unchanged.
Why: measured in ``benchmarks/README.md`` (issue 21).
"""

from __future__ import annotations

import collections
import queue
import threading
from concurrent import futures
from typing import Any


class _WarmestFirstQueue:
    """The work queue of :class:`WarmestFirstExecutor`: work items in arrival order (FIFO),
    idle threads woken last in, first out. Implements what the executor and its workers use
    of ``queue.SimpleQueue`` (``put``, ``get``, ``get_nowait``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: collections.deque[Any] = collections.deque()
        self._waiting: list[list[Any]] = []  # per idle thread: [its wake-up lock, its item]

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        with self._lock:
            if self._waiting:
                slot = self._waiting.pop()  # the thread that went idle last
                slot[1] = item
                slot[0].release()
                return
            self._items.append(item)

    def put_nowait(self, item: Any) -> None:
        self.put(item)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        with self._lock:
            if self._items:
                return self._items.popleft()
            if not block:
                raise queue.Empty
            wake = threading.Lock()
            wake.acquire()
            slot: list[Any] = [wake, None]
            self._waiting.append(slot)
        if timeout is None:
            wake.acquire()
            return slot[1]
        if wake.acquire(timeout=timeout):
            return slot[1]
        with self._lock:
            if slot in self._waiting:
                self._waiting.remove(slot)
                raise queue.Empty
        wake.acquire()  # handed an item just as the wait timed out: take it
        return slot[1]

    def get_nowait(self) -> Any:
        return self.get(block=False)

    def qsize(self) -> int:
        with self._lock:
            return len(self._items)

    def empty(self) -> bool:
        return self.qsize() == 0


class WarmestFirstExecutor(futures.ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` whose next task goes to the thread that went idle last (see the
    module docstring); otherwise the same executor (threads started on demand up to
    ``max_workers``, FIFO work, the same shutdown)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._work_queue = _WarmestFirstQueue()  # type: ignore[assignment]


__all__ = ["WarmestFirstExecutor"]
