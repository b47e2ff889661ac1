"""End-to-end gRPC service load: the servers' own CPU time per call (the headline), latency at
fixed request rates, the maximum sustainable rate, and the service's overhead over the
in-process pipeline call; five runs with their spread.

Servers: ``--workers N`` (default 1) processes forked after the world is built, each running
the full ``LinerServer`` (thread pool, admission limits, interceptors, auth, metrics, request
log; metrics HTTP off) on one port shared with ``SO_REUSEPORT``; the kernel spreads
connections over them. The load comes from a separate process (``multiprocessing`` spawn) on
loopback with four channels (connections) per server process, calls spread round-robin over
them. ``--pin-cpus`` pins server process i to CPU i (as ``liner serve --pin-workers``) and,
when there are fewer workers than CPUs, the load generator to the last CPU (away from the
servers). ``--balance round-robin`` also gives each server its own port (as
``--worker-ports``) and the client's channels round-robin every call over those ports.

What is served, per run:
    * ``pipeline`` (the headline figures): the REAL pipeline (the build's neighbour table for
      item-to-item, FAISS searches for the personal query, filters, features, the compiled
      150-tree LambdaRank reranker, artist-first policy) over the synthetic world of
      ``benchmarks.pipeline`` (1,000 listeners with 100 events each, events read from SQLite
      per call) with its candidate quotas: 100k tracks with ``--quick``, else 1M
      (``--tracks N`` for another size). With ``--artifacts DIR --db PATH`` a built artifact
      directory is served instead.
    * ``fake``: a stand-in recommender that builds a labelled 10-item slate with no retrieval
      work, so its figures are the pure service overhead (protobuf, gRPC, interceptors, log
      line, metrics). Measured in every run, after the pipeline.

Phases of a run (the servers report their own ``process_time`` between phases):
    1. serial calls (one in flight) for the overhead; the exact caches (searches, emerging
       pool, ranked candidates) are off (every call cold) in every phase but 5.
    2. the rate ladder: for each rate the client schedules ``Recommend`` calls at fixed
       intervals (futures, so a slow reply does not delay the next send) for at least
       ``--min-calls`` calls (1,000: each p99 rests on them). A rate is sustained when the
       achieved rate is ≥ 95 % of the offered one, no call failed other than by admission's
       refusal, and p99 ≤ 20 ms over every call offered, a refused call counting as slower
       than 20 ms (so at most 1 % of calls are refused or slow); ``max_rps`` is the highest
       sustained rate, ``max_rps_no_refusals`` the same where a single refusal fails a step,
       ``refused_per_step`` the refusals at each offered rate.
    3. a closed loop with 16 calls in flight: ``saturation_rps``.
    4. two seconds idle: ``server_idle_cpu_ms_per_s`` (gRPC's pollers and watchers).
    5. two fixed-rate phases of ``--cpu-calls`` calls at half the highest sustained rate (half
       the saturation rate when none was sustained, at least 20/s): ``cold`` (cache off, each
       listener once in turn) and ``sessions`` (cache on, each listener asking two to four
       times within a window of 20 listeners). ``server_cpu_ms_per_call_cold`` and
       ``server_cpu_ms_per_call_sessions`` are the servers' CPU time over each phase, less the
       idle rate times its duration, per answered call (``cpu_phases`` holds both steps).
    6. with ``--overload``: an open loop at 4× the highest sustained rate (4× the saturation
       rate when none was sustained), cache off (``overload``: accepted and refused calls,
       accepted p50/p99 against the serial phase's, ``recovery_s`` until a call is answered
       after the load stops).

``p50_ms``/``p99_ms`` are at ``at_rps`` (300, the target rate, or else the highest sustained
rate). ``overhead_ms`` is the median over serial calls of (client-observed latency − the
pipeline's own time for that very call, timed inside the server); ``in_process_p50_ms`` is the
same pipeline called directly in the parent (cache off) before and after the load.
``overhead_split_ms`` divides the overhead with the request log line's ``ms``.
``client_cpu_ms_per_call`` is the load generator's own CPU per call. The top-level figures are
medians over ``--runs`` (default 5), ``spread`` their min and max, ``runs`` every run.

Example:
    python -m benchmarks.service --quick --pin-cpus --overload   # 100k tracks, 5 runs
    python -m benchmarks.service --quick --runs 1 --min-calls 200 # a smoke run
    python -m benchmarks.service --modes pipeline                 # 1M tracks: ~25 min setup
    python -m benchmarks.service --world-cache var/bench-world --build-threads 2 ...
        # the synthetic world's indexes and neighbour table saved once, reused by later runs
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
from recsys.pipeline.search_cache import SearchCache

P99_TARGET_MS = 20.0
TARGET_RPS = 300
LISTENERS = 1000
"""Listeners of the synthetic world (100 events each)."""
SESSION_CACHE_ENTRIES = 4096
IDLE_SECONDS = 2.0
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
    """Times each ``recommend`` inside the server, keyed by request id, for paired overhead;
    also keeps each call's thread CPU time and stage times since the last :meth:`take`, so a
    phase's server CPU splits into the pipeline's own and the rest (gRPC, interceptors,
    conversion)."""

    def __init__(self, inner: Recommender) -> None:
        self.inner = inner
        self.ms: dict[str, float] = {}
        # Plain floats only: an object kept per call would be tracked by the cyclic garbage
        # collector, and enough of them set off full collections of the whole world.
        self.cpu_ms: list[float] = []
        self.stage_ms: dict[str, list[float]] = {}

    def recommend(self, request: RecommendRequest) -> Recommendation:
        start, cpu = time.perf_counter(), time.thread_time()
        out = self.inner.recommend(request)
        self.cpu_ms.append((time.thread_time() - cpu) * 1000.0)
        self.ms[request.request_id] = (time.perf_counter() - start) * 1000.0
        for stage, ms in out.stage_ms.items():
            self.stage_ms.setdefault(stage, []).append(ms)
        return out

    def take(self) -> tuple[list[float], dict[str, list[float]]]:
        """The calls' thread CPU (ms) and stage times since the last take; starts afresh."""
        cpu, stages = self.cpu_ms, self.stage_ms
        self.cpu_ms, self.stage_ms = [], {}
        return cpu, stages


def stage_medians(stages: dict[str, list[float]]) -> dict[str, float]:
    """Median wall time of each pipeline stage over calls."""
    return {name: round(float(statistics.median(v)), 3) for name, v in sorted(stages.items()) if v}


class FixedParams:
    """An experiments stand-in that gives everyone the benchmark's parameters."""

    def __init__(self, params: PolicyParams) -> None:
        self.params = params

    def assign(self, listener_id: str) -> Any:
        return self

    @property
    def label(self) -> str:
        return ""


def synthetic_pipeline(
    n: int,
    listeners: int = LISTENERS,
    cache_dir: Path | None = None,
    build_threads: int = 1,
) -> Recommender:
    """The real pipeline over ``benchmarks.pipeline``'s synthetic world (n tracks), with the
    build-time neighbour table (150 per track, as ``liner build`` writes it).

    ``cache_dir``: the indexes and the neighbour table are saved there and reused by later
    runs of the same size (they are most of the setup time: about 25 min at 1M).
    ``build_threads``: FAISS threads while building them (serving always searches on one)."""
    import faiss

    from benchmarks.pipeline import (
        ArraySpaces,
        SyntheticStore,
        synthetic_catalog,
        synthetic_reranker,
    )
    from recsys.pipeline.recommender import PipelineRecommender
    from recsys.pipeline.reranker import LightGbmReranker

    faiss.omp_set_num_threads(build_threads)
    rng = np.random.default_rng(0)
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
    spaces = ArraySpaces(n, rng, cache_dir=cache_dir)
    catalog = synthetic_catalog(n, n // 10, rng)
    store = SyntheticStore(n, n // 10, listeners, rng)
    rec = PipelineRecommender(spaces=spaces, catalog=catalog, store=store)  # type: ignore[arg-type]
    trained = synthetic_reranker(rec.features.names, rng)
    rec.scorers = {
        "default": LightGbmReranker(
            booster=trained.booster, feature_names=trained.feature_names
        ).compile()
    }
    spaces.neighbours = cached_neighbours(spaces, 150, cache_dir)
    faiss.omp_set_num_threads(1)
    return rec


def cached_neighbours(spaces: Any, k: int, cache_dir: Path | None) -> Any:
    """The neighbour table of ``spaces``' fused index, from ``cache_dir`` when an earlier run
    of the same size saved it there (next to the cached index it was searched in)."""
    from recsys.embeddings.neighbours import NeighbourTable, compute_neighbours

    n = len(spaces.track_ids)
    if cache_dir is not None:
        rows_file = cache_dir / f"neighbours_{n}_{k}_rows.npy"
        scores_file = cache_dir / f"neighbours_{n}_{k}_scores.npy"
        if rows_file.is_file() and scores_file.is_file():
            return NeighbourTable(
                rows=np.asarray(np.load(rows_file, mmap_mode="r")),
                scores=np.asarray(np.load(scores_file, mmap_mode="r")),
            )
    table = compute_neighbours(spaces.indexes["fused"], spaces.vectors["fused"], k)
    if cache_dir is not None:
        np.save(rows_file, table.rows)
        np.save(scores_file, table.scores)
    return table


def set_cache(recommender: Any, entries: int) -> None:
    """Turn the exact caches behind ``recommender`` (its sources' search cache and its cache
    of ranked candidates, where it has one) on (``entries``) or off (0), emptied."""
    inner = getattr(recommender, "inner", recommender)
    caches = [getattr(source, "cache", None) for source in getattr(inner, "sources", ())]
    caches.append(getattr(inner, "ranked_cache", None))  # (the ranked candidates, if any)
    for cache in caches:
        if isinstance(cache, SearchCache):
            cache.max_entries = entries
            cache.clear()


def cold_listeners(n: int) -> tuple[str, ...]:
    """Every listener once, in turn (with the cache off, every call is cold)."""
    return tuple(f"u{i % n}" for i in range(max(n, 1000)))


def session_listeners(n: int, seed: int = 0) -> tuple[str, ...]:
    """Each listener asks two to four times within a window of 20 listeners (a session
    pattern: the same history, so the same taste vector, asked again within minutes)."""
    rng = np.random.default_rng(seed)
    out: list[str] = []
    for start in range(0, n, 20):
        block = [
            f"u{u}" for u in range(start, min(start + 20, n)) for _ in range(rng.integers(2, 5))
        ]
        rng.shuffle(block)
        out.extend(block)
    return tuple(out)


def in_process_ms(
    recommender: Recommender,
    n: int,
    params: PolicyParams,
    listeners: int = LISTENERS,
    profile: dict[str, list[float]] | None = None,
) -> list[float]:
    """Times of direct ``recommend`` calls (the reference the service is compared with);
    ``profile`` receives each call's thread CPU (``cpu_ms``) and each stage's times."""
    times = []
    for i in range(n):
        request = RecommendRequest(listener_id=f"u{i % listeners}", k=10, params=params)
        start, cpu = time.perf_counter(), time.thread_time()
        out = recommender.recommend(request)
        times.append((time.perf_counter() - start) * 1000.0)
        if profile is not None:
            profile.setdefault("cpu_ms", []).append((time.thread_time() - cpu) * 1000.0)
            for stage, ms in out.stage_ms.items():
                profile.setdefault(stage, []).append(ms)
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
    set_cache(timed, 0)
    cpu0 = time.process_time()
    conn.send(("ready", server.worker_port))
    while True:  # the parent asks for the CPU time between phases and switches the cache
        message = conn.recv()
        if message == "stop":
            break
        if message == "cpu":
            conn.send(time.process_time())
        elif isinstance(message, tuple) and message[0] == "cache":
            set_cache(timed, message[1])
            conn.send("ok")
        elif message == "take":
            conn.send(timed.take())
    cpu = time.process_time() - cpu0
    server.stop(1.0)
    in_call = {}
    for line in keeper.lines:
        fields = json.loads(line)
        if fields.get("request_id", "").startswith("serial-"):
            in_call[fields["request_id"]] = float(fields["ms"])
    conn.send({"cpu_s": cpu, "ms": timed.ms, "in_call_ms": in_call})


class Servers:
    """Server processes forked from this one (the world is shared copy-on-write)."""

    def __init__(self, recommender: Recommender, args: Any) -> None:
        sock = reserve_port()
        port = sock.getsockname()[1]
        fork = mp.get_context("fork")
        self.procs = []
        for worker in range(args.workers):
            parent, child = fork.Pipe()
            proc = fork.Process(
                target=server_process,
                args=(recommender, BENCH_PARAMS, port, args, child, worker),
            )
            proc.start()
            self.procs.append((proc, parent))
        own_ports = []
        for _, conn in self.procs:
            ready, own = conn.recv()
            assert ready == "ready"
            own_ports.append(own)
        sock.close()
        self.target = f"127.0.0.1:{port}"
        if args.balance == "round-robin":
            self.target = ",".join(f"127.0.0.1:{p}" for p in own_ports)

    def cpu_s(self) -> float:
        """The servers' CPU time so far (their own ``process_time``), summed."""
        total = 0.0
        for _, conn in self.procs:
            conn.send("cpu")
            total += conn.recv()
        return total

    def take(self) -> tuple[list[float], dict[str, list[float]]]:
        """Every server's pipeline CPU (ms) and stage times per call since the last take."""
        cpu: list[float] = []
        stages: dict[str, list[float]] = {}
        for _, conn in self.procs:
            conn.send("take")
            got_cpu, got_stages = conn.recv()
            cpu += got_cpu
            for stage, values in got_stages.items():
                stages.setdefault(stage, []).extend(values)
        return cpu, stages

    def cache(self, entries: int) -> None:
        for _, conn in self.procs:
            conn.send(("cache", entries))
            conn.recv()

    def stop(self) -> tuple[dict[str, float], dict[str, float], list[int]]:
        server_ms: dict[str, float] = {}
        in_call: dict[str, float] = {}
        per_worker = []
        for proc, conn in self.procs:
            conn.send("stop")
            reply = conn.recv()
            per_worker.append(len(reply["ms"]))
            server_ms.update(reply["ms"])
            in_call.update(reply["in_call_ms"])
            proc.join()
        return server_ms, in_call, per_worker


def load(plan: service_load.LoadPlan) -> dict[str, Any]:
    """Run one phase of the load generator in a spawned process."""
    parent, child = mp.get_context("spawn").Pipe()
    loader = mp.get_context("spawn").Process(target=service_load.run, args=(plan, child))
    loader.start()
    out: dict[str, Any] = parent.recv()
    loader.join()
    return out


def generator_cpu(args: Any) -> int | None:
    """The CPU the load generator is pinned to: the last one, when the servers are pinned
    to the others (``--pin-cpus`` with fewer workers than CPUs), else None."""
    cpus = sorted(os.sched_getaffinity(0))
    if args.pin_cpus and args.workers < len(cpus):
        return cpus[-1]
    return None


def measure(recommender: Recommender, args: Any, label: str) -> dict[str, Any]:
    """One run: serve ``recommender`` from ``args.workers`` forked processes and load it.

    Phases (the servers' own CPU time read between them): serial calls, the rate ladder and
    the closed loop with the search cache off (every call cold), then a fixed-rate session
    phase with the cache on (each listener asking two to four times), then (``--overload``)
    an open loop at 4× the highest sustained rate with the cache off again.
    """
    n_ref = 100 if args.quick else 300
    set_cache(recommender, 0)
    in_process_ms(recommender, 20, BENCH_PARAMS)  # warm-up (first calls compile and fill caches)
    profile: dict[str, list[float]] = {}
    reference = in_process_ms(recommender, n_ref, BENCH_PARAMS, profile=profile)
    servers = Servers(recommender, args)
    base = {
        "target": servers.target,
        # Several connections per worker: the kernel hashes each to one worker, so a single
        # connection per worker would often leave one idle.
        "channels": args.channels_per_worker * args.workers,
        "seconds": 2.0 if args.quick else 3.0,
        "concurrency": 16,
        "min_calls": args.min_calls,
        "listeners": cold_listeners(LISTENERS),
        "cpu": generator_cpu(args),
        "serial_calls": 0,
        "rates": (),
    }
    plan = service_load.LoadPlan
    serial = load(plan(**{**base, "phase": "serial", "serial_calls": 200 if args.quick else 500}))
    ladder = load(plan(**{**base, "phase": "rates", "rates": tuple(args.rates[label])}))
    closed = load(plan(**{**base, "phase": "closed"}))
    steps = ladder["steps"] + closed["steps"]
    sustained = [s for s in ladder["steps"] if sustained_step(s)]
    top = max((s["offered"] for s in sustained), default=0.0)
    # The servers' CPU time while idle (gRPC's pollers, the reload watcher): subtracted from
    # the fixed-rate phases below, so a per-call figure does not depend on the rate.
    cpu_a, t_a = servers.cpu_s(), time.perf_counter()
    time.sleep(IDLE_SECONDS)
    idle_per_s = (servers.cpu_s() - cpu_a) / (time.perf_counter() - t_a)
    saturation = next(s["achieved_rps"] for s in closed["steps"] if s["kind"] == "closed")
    cpu_rate = max(20.0, round(0.5 * (top or saturation), -1))
    per_call: dict[str, float] = {}
    fixed: dict[str, dict[str, Any]] = {}
    split: dict[str, dict[str, Any]] = {}
    for phase, entries, names in (
        ("cold", 0, cold_listeners(LISTENERS)),
        ("sessions", SESSION_CACHE_ENTRIES, session_listeners(LISTENERS)),
    ):
        servers.cache(entries)
        servers.take()  # (the calls before this phase)
        cpu_a, t_a = servers.cpu_s(), time.perf_counter()
        got = load(
            plan(
                **{
                    **base,
                    "phase": "open",
                    "rates": (cpu_rate,),
                    "listeners": names,
                    "min_calls": args.cpu_calls,
                }
            )
        )
        busy = servers.cpu_s() - cpu_a - idle_per_s * (time.perf_counter() - t_a)
        step = got["steps"][0]
        per_call[phase] = round(busy * 1000.0 / max(1, step["calls"]), 3)
        pipeline_cpu, stages = servers.take()
        if pipeline_cpu:
            # The pipeline's own thread CPU per call, summed over the phase's calls and
            # divided as the headline is, and the rest of the server's CPU per call.
            inside = sum(pipeline_cpu) / max(1, step["calls"])
            split[phase] = {
                "pipeline_cpu_ms_per_call": round(inside, 3),
                "pipeline_cpu_ms_p50": round(float(statistics.median(pipeline_cpu)), 3),
                "rest_cpu_ms_per_call": round(per_call[phase] - inside, 3),
                "stage_wall_ms_p50": stage_medians(stages),
            }
        fixed[phase] = {"rate": cpu_rate, **step, "client_cpu_s": got["client_cpu_s"]}
    servers.cache(0)
    overload = None
    if args.overload and label == "pipeline" and (top or saturation) > 0:
        overload = load(
            plan(**{**base, "phase": "overload", "rates": (4.0 * (top or saturation),)})
        )
    server_ms, in_call, per_worker = servers.stop()
    reference += in_process_ms(recommender, n_ref, BENCH_PARAMS)
    ladder_calls = sum(s["calls"] + s["errors"] for s in ladder["steps"])
    fixed_calls = sum(f["calls"] + f["errors"] for f in fixed.values())
    figures = summarise(
        {"serial": serial["serial"], "steps": steps}, reference, server_ms, servers, args
    )
    figures["server_cpu_ms_per_call_cold"] = per_call["cold"]
    # Where a server call's CPU goes, against the same pipeline called in this process (back
    # to back, warm caches): pipeline CPU inside the server vs in-process, stage by stage.
    figures["server_cpu_split"] = split
    if profile.get("cpu_ms"):
        figures["in_process_cpu_ms_p50"] = round(float(statistics.median(profile["cpu_ms"])), 3)
        figures["in_process_stage_wall_ms_p50"] = stage_medians(
            {k: v for k, v in profile.items() if k != "cpu_ms"}
        )
    figures["server_cpu_ms_per_call_sessions"] = per_call["sessions"]
    figures["server_idle_cpu_ms_per_s"] = round(idle_per_s * 1000.0, 2)
    figures["cpu_phases"] = fixed
    client_s = sum(x["client_cpu_s"] for x in (serial, ladder, closed)) + sum(
        f["client_cpu_s"] for f in fixed.values()
    )
    client_calls = (
        len(serial["serial"])
        + ladder_calls
        + fixed_calls
        + sum(s["calls"] + s["errors"] for s in closed["steps"])
    )
    figures["client_cpu_ms_per_call"] = round(client_s * 1000.0 / max(1, client_calls), 3)
    figures["client_cpu"] = base["cpu"]
    if overload is not None:
        figures["overload"] = overload_figures(overload, serial["serial"], top or saturation)
        if args.workers == 1:  # the pipeline's own time of each call, in the order served
            figures["overload"].update(overload_split(overload, serial["serial"], server_ms))
    # Connections are hashed to workers by the kernel, so the split of calls is uneven.
    figures["calls_per_worker"] = per_worker
    pairs = [(rid, ms) for rid, ms in serial["serial"] if rid in in_call and rid in server_ms]
    if pairs:
        figures["overhead_split_ms"] = {
            "in_server": round(
                statistics.median(in_call[rid] - server_ms[rid] for rid, _ in pairs), 3
            ),
            "grpc_transport_and_client": round(
                statistics.median(ms - in_call[rid] for rid, ms in pairs), 3
            ),
        }
    return figures


def sustained_step(row: dict[str, Any], *, refusals: bool = True) -> bool:
    """An open-loop step at ≥ 95 % of its offered rate, p99 ≤ 20 ms, no errors but refusals.

    The p99 is over every call offered, a refused call (admission's RESOURCE_EXHAUSTED)
    counted as slower than 20 ms: a refusal is a call the service did not answer in time, not
    a call that does not count, so refusals pass only as the 1 % a p99 leaves, together with
    the answers slower than 20 ms. With ``refusals=False`` a single refusal fails the step
    (the rule before, kept as ``max_rps_no_refusals``).
    """
    if row["kind"] != "open" or row["achieved_rps"] < 0.95 * row["offered"]:
        return False
    refused = row.get("refused", 0)
    if row["errors"] - refused > 0 or (refused and not refusals):
        return False
    p99 = row.get("p99_offered_ms", row["p99_ms"] if row["errors"] == 0 else None)
    return p99 is not None and p99 <= P99_TARGET_MS and row["p99_ms"] <= P99_TARGET_MS


def overload_figures(
    overload: dict[str, Any], serial: list[tuple[str, float]], top: float
) -> dict[str, Any]:
    """Accepted latency at 4× the sustained rate against the unloaded (serial) latency."""
    step = overload["steps"][0]
    unloaded = np.asarray([ms for _, ms in serial])
    p99_unloaded = float(np.percentile(unloaded, 99))
    offered_calls = step["calls"] + step["errors"]
    return {
        "offered_rps": step["offered"],
        "sustained_rps": top,
        "accepted": step["calls"],
        "refused": step["error_codes"].get("RESOURCE_EXHAUSTED", 0),
        "other_errors": step["errors"] - step["error_codes"].get("RESOURCE_EXHAUSTED", 0),
        "refused_share": round(step["errors"] / max(1, offered_calls), 3),
        "accepted_p50_ms": step["p50_ms"],
        "accepted_p99_ms": step["p99_ms"],
        "unloaded_p50_ms": round(float(np.percentile(unloaded, 50)), 3),
        "unloaded_p99_ms": round(p99_unloaded, 3),
        "p99_ratio": round(step["p99_ms"] / p99_unloaded, 2),
        "recovery_s": overload["recovery_s"],
        "seconds": step["seconds"],
    }


def overload_split(
    overload: dict[str, Any], serial: list[tuple[str, float]], server_ms: dict[str, float]
) -> dict[str, Any]:
    """Where an accepted call's time goes under overload: the pipeline's own time inside the
    server (its slate, stretched by whatever else holds the GIL and the core) against the same
    for the serial calls; the rest of the accepted latency is the wait for a slot, gRPC and
    the client. The overload's accepted calls are the last ones served but one (the recovery
    call), so this needs a single server process."""
    accepted = overload["steps"][0]["calls"]
    timed = list(server_ms.values())[-(accepted + 1) : -1]
    unloaded = [server_ms[rid] for rid, _ in serial if rid in server_ms]
    if not timed or not unloaded:
        return {}
    return {
        "accepted_pipeline_p50_ms": round(float(np.percentile(timed, 50)), 3),
        "accepted_pipeline_p99_ms": round(float(np.percentile(timed, 99)), 3),
        "unloaded_pipeline_p50_ms": round(float(np.percentile(unloaded, 50)), 3),
        "unloaded_pipeline_p99_ms": round(float(np.percentile(unloaded, 99)), 3),
    }


def summarise(
    load: dict[str, Any],
    reference: list[float],
    server_ms: dict[str, float],
    servers: Servers,
    args: Any,
) -> dict[str, Any]:
    """The figures of one run."""
    steps = load["steps"]
    opened = [r for r in steps if r["kind"] == "open"]
    sustained = [r for r in opened if sustained_step(r)]
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
        "max_rps_no_refusals": max(
            (r["offered"] for r in opened if sustained_step(r, refusals=False)), default=0.0
        ),
        "refused_per_step": {str(r["offered"]): r.get("refused", 0) for r in opened},
        "at_rps": at["offered"],
        "p50_ms": at["p50_ms"],
        "p99_ms": at["p99_ms"],
        "p99_calls": at["calls"],
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
        "rates": steps,
        "load_average_1min": round(os.getloadavg()[0], 1),
    }


HEADLINE = (
    "server_cpu_ms_per_call_cold",
    "server_cpu_ms_per_call_sessions",
    "max_rps",
    "p50_ms",
    "p99_ms",
    "overhead_ms",
    "saturation_rps",
    "in_process_p50_ms",
    "client_cpu_ms_per_call",
)


def over_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the headline figures over the runs, with their spread (min, max)."""
    out: dict[str, Any] = {}
    spread: dict[str, list[float]] = {}
    for key in HEADLINE:
        values = [r[key] for r in runs if r.get(key) is not None]
        if values:
            out[key] = round(float(statistics.median(values)), 3)
            spread[key] = [min(values), max(values)]
    out["spread"] = spread
    loads = [r["overload"] for r in runs if "overload" in r]
    if loads:
        out["overload_p99_ratio"] = round(
            float(statistics.median(x["p99_ratio"] for x in loads)), 2
        )
        spread["overload_p99_ratio"] = [
            min(x["p99_ratio"] for x in loads),
            max(x["p99_ratio"] for x in loads),
        ]
    return out


def conditions(args: Any) -> str:
    pinned = ", each server pinned to a CPU" if args.pin_cpus else ""
    client = generator_cpu(args)
    where = "unpinned" if client is None else f"pinned to CPU {client}"
    return (
        f"{args.workers} server process(es) x {args.threads} threads{pinned}; load from a "
        f"spawned process on loopback ({where}), "
        f"{args.channels_per_worker} connections per process; open-loop steps of at least "
        f"{args.min_calls} calls; k=10; request log on (kept in memory); {LISTENERS} listeners "
        f"with 100 events each; {os.cpu_count()}-core machine shared with other jobs: medians "
        "over the runs, references (in-process, fake recommender) measured in every run"
    )


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--artifacts", help="built artifact directory instead of the synthetic world")
    p.add_argument("--db", default="var/liner.db", help="store for --artifacts")
    p.add_argument(
        "--tracks", type=int, default=None, help="catalog size (default 1M, --quick 100k)"
    )
    p.add_argument(
        "--world-cache",
        default=None,
        help="directory where the synthetic world's indexes and neighbour table are saved "
        "and reused by later runs of the same size",
    )
    p.add_argument(
        "--build-threads",
        type=int,
        default=1,
        help="FAISS threads while building the synthetic world (not while serving)",
    )
    p.add_argument("--runs", type=int, default=5, help="repeated runs (medians and spread)")
    p.add_argument("--workers", type=int, default=1, help="server processes on one port")
    p.add_argument("--threads", type=int, default=8, help="gRPC worker threads per process")
    p.add_argument(
        "--min-calls",
        type=int,
        default=1000,
        help="calls per open-loop step at least (each p99 rests on this many)",
    )
    p.add_argument(
        "--cpu-calls",
        type=int,
        default=1000,
        help="calls of each fixed-rate CPU phase (cold, sessions)",
    )
    p.add_argument(
        "--overload",
        action="store_true",
        help="also offer 4x the highest sustained rate and compare accepted p99 with unloaded",
    )
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
        help="pin server process i to CPU i; with fewer workers than CPUs the load generator "
        "is pinned to the last CPU",
    )
    p.add_argument("--modes", default="pipeline,fake", help="comma-separated: pipeline,fake")
    p.add_argument("--name", default=None, help="result file name")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    args.rates = {
        "pipeline": [50, 100, 150, 200, 250, 300, 350, 400],
        "fake": [100, 200, 400, 600, 800],
    }
    n = args.tracks or (100_000 if args.quick else 1_000_000)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    figures: dict[str, Any] = {"n_tracks": n}
    rec: Recommender | None = None
    if "pipeline" in modes:
        if args.artifacts:
            from recsys.pipeline import load_recommender
            from recsys.settings import LinerSettings
            from recsys.store import open_store

            store = open_store(args.db)
            rec = load_recommender(Path(args.artifacts), store, LinerSettings(), log_slates=False)
            n = figures["n_tracks"] = len(rec.spaces.track_ids)  # type: ignore[attr-defined]
        else:
            t = time.perf_counter()
            cache = Path(args.world_cache) if args.world_cache else None
            rec = synthetic_pipeline(n, cache_dir=cache, build_threads=args.build_threads)
            figures["setup_s"] = round(time.perf_counter() - t, 1)
        figures["mode"] = "pipeline (real, synthetic world)"
    fake = FakeSlateRecommender(n)
    runs: list[dict[str, Any]] = []
    fakes: list[dict[str, Any]] = []
    name = "service" + (f"_workers{args.workers}" if args.workers > 1 else "")
    name += f"_switch{args.switch_interval_ms:g}" if args.switch_interval_ms else ""
    name += "_gcfreeze" if args.gc_freeze else ""
    name += "_pinned" if args.pin_cpus else ""
    name += "_rr" if args.balance == "round-robin" else ""
    name += "" if n == 1_000_000 else f"_{n // 1000}k"
    for _ in range(args.runs):  # each run: the pipeline, then the fake reference
        if rec is not None:
            runs.append(measure(rec, args, "pipeline"))
        if "fake" in modes:
            fakes.append(measure(fake, args, "fake"))
        # Written after every run (the runs so far), so a run stopped early keeps its figures.
        write_result(args.name or name, result(figures, runs, fakes, args))
    if not args.runs:
        write_result(args.name or name, result(figures, runs, fakes, args))


def result(
    figures: dict[str, Any],
    runs: list[dict[str, Any]],
    fakes: list[dict[str, Any]],
    args: Any,
) -> dict[str, Any]:
    """The figures over the runs so far (``runs_done`` of ``runs_planned``)."""
    out = dict(figures)
    if runs:
        out.update(over_runs(runs))
        out["runs"] = runs
    if fakes:
        fake_figures = {"mode": "fake (pure service overhead)", **over_runs(fakes), "runs": fakes}
        if runs:
            out["fake"] = fake_figures
        else:
            out.update(fake_figures)
    out.update(
        runs_planned=args.runs,
        runs_done=max(len(runs), len(fakes)),
        workers=args.workers,
        threads=args.threads,
        switch_interval_ms=args.switch_interval_ms or 5.0,
        gc_freeze=args.gc_freeze,
        balance=args.balance,
        pin_cpus=args.pin_cpus,
        conditions=conditions(args),
    )
    return out


if __name__ == "__main__":
    main()
