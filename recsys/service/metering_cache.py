"""Metering reports served from a cache, so the heaviest rights call cannot starve
``Recommend``: a full report costs seconds at a million events, and a rights dashboard asks
for it often.

The whole report is built at most once per pool per ``max_age_s`` (one build at a time; a
caller that arrives during a build waits for it instead of starting another), and each
caller's rights-holder view is cut from it. A report therefore lags the ledger by at most
``max_age_s``; it says when it was built (``built_at``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from recsys.store import Store

FullReport = Callable[[Store, str], Mapping[str, Any]]
"""``(store, pool)`` -> the whole report (``MeteringReport.to_dict()``)."""


class CachedMetering:
    """A :class:`~recsys.service.servicers.deps.MeteringReporter` over a cache.

    Args:
        build: builds the whole report for a pool.
        max_age_s: how long a built report is served.
        clock: monotonic seconds (tests pass a fake).

    Example:
        deps = ServiceDeps(..., metering=CachedMetering(full_metering_report, max_age_s=60))
    """

    def __init__(
        self,
        build: FullReport,
        *,
        max_age_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._build = build
        self._max_age = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._reports: dict[str, tuple[float, dict[str, Any]]] = {}
        self.builds = 0

    def __call__(
        self, store: Store, rights_holder_id: str | None, pool: str = "0", /
    ) -> Mapping[str, Any]:
        key = pool or "0"
        with self._lock:  # one build at a time; others wait for it and reuse it
            cached = self._reports.get(key)
            if cached is None or self._clock() - cached[0] > self._max_age:
                report = dict(self._build(store, key))
                report["built_at"] = datetime.now(UTC).isoformat()
                cached = self._reports[key] = (self._clock(), report)
                if len(self._reports) > 16:  # a few pools at most
                    oldest = min(self._reports, key=lambda k: self._reports[k][0])
                    self._reports.pop(oldest)
                self.builds += 1
        report = cached[1]
        if rights_holder_id is None:
            return report
        return {
            **report,
            "holders": [h for h in report["holders"] if h["rights_holder_id"] == rights_holder_id],
        }


__all__ = ["CachedMetering", "FullReport"]
