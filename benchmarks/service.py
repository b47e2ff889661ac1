"""End-to-end gRPC service load: latency at fixed request rates, the maximum sustainable rate,
and the service's overhead over the in-process pipeline call.

Servers: ``--workers N`` (default 1) processes forked after the world is built, each running
the full ``LinerServer`` (thread pool, interceptors, auth, metrics, request log; metrics HTTP
off) on one port shared with ``SO_REUSEPORT``; the kernel spreads connections over them. The
load comes from a separate process (``multiprocessing`` spawn) on loopback with four channels
(connections) per server process, calls spread round-robin over them, so client and servers
compete for the same 2 cores as on one box.

``--pin-cpus`` pins server process i to CPU i (as ``liner serve --pin-workers``); the load
generator is never pinned. ``--balance round-robin`` also gives each server its own port (as
``--worker-ports``) and the client's channels round-robin every call over those ports, where
the shared port spreads whole connections by a kernel hash (``calls_per_worker`` shows the
split). ``client_cpu_ms_per_call`` is the load generator's CPU per call: it shares the cores.

Two measurements per run:
    * ``pipeline`` (the headline figures): the REAL pipeline (FAISS retrieval over four
      spaces, filters, features, the compiled 150-tree LambdaRank reranker, artist-first
      policy) over the synthetic world of ``benchmarks.pipeline`` with the same candidate
      quotas: 100k tracks with ``--quick``, else 1M. With ``--artifacts DIR --db PATH`` a
      built artifact directory is served instead.
    * ``fake``: a stand-in recommender that builds a labelled 10-item slate with no retrieval
      work, so its figures are the pure service overhead (protobuf, gRPC, interceptors, log
      line, metrics).

Load: a serial phase (one call at a time) for the overhead, then open loop: for each rate the
client schedules ``Recommend`` calls at fixed intervals (futures, so a slow reply does not
delay the next send); latency is send to reply. A rate is sustained when the achieved rate is
≥ 95 % of the offered one, no call failed and p99 ≤ 20 ms; ``max_rps`` is the highest sustained
rate. ``saturation_rps`` is a closed loop with 16 calls in flight. ``p50_ms``/``p99_ms`` are at
``at_rps`` (300, the target rate, or else the highest sustained rate).

Overhead (the machine is shared, so every figure is a median and the reference is measured in
the same run): ``overhead_ms`` is the median over serial calls of (client-observed latency −
the pipeline's own time for that very call, timed inside the server); ``overhead_ratio`` is
median(serial latency) / median(in-process call), the in-process call being timed in the
parent before and after the load. ``overhead_split_ms`` divides the overhead with the request
log line's ``ms`` (the whole call inside the server; the log is on, kept in memory): ``in_server``
is our code around the pipeline (interceptors, auth, validation, conversion, metrics, log
line), ``grpc_transport_and_client`` the rest (gRPC's server machinery, loopback, the Python
client stub). ``server_cpu_ms_per_call`` is the servers' CPU time per call: with the GIL one
process cannot serve more than ~1000 / that calls per second.

Example:
    python -m benchmarks.service --quick
    python -m benchmarks.service --quick --workers 2 --modes pipeline
    python -m benchmarks.service --modes pipeline      # 1M tracks: ~16 min of index build
    python -m benchmarks.service --workers 2 --pin-cpus --balance round-robin --modes pipeline
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import json
import logging
import multiprocessing as mp
import socket
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import service_load
from benchmarks.report import parser, write_result
from recsys.domain import AiInvolvement, Artist, ArtistKind, Credit, Provenance, Track
from recsys.params import CandidateQuotas, PolicyParams
from recsys.pipeline.api import Recommendation, RecommendedItem, Recommender, RecommendRequest

P99_TARGET_MS = 20.0
TARGET_RPS = 300
BENCH_PARAMS = PolicyParams(  # the quotas of benchmarks.pipeline: ~500 merged candidates
    candidates=CandidateQuotas(personal=300, item_to_item=150, emerging=50, popular=100)
)


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


class TimedRecommender:
    """Times each ``recommend`` inside the server, keyed by request id, for paired overhead."""

    def __init__(self, inner: Recommender) -> None:
        self.inner = inner
        self.ms: dict[str, float] = {}

    def recommend(self, request: RecommendRequest) -> Recommendation:
        start = time.perf_counter()
        out = self.inner.recommend(request)
        self.ms[request.request_id] = (time.perf_counter() - start) * 1000.0
        return out


class FixedParams:
    """An experiments stand-in that gives everyone the benchmark's parameters."""

    def __init__(self, params: PolicyParams) -> None:
        self.params = params

    def assign(self, listener_id: str) -> Any:
        return self

    @property
    def label(self) -> str:
        return ""


def synthetic_pipeline(n: int) -> Recommender:
    """The real pipeline over ``benchmarks.pipeline``'s synthetic world (n tracks)."""
    import faiss

    from benchmarks.pipeline import (
        ArraySpaces,
        SyntheticStore,
        synthetic_catalog,
        synthetic_reranker,
    )
    from recsys.pipeline.recommender import PipelineRecommender
    from recsys.pipeline.reranker import LightGbmReranker

    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(0)
    spaces = ArraySpaces(n, rng)
    catalog = synthetic_catalog(n, n // 10, rng)
    store = SyntheticStore(n, n // 10, 200, rng)
    rec = PipelineRecommender(spaces=spaces, catalog=catalog, store=store)  # type: ignore[arg-type]
    trained = synthetic_reranker(rec.features.names, rng)
    rec.scorers = {
        "default": LightGbmReranker(
            booster=trained.booster, feature_names=trained.feature_names
        ).compile()
    }
    return rec


def in_process_ms(recommender: Recommender, n: int, params: PolicyParams) -> list[float]:
    """Times of direct ``recommend`` calls (the reference the service is compared with)."""
    times = []
    for i in range(n):
        request = RecommendRequest(listener_id=f"u{i % 200}", k=10, params=params)
        start = time.perf_counter()
        recommender.recommend(request)
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def reserve_port() -> socket.socket:
    """A bound (not listening) SO_REUSEPORT socket on a free loopback port: it keeps the port
    ours while the server processes bind it too; it never takes connections."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class LineKeeper(logging.Handler):
    """Keeps the request log lines (JSON text) in memory: the log is on, as in ``liner serve``,
    and each line's ``ms`` (the whole call inside the server) splits the overhead."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def server_process(
    recommender: Recommender, params: PolicyParams, port: int, args: Any, conn: Any, worker: int
) -> None:
    """One forked server: serve until told to stop, then send back CPU time and timings."""
    import sys

    from recsys.service import LinerServer, ServiceDeps, ServiceMetrics, ServingState
    from recsys.service.workers import pin_process, worker_settings
    from recsys.settings import LinerSettings

    base = LinerSettings(
        host="127.0.0.1",
        metrics_port=None,
        max_workers=args.threads,
        worker_port=0 if args.balance == "round-robin" else None,
    )
    settings = worker_settings(base, port, worker, pin=args.pin_cpus)
    if settings.cpu_affinity:
        pin_process(settings.cpu_affinity)  # before the server starts its threads

    timed = TimedRecommender(recommender)
    keeper = LineKeeper()
    request_log = logging.getLogger("recsys.service.requestlog")
    request_log.setLevel(logging.INFO)
    request_log.addHandler(keeper)
    request_log.propagate = False
    state = ServingState(
        factory=lambda _: timed, verify=lambda _: "bench", experiments=lambda: FixedParams(params)
    )
    state.load(Path())
    state.load_experiments()
    if args.switch_interval_ms:
        sys.setswitchinterval(args.switch_interval_ms / 1000.0)
    if args.gc_freeze:
        import gc

        gc.collect()
        gc.freeze()  # the loaded world moves to the permanent generation: cheaper collections
    server = LinerServer(settings, ServiceDeps(state=state, store=None, metrics=ServiceMetrics()))
    server.start()
    server.set_serving()
    cpu0 = time.process_time()
    conn.send(("ready", server.worker_port))
    conn.recv()  # stop
    cpu = time.process_time() - cpu0
    server.stop(1.0)
    in_call = {}
    for line in keeper.lines:
        fields = json.loads(line)
        if fields.get("request_id", "").startswith("serial-"):
            in_call[fields["request_id"]] = float(fields["ms"])
    conn.send({"cpu_s": cpu, "ms": timed.ms, "in_call_ms": in_call})


def measure(recommender: Recommender, args: Any, label: str) -> dict[str, Any]:
    """Serve ``recommender`` from ``args.workers`` forked processes and load it."""
    n_ref = 100 if args.quick else 300
    in_process_ms(recommender, 20, BENCH_PARAMS)  # warm-up (first calls compile and fill caches)
    reference = in_process_ms(recommender, n_ref, BENCH_PARAMS)
    sock = reserve_port()
    port = sock.getsockname()[1]
    fork, spawn = mp.get_context("fork"), mp.get_context("spawn")
    servers = []
    for worker in range(args.workers):
        parent, child = fork.Pipe()
        proc = fork.Process(
            target=server_process, args=(recommender, BENCH_PARAMS, port, args, child, worker)
        )
        proc.start()
        servers.append((proc, parent))
    own_ports = []
    for _, conn in servers:
        ready, own = conn.recv()
        assert ready == "ready"
        own_ports.append(own)
    sock.close()
    target = f"127.0.0.1:{port}"
    if args.balance == "round-robin":
        target = ",".join(f"127.0.0.1:{p}" for p in own_ports)
    plan = service_load.LoadPlan(
        target=target,
        # Several connections per worker: the kernel hashes each to one worker, so a single
        # connection per worker would often leave one idle.
        channels=args.channels_per_worker * args.workers,
        serial_calls=200 if args.quick else 500,
        rates=tuple(args.rates[label]),
        seconds=3.0 if args.quick else 6.0,
        concurrency=16,
    )
    parent, child = spawn.Pipe()
    loader = spawn.Process(target=service_load.run, args=(plan, child))
    loader.start()
    load = parent.recv()
    loader.join()
    cpu_s, server_ms, in_call, per_worker = 0.0, {}, {}, []
    for proc, conn in servers:
        conn.send("stop")
        reply = conn.recv()
        cpu_s += reply["cpu_s"]
        per_worker.append(len(reply["ms"]))
        server_ms.update(reply["ms"])
        in_call.update(reply["in_call_ms"])
        proc.join()
    reference += in_process_ms(recommender, n_ref, BENCH_PARAMS)
    figures = summarise(load, reference, server_ms, cpu_s, args)
    # Connections are hashed to workers by the kernel, so the split of calls is uneven.
    figures["calls_per_worker"] = per_worker
    serial = [(rid, ms) for rid, ms in load["serial"] if rid in in_call and rid in server_ms]
    if serial:
        figures["overhead_split_ms"] = {
            "in_server": round(
                statistics.median(in_call[rid] - server_ms[rid] for rid, _ in serial), 3
            ),
            "grpc_transport_and_client": round(
                statistics.median(ms - in_call[rid] for rid, ms in serial), 3
            ),
        }
    return figures


def summarise(
    load: dict[str, Any],
    reference: list[float],
    server_ms: dict[str, float],
    cpu_s: float,
    args: Any,
) -> dict[str, Any]:
    """The figures of one measurement."""
    steps = load["steps"]
    opened = [r for r in steps if r["kind"] == "open"]
    sustained = [
        r for r in opened
        if r["achieved_rps"] >= 0.95 * r["offered"] and r["errors"] == 0
        and r["p99_ms"] <= P99_TARGET_MS
    ]  # fmt: skip
    at = next((r for r in sustained if r["offered"] == TARGET_RPS), None)
    if at is None:
        at = max(sustained, key=lambda r: r["offered"], default=opened[0])
    saturation = next(r for r in steps if r["kind"] == "closed")
    serial = load["serial"]  # (request id, ms)
    paired = [ms - server_ms[rid] for rid, ms in serial if rid in server_ms]
    serial_p50 = statistics.median(ms for _, ms in serial)
    ref_p50 = statistics.median(reference)
    return {
        "max_rps": max((r["offered"] for r in sustained), default=0.0),
        "at_rps": at["offered"],
        "p50_ms": at["p50_ms"],
        "p99_ms": at["p99_ms"],
        "saturation_rps": saturation["achieved_rps"],
        "saturation_p99_ms": saturation["p99_ms"],
        "in_process_p50_ms": round(ref_p50, 3),
        "in_server_pipeline_serial_p50_ms": round(
            statistics.median(server_ms[rid] for rid, _ in serial if rid in server_ms), 3
        ),
        "serial_p50_ms": round(serial_p50, 3),
        "overhead_ms": round(statistics.median(paired), 3) if paired else None,
        "overhead_p50_difference_ms": round(serial_p50 - ref_p50, 3),
        "overhead_ratio": round(serial_p50 / ref_p50, 3) if ref_p50 > 0 else None,
        "server_cpu_ms_per_call": round(cpu_s * 1000.0 / max(1, load["calls"]), 3),
        "client_cpu_ms_per_call": round(
            load.get("client_cpu_s", 0.0) * 1000.0 / max(1, load["calls"]), 3
        ),
        "rates": steps,
        "conditions": (
            f"{args.workers} server process(es) x {args.threads} threads on one SO_REUSEPORT "
            f"port, admitting {2 * args.threads} calls each; load from a spawned process on "
            "loopback, "
            f"{args.channels_per_worker} connections per process, {len(serial)} serial calls then "
            f"{steps[0]['seconds']:g}s per rate; k=10; "
            "request log on (kept in memory); 2-core machine, 1-min load average "
            f"{os.getloadavg()[0]:.1f} at the end: medians, reference in the same run"
        ),
    }


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--artifacts", help="built artifact directory instead of the synthetic world")
    p.add_argument("--db", default="var/liner.db", help="store for --artifacts")
    p.add_argument("--workers", type=int, default=1, help="server processes on one port")
    p.add_argument("--threads", type=int, default=8, help="gRPC worker threads per process")
    p.add_argument(
        "--switch-interval-ms",
        type=float,
        default=None,
        help="the servers' GIL switch interval (sys.setswitchinterval; Python's default 5)",
    )
    p.add_argument("--gc-freeze", action="store_true", help="gc.freeze() in the servers")
    p.add_argument(
        "--balance",
        choices=("port", "round-robin"),
        default="port",
        help="port: every worker on one SO_REUSEPORT port (the kernel spreads connections); "
        "round-robin: each worker also on its own port, the client spreads each call",
    )
    p.add_argument(
        "--channels-per-worker",
        type=int,
        default=4,
        help="client connections per server process (the kernel hashes each to one process)",
    )
    p.add_argument(
        "--pin-cpus",
        action="store_true",
        help="pin server process i to CPU i (mod the CPUs); the load generator is not pinned",
    )
    p.add_argument("--modes", default="pipeline,fake", help="comma-separated: pipeline,fake")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    args.rates = {
        "pipeline": [20, 50, 100, 150, 200, 250, 300, 350],
        "fake": [50, 100, 200, 300, 400, 600],
    }
    n = 100_000 if args.quick else 1_000_000
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    figures: dict[str, Any] = {}
    if "pipeline" in modes:
        if args.artifacts:
            from recsys.pipeline import load_recommender
            from recsys.settings import LinerSettings
            from recsys.store import open_store

            store = open_store(args.db)
            rec: Recommender = load_recommender(
                Path(args.artifacts), store, LinerSettings(), log_slates=False
            )
            n = len(rec.spaces.track_ids)  # type: ignore[attr-defined]
        else:
            t = time.perf_counter()
            rec = synthetic_pipeline(n)
            figures["setup_s"] = round(time.perf_counter() - t, 1)
        figures.update(mode="pipeline (real, synthetic world)", n_tracks=n)
        figures.update(measure(rec, args, "pipeline"))
        del rec
    if "fake" in modes:
        fake = measure(FakeSlateRecommender(n), args, "fake")
        if not figures:
            figures.update(mode="fake (pure service overhead)", n_tracks=n, **fake)
        else:
            figures["fake"] = {"mode": "fake (pure service overhead)", **fake}
    figures["workers"] = args.workers
    figures["threads"] = args.threads
    figures["switch_interval_ms"] = args.switch_interval_ms or 5.0
    name = "service" + (f"_workers{args.workers}" if args.workers > 1 else "")
    name += f"_switch{args.switch_interval_ms:g}" if args.switch_interval_ms else ""
    name += "_gcfreeze" if args.gc_freeze else ""
    figures["gc_freeze"] = args.gc_freeze
    name += "_pinned" if args.pin_cpus else ""
    name += "_rr" if args.balance == "round-robin" else ""
    figures["balance"] = args.balance
    figures["pin_cpus"] = args.pin_cpus
    write_result(name + ("" if args.quick else "_1m"), figures)


if __name__ == "__main__":
    main()
