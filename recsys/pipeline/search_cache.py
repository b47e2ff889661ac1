"""An exact, bounded cache of per-request ANN search results.

A listener asking again within minutes sends the same taste vector (it is computed from their
history, which has not changed) to the same index: the search would return the same rows. The
key is the query vector's bytes, ``k``, the beam and the index searched, so a hit is the result
the search would return, never an approximation. A new event changes the listener's vector
(a new key: a miss); a reload builds a new recommender, new sources and a new, empty cache,
so nothing computed against an older index is ever served.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import numpy as np

from recsys.pipeline.context import AnnIndex

T = TypeVar("T")

DEFAULT_ENTRIES = 4096
"""Cached searches (about 4 KB each at the default personal quota of 300)."""


@dataclass
class SearchCache:
    """LRU of ``(scores, rows)`` by (index, query bytes, k, ef); thread-safe.

    ``max_entries = 0`` disables it (every call searches).
    """

    max_entries: int = DEFAULT_ENTRIES
    hits: int = 0
    misses: int = 0
    _entries: OrderedDict[tuple[Any, ...], Any] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def search(
        self, index: AnnIndex, query: np.ndarray, k: int, *, ef: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``index.search_rows(query[None], k, ef=ef)``, first row, from the cache if present.

        The returned arrays are read-only (they may be shared with later hits).
        """
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        if self.max_entries <= 0:
            scores, rows = index.search_rows(q[None], k, ef=ef)
            return scores[0], rows[0]
        key = (id(index), q.dtype.str, q.tobytes(), k, ef)
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return hit
            self.misses += 1
        scores, rows = index.search_rows(q[None], k, ef=ef)
        result = (scores[0].copy(), rows[0].copy())
        for a in result:
            a.setflags(write=False)
        with self._lock:
            self._entries[key] = result
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return result

    def memo(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """``compute()``, or what it returned before for ``key`` (LRU, same counters).

        The key must hold everything the result depends on (e.g. a query vector's bytes and
        the quota), so a hit is exactly what ``compute`` would return now; the result is
        shared between hits, so ``compute`` must return read-only arrays.
        """
        if self.max_entries <= 0:
            return compute()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return cast(T, hit)
            self.misses += 1
        result = compute()
        with self._lock:
            self._entries[key] = result
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return result

    @property
    def hit_rate(self) -> float:
        """Share of lookups answered from the cache (0 before any lookup)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Drop every entry and reset the counters."""
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0


def search_cache_hit_rate(recommender: object) -> float:
    """The hit rate of the search cache behind ``recommender``'s sources (0 without one)."""
    for source in getattr(recommender, "sources", ()):
        cache = getattr(source, "cache", None)
        if isinstance(cache, SearchCache):
            return cache.hit_rate
    return 0.0


__all__ = ["DEFAULT_ENTRIES", "SearchCache", "search_cache_hit_rate"]
