"""The load generator of ``benchmarks.service``: runs in its own (spawned) process.

Phases: warm-up, serial calls (one in flight, with request ids so the server's own pipeline
time can be subtracted per call), open-loop steps at fixed rates, and a closed loop.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

STOP_AFTER_P99_MS = 500.0
"""An open-loop step this slow ends the rate ladder: higher rates only queue more."""


@dataclass(frozen=True, kw_only=True)
class LoadPlan:
    """What the client does.

    Attributes:
        target: ``host:port``, or comma-separated addresses to round-robin over.
        channels: channels (connections) to open; with several server processes behind one
            SO_REUSEPORT port, one connection each lets the kernel spread them.
        serial_calls: calls made one at a time for the overhead measurement.
        rates: open-loop request rates (per second).
        seconds: duration of each open-loop step and of the closed loop.
        concurrency: calls in flight in the closed loop.
        phase: ``all`` (warm-up, serial, rates, closed loop), or one of ``serial``,
            ``rates``, ``closed``, ``open`` (one open-loop step per rate, no early stop) and
            ``overload`` (one open-loop step per rate, then the time until a call is answered).
        min_calls: each open-loop step lasts at least ``min_calls / rate`` seconds, so its p99
            rests on that many calls.
        listeners: the listener id of each request, cycled (default ``u0`` … ``u199``).
        cpu: pin the load generator to this CPU (None: not pinned).
    """

    target: str
    channels: int
    serial_calls: int
    rates: tuple[float, ...]
    seconds: float
    concurrency: int
    phase: str = "all"
    min_calls: int = 0
    listeners: tuple[str, ...] = ()
    cpu: int | None = None


class Tally:
    """Latencies and error codes of one step, filled from several threads."""

    def __init__(self) -> None:
        self.lat: list[float] = []
        self.errors: dict[str, int] = {}
        self.lock = threading.Lock()

    def ok(self, ms: float) -> None:
        with self.lock:
            self.lat.append(ms)

    def error(self, code: str) -> None:
        with self.lock:
            self.errors[code] = self.errors.get(code, 0) + 1

    def row(self, kind: str, offered: float, elapsed: float, seconds: float) -> dict[str, Any]:
        arr = np.asarray(self.lat) if self.lat else np.asarray([float("nan")])
        # Over every call offered: a refused or failed call counts as slower than any answer.
        every = np.concatenate([np.asarray(self.lat), np.full(sum(self.errors.values()), np.inf)])
        with np.errstate(invalid="ignore"):  # (inf - inf between two refusals: nan, a fail)
            p99_offered = float(np.percentile(every, 99)) if len(every) else float("nan")
        return {
            "kind": kind,
            "offered": offered,
            "seconds": seconds,
            "achieved_rps": round(len(self.lat) / elapsed, 1),
            "p50_ms": round(float(np.percentile(arr, 50)), 3),
            "p99_ms": round(float(np.percentile(arr, 99)), 3),
            "p99_offered_ms": round(p99_offered, 3) if np.isfinite(p99_offered) else None,
            "errors": sum(self.errors.values()),
            "refused": self.errors.get("RESOURCE_EXHAUSTED", 0),
            "error_codes": dict(self.errors),
            "calls": len(self.lat),
        }


def _code(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    return code().name if callable(code) else type(exc).__name__


def open_loop(stubs: list[Any], requests: list[Any], rate: float, seconds: float) -> Tally:
    """Send at fixed intervals without waiting for replies."""
    import grpc

    tally, futures = Tally(), []

    def done(fut: Any, sent: float) -> None:
        exc = fut.exception()
        if exc is None:
            tally.ok((time.perf_counter() - sent) * 1000.0)
        else:
            tally.error(_code(exc))

    interval = 1.0 / rate
    t0 = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = t0 + i * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent = time.perf_counter()
        fut = stubs[i % len(stubs)].Recommend.future(requests[i % len(requests)], timeout=2.0)
        fut.add_done_callback(lambda f, sent=sent: done(f, sent))
        futures.append(fut)
    for fut in futures:
        with contextlib.suppress(grpc.RpcError):
            fut.result()
    return tally


def closed_loop(stubs: list[Any], requests: list[Any], concurrency: int, seconds: float) -> Tally:
    """``concurrency`` threads calling back to back."""
    import grpc

    tally = Tally()
    stop = time.perf_counter() + seconds

    def worker(offset: int) -> None:
        i, stub = offset, stubs[offset % len(stubs)]
        while time.perf_counter() < stop:
            sent = time.perf_counter()
            try:
                stub.Recommend(requests[i % len(requests)], timeout=2.0)
                tally.ok((time.perf_counter() - sent) * 1000.0)
            except grpc.RpcError as exc:
                tally.error(_code(exc))
            i += 1

    threads = [threading.Thread(target=worker, args=(j,)) for j in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally


def recovery_s(stubs: list[Any], request: Any, limit: float = 10.0) -> float | None:
    """Seconds from now until a call is answered (None: not within ``limit``)."""
    import grpc

    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        try:
            stubs[0].Recommend(request, timeout=2.0)
            return time.perf_counter() - start
        except grpc.RpcError:
            time.sleep(0.01)
    return None


def run(plan: LoadPlan, out: Any) -> None:
    """Run the plan and send ``{"serial": [(request id, ms)], "steps": [...], "calls": n}``
    (plus ``client_cpu_s``, and ``recovery_s`` after an overload)."""
    import os

    import grpc

    from recsys.api.v1 import recommendation_pb2, recommendation_pb2_grpc
    from recsys.service.client import channel_target

    if plan.cpu is not None:
        os.sched_setaffinity(0, {plan.cpu})
    target, options = channel_target(plan.target)
    # A distinct channel argument per channel so gRPC does not share one subchannel.
    channels = [
        grpc.insecure_channel(target, options=[*options, ("liner.bench.channel", i)])
        for i in range(plan.channels)
    ]
    cpu0 = time.process_time()
    for ch in channels:
        grpc.channel_ready_future(ch).result(timeout=60)
    stubs = [recommendation_pb2_grpc.RecommendationServiceStub(ch) for ch in channels]
    names = plan.listeners or tuple(f"u{i % 200}" for i in range(1000))
    requests = [recommendation_pb2.RecommendRequest(listener_id=u, k=10) for u in names]
    calls = 0
    phase = plan.phase
    if phase in ("all", "serial"):
        for i in range(30 * len(stubs)):  # warm-up
            stubs[i % len(stubs)].Recommend(requests[i % len(requests)], timeout=10)
            calls += 1
    serial = []
    for i in range(plan.serial_calls if phase in ("all", "serial") else 0):
        rid = f"serial-{i}"
        req = recommendation_pb2.RecommendRequest(
            listener_id=names[i % len(names)], k=10, request_id=rid
        )
        sent = time.perf_counter()
        stubs[i % len(stubs)].Recommend(req, timeout=10)
        serial.append((rid, (time.perf_counter() - sent) * 1000.0))
        calls += 1
    steps = []
    # The generator's own garbage collections would stall its reply callbacks and show up as
    # server latency: collect between steps, never during one.
    gc.collect()
    gc.freeze()
    gc.disable()
    recovered = None
    for rate in plan.rates if phase in ("all", "rates", "open", "overload") else ():
        seconds = max(plan.seconds, plan.min_calls / rate)
        t0 = time.perf_counter()
        tally = open_loop(stubs, requests, rate, seconds)
        if phase == "overload":
            recovered = recovery_s(stubs, requests[0])
        gc.collect()
        elapsed = max(time.perf_counter() - t0, seconds)
        steps.append(tally.row("open", rate, elapsed, round(seconds, 2)))
        calls += len(tally.lat) + sum(tally.errors.values())
        failed = sum(tally.errors.values()) > len(tally.lat)
        if phase in ("all", "rates") and (steps[-1]["p99_ms"] > STOP_AFTER_P99_MS or failed):
            break
    if phase in ("all", "closed"):
        t0 = time.perf_counter()
        tally = closed_loop(stubs, requests, plan.concurrency, plan.seconds)
        steps.append(tally.row("closed", plan.concurrency, time.perf_counter() - t0, plan.seconds))
        calls += len(tally.lat) + sum(tally.errors.values())
    gc.enable()
    for ch in channels:
        ch.close()
    cpu = time.process_time() - cpu0
    out.send(
        {
            "serial": serial,
            "steps": steps,
            "calls": calls,
            "client_cpu_s": cpu,
            "recovery_s": recovered,
        }
    )


__all__ = ["LoadPlan", "Tally", "closed_loop", "open_loop", "run"]
