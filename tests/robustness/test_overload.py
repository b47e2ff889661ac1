"""Overload: far more concurrent callers than the service can serve. Calls beyond what admission
takes are refused at once with RESOURCE_EXHAUSTED and a retry-after hint (nothing else fails),
accepted calls do not wait behind a long line, and the service answers normally as soon as the
load stops.

Two storms of 32 callers, each 8 s: a hostile one (every refused caller sends again at once)
and a polite one, as a real client behaves (a refused caller waits the
``grpc-retry-pushback-ms`` hint first, as a gRPC retry policy does, or backs off 50 ms doubling
when a refusal has no hint).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import grpc

from recsys.service import LinerClient
from tests.robustness.conftest import Service, percentile

CALLERS = 32
SECONDS = 8.0
PUSHBACK = "grpc-retry-pushback-ms"


def _serial_latencies(target: str, calls: int) -> list[float]:
    out = []
    with LinerClient(target, timeout=30, retries=0) as client:
        for i in range(calls):
            start = time.perf_counter()
            client.recommend(f"u_{1 + i % 80:05d}", k=10)
            out.append(time.perf_counter() - start)
    return out


@dataclass
class Storm:
    accepted: list[float] = field(default_factory=list)
    refused: list[float] = field(default_factory=list)
    hints_ms: list[int] = field(default_factory=list)
    hinted: list[str] = field(default_factory=list)
    unhinted: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)

    def summary(self, unloaded: list[float]) -> str:
        p = percentile
        return (
            f"{len(self.accepted)} accepted (p50 {p(self.accepted, 50) * 1e3:.1f} ms = "
            f"{p(self.accepted, 50) / p(unloaded, 50):.1f}x unloaded, p99 "
            f"{p(self.accepted, 99) * 1e3:.1f} ms = {p(self.accepted, 99) / p(unloaded, 99):.1f}x"
            f"), {len(self.refused)} refused (p50 {p(self.refused, 50) * 1e3:.1f} ms; hint p50 "
            f"{p([float(h) for h in self.hints_ms], 50):.0f} ms; {len(self.unhinted)} by "
            f"gRPC's own limit, without one), other errors {len(self.other)}"
        )


def _storm(target: str, *, polite: bool) -> Storm:
    storm = Storm()
    stop = threading.Event()
    lock = threading.Lock()

    def caller(n: int) -> None:
        with LinerClient(target, timeout=30, retries=0) as client:
            i = backoffs = 0
            while not stop.is_set():
                start = time.perf_counter()
                try:
                    client.recommend(f"u_{1 + (n * 7 + i) % 80:05d}", k=10)
                    took = time.perf_counter() - start
                    with lock:
                        storm.accepted.append(took)
                except grpc.RpcError as exc:
                    took = time.perf_counter() - start
                    code = exc.code()
                    with lock:
                        if code is not grpc.StatusCode.RESOURCE_EXHAUSTED:
                            storm.other.append(str(code))
                            continue
                        storm.refused.append(took)
                        hint = dict(exc.trailing_metadata() or ()).get(PUSHBACK)
                        details = exc.details()
                        if hint is None:
                            storm.unhinted.append(details)
                        else:
                            storm.hints_ms.append(int(hint))
                            storm.hinted.append(details)
                    if polite and hint is not None:
                        stop.wait(int(hint) / 1000.0)
                    elif polite:
                        stop.wait(min(0.05 * 2**backoffs, 1.0))
                        backoffs += 1
                    continue
                backoffs = 0
                i += 1

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(CALLERS)]
    for t in threads:
        t.start()
    time.sleep(SECONDS)
    stop.set()
    for t in threads:
        t.join(60)
    return storm


def _recovered_after(target: str) -> float | None:
    stopped = time.perf_counter()
    with LinerClient(target, timeout=30, retries=0) as client:
        while time.perf_counter() - stopped < 10:
            try:
                client.recommend("u_00002", k=10, timeout=2)
                return time.perf_counter() - stopped
            except grpc.RpcError:
                time.sleep(0.05)
    return None


def test_overload_is_refused_at_once_with_a_hint_and_recovers(service: Service) -> None:
    unloaded = _serial_latencies(service.target, 200)
    print(
        f"\noverload: unloaded p50 {percentile(unloaded, 50) * 1e3:.1f} ms, p99 "
        f"{percentile(unloaded, 99) * 1e3:.1f} ms"
    )
    for polite in (False, True):
        storm = _storm(service.target, polite=polite)
        recovered_after = _recovered_after(service.target)
        kind = "polite (waits the hint)" if polite else "hostile (sends again at once)"
        print(
            f"overload, {CALLERS} callers, {kind}: {storm.summary(unloaded)}; answered again "
            f"{recovered_after} s after the load stopped"
        )
        assert not storm.other, f"overload produced other errors: {storm.other[:5]}"
        assert storm.refused, f"{CALLERS} callers against a 4-thread server were never refused"
        assert storm.accepted, "no call was accepted under load"
        # Every refusal says when to come back (the pushback trailer), and names the method.
        # Admission refuses with a retry-after hint naming the method; only gRPC's outer bound
        # (maximum_concurrent_rpcs, refused before any of our code runs) answers without one.
        assert storm.hints_ms, "no refusal carried a retry-after hint"
        assert all("Recommend" in d and "retry after" in d for d in storm.hinted)
        assert all("Concurrent RPC limit" in d for d in storm.unhinted), storm.unhinted[:3]
        # A refusal is decided before the call waits for a slate: far below an accepted call.
        assert percentile(storm.refused, 50) < percentile(storm.accepted, 50)
        assert recovered_after is not None, "the service did not answer within 10 s of the load"
