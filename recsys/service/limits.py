"""Admission control: bounded concurrency that rejects at once instead of queueing.

Two layers. gRPC's own ``maximum_concurrent_rpcs`` (set by the server: one call per thread
plus a tiny queue) rejects a call with RESOURCE_EXHAUSTED as soon as too many are accepted,
before it waits for a thread. Inside, a :class:`ConcurrencyLimiter` gives each expensive method
its own budget that never blocks: catalog writes, reloads and the agent can never take every
worker thread from ``Recommend``, and ``Recommend`` itself runs at most as many slates as the
process's CPUs can work on (plus two waiting), because under the GIL more slates at once only
take longer each; the rest are refused at once, so accepted calls keep their latency.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from recsys.service.errors import OverloadedError


class ConcurrencyLimiter:
    """Per-key counters with a cap; ``acquire`` never blocks.

    Args:
        caps: the cap of each key; keys not listed are not limited.

    Example:
        limiter = ConcurrencyLimiter({"ReloadArtifacts": 1})
        with limiter.slot("ReloadArtifacts"):
            ...  # a second concurrent call raises OverloadedError
    """

    def __init__(self, caps: Mapping[str, int]) -> None:
        if any(cap < 1 for cap in caps.values()):
            raise ValueError("every cap must be at least 1")
        self._caps = dict(caps)
        self._in_flight = dict.fromkeys(caps, 0)
        self._lock = threading.Lock()

    def limits(self, key: str) -> bool:
        """Whether ``key`` has a cap (calls of other keys need no slot)."""
        return key in self._caps

    def in_flight(self, key: str) -> int:
        """Calls currently holding a slot of ``key``."""
        with self._lock:
            return self._in_flight.get(key, 0)

    def try_acquire(self, key: str) -> bool:
        """Take a slot of ``key`` if one is free; True on success."""
        cap = self._caps.get(key)
        if cap is None:
            return True
        with self._lock:
            if self._in_flight[key] >= cap:
                return False
            self._in_flight[key] += 1
            return True

    def release(self, key: str) -> None:
        """Give back a slot taken by :meth:`try_acquire`."""
        if key not in self._caps:
            return
        with self._lock:
            self._in_flight[key] = max(0, self._in_flight[key] - 1)

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        """Hold a slot for the ``with`` block.

        Raises:
            OverloadedError: no slot is free.
        """
        if not self.try_acquire(key):
            raise OverloadedError(
                f"too many concurrent {key} calls (limit {self._caps[key]}); retry with backoff"
            )
        try:
            yield
        finally:
            self.release(key)


__all__ = ["ConcurrencyLimiter"]
