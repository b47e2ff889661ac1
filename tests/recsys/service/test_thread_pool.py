"""The servers' thread pool: the thread that went idle last takes the next call; work stays
first in, first out; shutdown as the standard executor's."""

from __future__ import annotations

import threading
import time
from concurrent import futures

import pytest

from recsys.service.thread_pool import WarmestFirstExecutor


def _all_idle(pool: WarmestFirstExecutor, threads: int) -> None:
    """Wait until ``threads`` workers are parked in the pool's queue (each is idle again)."""
    deadline = time.monotonic() + 10
    while len(pool._work_queue._waiting) < threads:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the pool's threads never went idle"
        time.sleep(0.001)


def test_calls_one_at_a_time_run_on_the_thread_that_went_idle_last() -> None:
    # Four calls at once (four threads started), then calls one at a time, each submitted once
    # every thread is idle again: the thread that ran the last call went idle last, so it takes
    # every next call (the standard executor would hand it to the one idle longest).
    with WarmestFirstExecutor(max_workers=4) as pool:
        gate = threading.Barrier(4)
        list(pool.map(lambda _: gate.wait(timeout=5), range(4)))
        names = []
        for _ in range(12):
            _all_idle(pool, 4)
            names.append(pool.submit(lambda: threading.current_thread().name).result(timeout=5))
    assert len(set(names)) == 1


def test_queued_work_runs_first_in_first_out() -> None:
    order: list[int] = []
    release = threading.Event()
    with WarmestFirstExecutor(max_workers=1) as pool:
        pool.submit(release.wait, 5)
        done = [pool.submit(order.append, i) for i in range(20)]
        release.set()
        futures.wait(done, timeout=5)
    assert order == list(range(20))


def test_results_errors_and_shutdown_as_the_standard_executor() -> None:
    pool = WarmestFirstExecutor(max_workers=3, thread_name_prefix="warm")
    assert list(pool.map(lambda x: x * x, range(50))) == [x * x for x in range(50)]
    with pytest.raises(ZeroDivisionError):
        pool.submit(lambda: 1 / 0).result(timeout=5)
    release = threading.Event()
    running = [pool.submit(release.wait, 5) for _ in range(3)]
    queued = [pool.submit(lambda: "late") for _ in range(5)]
    threads = list(pool._threads)
    assert threads and all(t.name.startswith("warm") for t in threads)
    release.set()
    pool.shutdown(wait=True, cancel_futures=True)
    assert all(f.result() is True for f in running)
    assert all(f.cancelled() or f.result() == "late" for f in queued)
    assert not any(t.is_alive() for t in threads)
    with pytest.raises(RuntimeError):
        pool.submit(lambda: None)


def test_a_waiting_thread_is_woken_for_each_item_put() -> None:
    # Many short tasks from several submitting threads: none lost, none run twice.
    seen: list[int] = []
    lock = threading.Lock()

    def record(i: int) -> None:
        with lock:
            seen.append(i)

    with WarmestFirstExecutor(max_workers=4) as pool:

        def submit_many(start: int) -> list[futures.Future[None]]:
            return [pool.submit(record, start + i) for i in range(500)]

        with futures.ThreadPoolExecutor(4) as submitters:
            batches = list(submitters.map(submit_many, range(0, 2000, 500)))
        futures.wait([f for batch in batches for f in batch], timeout=10)
    assert sorted(seen) == list(range(2000))
