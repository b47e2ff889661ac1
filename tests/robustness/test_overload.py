"""Overload: far more concurrent callers than threads. Calls beyond the admission limit are
refused at once with RESOURCE_EXHAUSTED (nothing else fails), accepted calls are not queued
behind a long line, and the service answers normally as soon as the load stops."""

from __future__ import annotations

import threading
import time

import grpc

from recsys.service import LinerClient
from tests.robustness.conftest import Service, percentile


def _serial_latencies(target: str, calls: int) -> list[float]:
    out = []
    with LinerClient(target, timeout=30, retries=0) as client:
        for i in range(calls):
            start = time.perf_counter()
            client.recommend(f"u_{1 + i % 80:05d}", k=10)
            out.append(time.perf_counter() - start)
    return out


def test_overload_is_refused_at_once_and_recovers(service: Service) -> None:
    unloaded = _serial_latencies(service.target, 200)
    accepted: list[float] = []
    refused: list[float] = []
    other: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    def caller(n: int) -> None:
        with LinerClient(service.target, timeout=30, retries=0) as client:
            i = 0
            while not stop.is_set():
                start = time.perf_counter()
                try:
                    client.recommend(f"u_{1 + (n * 7 + i) % 80:05d}", k=10)
                    took, bucket = time.perf_counter() - start, accepted
                except grpc.RpcError as exc:
                    took = time.perf_counter() - start
                    if exc.code() is grpc.StatusCode.RESOURCE_EXHAUSTED:  # type: ignore[attr-defined]
                        bucket = refused
                    else:
                        with lock:
                            other.append(str(exc.code()))  # type: ignore[attr-defined]
                        continue
                with lock:
                    bucket.append(took)
                i += 1

    # 4 server threads admit 8 calls; 32 callers without pause is far past saturation.
    threads = [threading.Thread(target=caller, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    time.sleep(8)
    stop.set()
    for t in threads:
        t.join(60)
    stopped = time.perf_counter()
    with LinerClient(service.target, timeout=30, retries=0) as client:
        recovered_after = None
        while time.perf_counter() - stopped < 10:
            try:
                client.recommend("u_00002", k=10, timeout=2)
                recovered_after = time.perf_counter() - stopped
                break
            except grpc.RpcError:
                time.sleep(0.05)
    print(
        f"\noverload: unloaded p50 {percentile(unloaded, 50) * 1e3:.1f} ms, p99 "
        f"{percentile(unloaded, 99) * 1e3:.1f} ms; under 32 callers: {len(accepted)} accepted "
        f"(p50 {percentile(accepted, 50) * 1e3:.1f} ms, p99 {percentile(accepted, 99) * 1e3:.1f}"
        f" ms = {percentile(accepted, 99) / percentile(unloaded, 99):.1f}x unloaded), "
        f"{len(refused)} refused (p50 {percentile(refused, 50) * 1e3:.1f} ms), other errors "
        f"{len(other)}; answered again {recovered_after} s after the load stopped"
    )
    assert not other, f"overload produced other errors than RESOURCE_EXHAUSTED: {other[:5]}"
    assert refused, "32 callers against 8 admitted calls were never refused"
    assert accepted, "no call was accepted under load"
    # A refusal is decided before the call waits for a thread: typically far below a slate.
    assert percentile(refused, 50) < percentile(accepted, 50)
    assert recovered_after is not None, "the service did not answer within 10 s of the load"
