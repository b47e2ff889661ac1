"""The service's metering report is built at most once per pool per max age, and each
rights holder's view is cut from the one build."""

from __future__ import annotations

import threading
from typing import Any

from recsys.service.metering_cache import CachedMetering


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _report(calls: list[str]) -> Any:
    def build(store: Any, pool: str) -> dict[str, Any]:
        calls.append(pool)
        return {"pool": pool, "holders": [{"rights_holder_id": "a"}, {"rights_holder_id": "b"}]}

    return build


def test_one_build_serves_every_holder_until_it_is_too_old() -> None:
    calls: list[str] = []
    clock = Clock()
    cached = CachedMetering(_report(calls), max_age_s=60, clock=clock)
    assert [h["rights_holder_id"] for h in cached(None, None, "100")["holders"]] == ["a", "b"]  # type: ignore[arg-type]
    assert cached(None, "b", "100")["holders"] == [{"rights_holder_id": "b"}]  # type: ignore[arg-type]
    assert calls == ["100"]
    cached(None, None, "200")  # type: ignore[arg-type]
    assert calls == ["100", "200"]
    clock.now = 61
    report = cached(None, "a", "100")  # type: ignore[arg-type]
    assert calls == ["100", "200", "100"] and "built_at" in report


def test_concurrent_callers_share_one_build() -> None:
    calls: list[str] = []
    release = threading.Event()
    build = _report(calls)

    def slow(store: Any, pool: str) -> dict[str, Any]:
        release.wait(10)
        return build(store, pool)

    cached = CachedMetering(slow, max_age_s=60)
    threads = [threading.Thread(target=cached, args=(None, None, "0")) for _ in range(6)]
    for t in threads:
        t.start()
    release.set()
    for t in threads:
        t.join(10)
    assert calls == ["0"]
