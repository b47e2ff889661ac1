"""Logging of every served slate, off the request path.

Slates are queued and written to the store by one background thread in batches; ``close``
flushes what is left, so nothing served is lost on an orderly shutdown.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from collections.abc import Sequence

from recsys.domain import ServedSlate
from recsys.store import Store

logger = logging.getLogger(__name__)


class SlateLogger:
    """Writes served slates to ``store.log_slates`` in the background.

    Args:
        store: where slates go.
        batch_size: most slates per write.
        flush_seconds: longest a slate waits in the queue.
        max_queue: slates held in memory before ``log`` starts dropping (and counting) them,
            so a stalled store cannot stall serving.
        background: False writes synchronously on each ``log`` (tests, batch tools).
    """

    def __init__(
        self,
        store: Store,
        *,
        batch_size: int = 64,
        flush_seconds: float = 0.5,
        max_queue: int = 10_000,
        background: bool = True,
    ) -> None:
        self._store = store
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._queue: queue.Queue[ServedSlate | None] = queue.Queue(maxsize=max_queue)
        self._background = background
        self._lock = threading.Lock()
        self.dropped = 0
        self.written = 0
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._run, name="slate-log", daemon=True)
            self._thread.start()
            # A last flush at interpreter exit, for owners that never call close().
            atexit.register(self.close)

    def log(self, slate: ServedSlate) -> None:
        """Queue one slate (or write it now when not in background mode)."""
        if not self._background:
            self._write([slate])
            return
        try:
            self._queue.put_nowait(slate)
        except queue.Full:
            with self._lock:
                self.dropped += 1
            logger.warning("slate log queue full; dropped slate %s", slate.request_id)

    def _write(self, batch: Sequence[ServedSlate]) -> None:
        if not batch:
            return
        try:
            self._store.log_slates(batch)
        except Exception:  # a failed write must not kill the writer thread
            logger.exception("could not log %d slates", len(batch))
            with self._lock:
                self.dropped += len(batch)
            return
        with self._lock:
            self.written += len(batch)

    def _run(self) -> None:
        stop = False
        while not stop:
            batch: list[ServedSlate] = []
            try:
                item = self._queue.get(timeout=self._flush_seconds)
            except queue.Empty:
                continue
            if item is None:
                stop = True
            else:
                batch.append(item)
            while len(batch) < self._batch_size:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._write(batch)

    def close(self, timeout: float = 10.0) -> None:
        """Flush queued slates and stop the writer."""
        if self._thread is None:
            return
        thread, self._thread = self._thread, None
        self._queue.put(None)
        thread.join(timeout)
        atexit.unregister(self.close)


__all__ = ["SlateLogger"]
