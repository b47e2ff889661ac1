"""End-to-end gRPC service load: latency at fixed request rates, the maximum sustainable rate,
and the service's overhead over the in-process pipeline call.

The server (``LinerServer``, threads, interceptors, auth, metrics, request log; metrics HTTP
off) runs in this process; the load comes from a separate process (``multiprocessing`` spawn)
on loopback, so client and server compete for the same 2 cores as they would on one box.

Recommender:
    * with ``--artifacts DIR --db PATH``: the real pipeline (``recsys.pipeline.load_recommender``)
      over a built artifact directory; ``n_tracks`` is its catalog size.
    * without them: a fake recommender that builds a 10-item labelled slate from an id space of
      ``n_tracks`` (100k with ``--quick``, else 1M) with no retrieval work, so the figures are the
      pure service overhead (protobuf conversion, gRPC, interceptors), not the pipeline's cost.

Load: open loop. For each rate the client schedules ``Recommend`` calls at fixed intervals
(futures, so a slow reply does not delay the next send) for ``duration`` seconds; latency is
measured from send to reply. A rate is sustained when the achieved rate is ≥ 95 % of the
offered one, no call failed and p99 ≤ 20 ms; ``max_rps`` is the highest sustained rate.
``saturation_rps`` is a closed loop with 16 calls in flight. ``p50_ms``/``p99_ms`` are at
``at_rps`` (300, the target rate, or the highest sustained rate below it). ``overhead_ms`` is
the p50 through the service at the lowest rate minus the p50 of the in-process call;
``overhead_ratio`` is their ratio. ``server_cpu_ms_per_call`` is the server process's CPU time
per call under saturation: with the GIL one process cannot go past ~1000 / that per second.

Example:
    python -m benchmarks.service --quick
    python -m benchmarks.service --artifacts var/artifacts --db var/liner.db
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.report import parser, write_result
from recsys.domain import (
    AiInvolvement,
    Artist,
    ArtistKind,
    Credit,
    Provenance,
    Track,
)
from recsys.pipeline.api import Recommendation, RecommendedItem, Recommender, RecommendRequest

P99_TARGET_MS = 20.0
TARGET_RPS = 300


class FakeSlateRecommender:
    """A documented stand-in: a deterministic labelled slate, no retrieval or ranking."""

    def __init__(self, n_tracks: int) -> None:
        self.n_tracks = n_tracks
        self.artists = (
            Artist(artist_id="a0", name="Human", kind=ArtistKind.HUMAN, rights_holder_id="r0"),
            Artist(
                artist_id="a1", name="Persona", kind=ArtistKind.AI_PERSONA, rights_holder_id="r1"
            ),
        )

    def recommend(self, request: RecommendRequest) -> Recommendation:
        start = hash(request.listener_id) % self.n_tracks
        items = []
        for pos in range(request.k):
            idx = (start + pos * 7919) % self.n_tracks
            ai = idx % 5 == 0
            track = Track(
                track_id=f"t{idx}",
                title=f"Track {idx}",
                genre="jazz",
                tags=("calm", "night"),
                credits=(Credit(artist_id=f"a{int(ai)}", share=1.0),),
                provenance=Provenance(
                    ai_involvement=AiInvolvement.GENERATED if ai else AiInvolvement.NONE
                ),
            )
            items.append(
                RecommendedItem(
                    track=track,
                    artists=(self.artists[int(ai)],),
                    position=pos,
                    score=1.0 - pos / 100,
                    reasons=("because you played something similar",),
                    sources=("personal",),
                )
            )
        return Recommendation(
            request_id=request.request_id,
            listener_id=request.listener_id,
            variant=request.variant,
            items=tuple(items),
            stage_ms={"candidates": 0.0},
        )


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) in ms."""
    if not samples:
        return float("nan"), float("nan")
    arr = np.asarray(samples)
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99))


def in_process_ms(recommender: Recommender, n: int) -> float:
    """p50 of the direct ``recommend`` call."""
    times = []
    for i in range(n):
        request = RecommendRequest(listener_id=f"u{i % 1000}", k=10)
        start = time.perf_counter()
        recommender.recommend(request)
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


class Tally:
    """Latencies and error codes of one load step, filled from several threads."""

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


def open_loop(stub: Any, requests: list[Any], rate: float, seconds: float, tally: Tally) -> float:
    """Send at fixed intervals without waiting for replies; returns the elapsed seconds."""
    import grpc

    def done(fut: Any, sent: float) -> None:
        exc = fut.exception()
        if exc is None:
            tally.ok((time.perf_counter() - sent) * 1000.0)
        else:
            tally.error(exc.code().name if isinstance(exc, grpc.Call) else type(exc).__name__)

    interval, futures = 1.0 / rate, []
    t0 = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = t0 + i * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent = time.perf_counter()
        fut = stub.Recommend.future(requests[i % len(requests)], timeout=2.0)
        fut.add_done_callback(lambda f, sent=sent: done(f, sent))
        futures.append(fut)
    for fut in futures:
        with contextlib.suppress(grpc.RpcError):
            fut.result()
    return max(time.perf_counter() - t0, seconds)


def closed_loop(
    stub: Any, requests: list[Any], concurrency: int, seconds: float, tally: Tally
) -> float:
    """``concurrency`` threads calling back to back; returns the elapsed seconds."""
    import grpc

    stop = time.perf_counter() + seconds

    def worker(offset: int) -> None:
        i = offset
        while time.perf_counter() < stop:
            sent = time.perf_counter()
            try:
                stub.Recommend(requests[i % len(requests)], timeout=2.0)
                tally.ok((time.perf_counter() - sent) * 1000.0)
            except grpc.RpcError as exc:
                tally.error(exc.code().name if isinstance(exc, grpc.Call) else "error")
            i += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(j,)) for j in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def load_process(target: str, plan: list[tuple[str, float, float]], out: Any) -> None:
    """Client process: run each (kind, rate or concurrency, seconds) step; send results."""
    import grpc

    from recsys.api.v1 import recommendation_pb2, recommendation_pb2_grpc

    channel = grpc.insecure_channel(target)
    grpc.channel_ready_future(channel).result(timeout=30)
    stub = recommendation_pb2_grpc.RecommendationServiceStub(channel)
    requests = [recommendation_pb2.RecommendRequest(listener_id=f"u{i}", k=10) for i in range(1000)]
    for _ in range(50):  # warm-up
        stub.Recommend(requests[0], timeout=5)
    results = []
    for kind, value, seconds in plan:
        tally = Tally()
        if kind == "open":
            elapsed = open_loop(stub, requests, value, seconds, tally)
        else:
            elapsed = closed_loop(stub, requests, int(value), seconds, tally)
        p50, p99 = percentiles(tally.lat)
        results.append(
            {
                "kind": kind,
                "offered": value,
                "achieved_rps": round(len(tally.lat) / elapsed, 1),
                "p50_ms": round(p50, 3),
                "p99_ms": round(p99, 3),
                "errors": sum(tally.errors.values()),
                "error_codes": tally.errors,
                "calls": len(tally.lat),
            }
        )
    channel.close()
    out.send(results)


def build_recommender(args: Any) -> tuple[Recommender, int, str, Any]:
    """The real pipeline when artifacts are given, else the fake."""
    if args.artifacts:
        from recsys.pipeline import load_recommender
        from recsys.settings import LinerSettings
        from recsys.store import open_store

        store = open_store(args.db)
        rec = load_recommender(Path(args.artifacts), store, LinerSettings(), log_slates=False)
        n = len(getattr(getattr(rec, "spaces", None), "track_ids", ())) or store.summary().tracks
        return rec, n, "pipeline", store
    n = 100_000 if args.quick else 1_000_000
    return FakeSlateRecommender(n), n, "fake (pure service overhead)", None


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--artifacts", help="built artifact directory (real pipeline)")
    p.add_argument("--db", default="var/liner.db", help="store for the real pipeline")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from recsys.service import LinerServer, ServiceDeps, ServiceMetrics, ServingState
    from recsys.settings import LinerSettings

    recommender, n_tracks, mode, store = build_recommender(args)
    inproc = in_process_ms(recommender, 300 if args.quick else 1000)

    seconds = 3.0 if args.quick else 8.0
    rates = [50, 100, 200, 300, 400, 600] if args.quick else [50, 100, 200, 300, 400, 600, 800]
    plan = [("open", float(r), seconds) for r in rates] + [("closed", 16.0, seconds)]

    with tempfile.TemporaryDirectory() as tmp:
        state = ServingState(factory=lambda _: recommender, verify=lambda _: "bench")
        state.load(Path(tmp))
        settings = LinerSettings(host="127.0.0.1", port=0, metrics_port=None)
        server = LinerServer(
            settings, ServiceDeps(state=state, store=store, metrics=ServiceMetrics())
        )
        port = server.start()
        server.set_serving()
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=load_process, args=(f"127.0.0.1:{port}", plan, child))
        cpu0 = time.process_time()
        proc.start()
        results = parent.recv()
        cpu = time.process_time() - cpu0
        proc.join()
        server.stop(1.0)

    opened = [r for r in results if r["kind"] == "open"]
    sustained = [
        r for r in opened
        if r["achieved_rps"] >= 0.95 * r["offered"] and r["errors"] == 0
        and r["p99_ms"] <= P99_TARGET_MS
    ]  # fmt: skip
    max_rps = max((r["offered"] for r in sustained), default=0.0)
    at = next((r for r in opened if r["offered"] == TARGET_RPS), None)
    if at is None or at not in sustained:
        at = max(sustained, key=lambda r: r["offered"], default=opened[0])
    saturation = next(r for r in results if r["kind"] == "closed")
    total_calls = sum(r["calls"] + r["errors"] for r in results) + 50
    low = opened[0]
    write_result(
        "service",
        {
            "mode": mode,
            "n_tracks": n_tracks,
            "max_rps": max_rps,
            "at_rps": at["offered"],
            "p50_ms": at["p50_ms"],
            "p99_ms": at["p99_ms"],
            "saturation_rps": saturation["achieved_rps"],
            "saturation_p99_ms": saturation["p99_ms"],
            "in_process_p50_ms": round(inproc, 3),
            "overhead_ms": round(low["p50_ms"] - inproc, 3),
            "overhead_ratio": round(low["p50_ms"] / inproc, 2) if inproc > 0 else None,
            "server_cpu_ms_per_call": round(cpu * 1000.0 / total_calls, 3),
            "rates": results,
            "conditions": (
                f"server threads={settings.max_workers}, max_concurrent_rpcs="
                f"{settings.max_concurrent_rpcs}; load from a spawned process on loopback; "
                f"{seconds:g}s per rate; k=10"
            ),
        },
    )


if __name__ == "__main__":
    main()
