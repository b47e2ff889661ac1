"""`liner serve`: run the gRPC service over an artifact directory."""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from recsys.errors import LinerError
from recsys.settings import LinerSettings
from recsys.store import Store

if TYPE_CHECKING:
    from recsys.service.workers import ReloadBroadcast

logger = logging.getLogger(__name__)


def full_metering_report(store: Store, pool: str = "0") -> dict[str, Any]:
    """The whole metering report of ``recsys.integrity`` as a dict."""
    from recsys.integrity.metering_report import metering_report_from_store

    return metering_report_from_store(store, pool).to_dict()


def integrity_metering(
    store: Store, rights_holder_id: str | None, pool: str = "0"
) -> dict[str, Any]:
    """The metering report of ``recsys.integrity`` as a dict, optionally for one holder."""
    report = full_metering_report(store, pool)
    if rights_holder_id is not None:
        report["holders"] = [
            h for h in report["holders"] if h["rights_holder_id"] == rights_holder_id
        ]
    return report


@click.command("serve")
@click.option("--artifacts", type=click.Path(path_type=Path), help="Artifact directory.")
@click.option("--db", help="Store: SQLite path or database URL.")
@click.option("--port", type=int, help="gRPC port; 0 picks a free one and prints it.")
@click.option("--host", help="Address to bind (default 127.0.0.1).")
@click.option("--metrics-port", type=int, help="Prometheus port; 0 picks one; -1 disables.")
@click.option(
    "--web-port",
    type=int,
    help="Browser port (Connect, gRPC-Web; same auth and limits) and the web app; 0 picks "
    "one. Off by default (LINER_WEB_PORT).",
)
@click.option(
    "--web-origin",
    "web_origins",
    multiple=True,
    help="An origin that browser pages may call the web port from (CORS); repeat for more, "
    "'*' for any. None by default: only the web app served by the port itself.",
)
@click.option(
    "--experiments", type=click.Path(path_type=Path), help="Folder of A/B experiment YAML files."
)
@click.option("--grace", type=float, default=10.0, show_default=True, help="Shutdown grace (s).")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Server processes sharing the port (SO_REUSEPORT); each loads the artifacts. "
    "Worker i serves metrics on metrics-port + i.",
)
@click.option(
    "--worker-ports",
    type=click.IntRange(min=1, max=65535),
    help="Worker i also listens alone on this port + i; a client that round-robins over "
    "them (LinerClient('HOST:P,HOST:P+1')) spreads each call, not each connection.",
)
@click.option(
    "--pin-workers",
    is_flag=True,
    help="Pin worker i to CPU i (Linux): each keeps its core's caches warm.",
)
@click.option(
    "--allow-anonymous-events",
    is_flag=True,
    help="Accept LogEvents without a token, for any listener (LINER_ALLOW_ANONYMOUS_EVENTS). "
    "Demo only: plays are metered and paid; give the app backend a LINER_FEEDBACK_TOKENS "
    "token instead.",
)
def serve_command(
    artifacts: Path | None,
    db: str | None,
    port: int | None,
    host: str | None,
    metrics_port: int | None,
    experiments: Path | None,
    grace: float,
    workers: int,
    worker_ports: int | None,
    pin_workers: bool,
    allow_anonymous_events: bool,
    web_port: int | None,
    web_origins: tuple[str, ...],
) -> None:
    """Run the gRPC service: health turns SERVING once the artifacts are loaded; SIGTERM or
    Ctrl-C drains in-flight calls, then stops. Tokens and TLS come from LINER_* settings.

    One process serves one pipeline call at a time on the CPU (the GIL); --workers N runs N
    processes on the same port to use N cores (see recsys/service/workers.py for what
    differs: per-worker metrics ports; a reload is passed on to every worker).

    Example:

        liner serve --artifacts var/artifacts --db var/liner.db --port 50051
        liner serve --artifacts var/artifacts --db var/liner.db --port 50051 --workers 2
        liner serve --artifacts var/artifacts --db var/liner.db --port 50051 --workers 2 \\
            --worker-ports 50061 --pin-workers
        liner serve --artifacts var/artifacts --db var/liner.db --allow-anonymous-events  # demo
        liner serve --artifacts var/artifacts --db var/liner.db --web-port 8080  # web app

    LogEvents needs a feedback token (LINER_FEEDBACK_TOKENS) or a listener token
    (LINER_LISTENER_TOKEN_KEY; mint with `liner tokens listener ID`); --allow-anonymous-events
    turns anonymous events on for a demo, with a warning in the log.
    """
    overrides: dict[str, Any] = {
        k: v
        for k, v in {
            "artifacts": artifacts,
            "db": db,
            "port": port,
            "host": host,
            "experiments_dir": experiments,
            "worker_port": worker_ports,
            "web_port": web_port,
            "web_origins": list(web_origins) or None,
        }.items()
        if v is not None
    }
    if metrics_port is not None:
        overrides["metrics_port"] = None if metrics_port < 0 else metrics_port
    if allow_anonymous_events:
        overrides["allow_anonymous_events"] = True
    settings = LinerSettings(**overrides)
    if settings.allow_anonymous_events:
        click.echo(
            "WARNING: anonymous LogEvents are ON: anyone who reaches this port can log plays "
            "for any listener, and plays are metered and paid. Demo only.",
            err=True,
        )
    if worker_ports is not None:
        last = worker_ports + workers - 1
        if last > 65535:
            raise click.BadParameter(
                f"{workers} workers need ports {worker_ports}-{last}, past 65535; "
                "pick a lower base",
                param_hint="--worker-ports",
            )
        if worker_ports <= settings.port <= last:
            raise click.BadParameter(
                f"ports {worker_ports}-{last} include the shared port {settings.port}; "
                "pick a base outside it",
                param_hint="--worker-ports",
            )

    def announce(port: int) -> None:
        click.echo(f"listening on {settings.host}:{port} ({workers} workers)")
        if worker_ports is not None:
            each = ",".join(f"{settings.host}:{worker_ports + i}" for i in range(workers))
            click.echo(f"worker ports: {each} (round-robin over them spreads each call)")

    try:
        from recsys.service.workers import run_workers, worker_settings

        if workers == 1:
            run(worker_settings(settings, settings.port, 0, pin=pin_workers), grace=grace)
            return

        failed = run_workers(
            settings, workers, run_worker, grace=grace, on_port=announce, pin=pin_workers
        )
    except LinerError as exc:
        raise click.ClickException(str(exc)) from exc
    if failed:
        raise click.ClickException(f"{failed} worker(s) failed; see the log above")


def run_worker(
    settings: LinerSettings, grace: float, log_level: int, broadcast: ReloadBroadcast
) -> None:
    """One worker of ``--workers N`` (a spawned process): serve until SIGTERM."""
    import sys

    from recsys.service.workers import start_logging

    start_logging(log_level)
    try:
        run(settings, grace=grace, broadcast=broadcast)
    except LinerError as exc:
        click.echo(f"worker failed: {exc}", err=True)
        sys.exit(1)


def single_thread_native() -> None:
    """FAISS's OpenMP and numpy's BLAS on one thread, for the calling thread (from the main
    thread also the default of threads started later); every RPC thread calls it.

    One thread per search: gRPC's worker threads are the parallelism, and FAISS's own OpenMP
    pool under contention turns a sub-millisecond search into ~10 ms (its idle threads also
    spin). Likewise BLAS, whatever ``OPENBLAS_NUM_THREADS`` says: on a loaded 2-core machine
    its pool made the emerging source's 20k-row product cost 2.6 ms of CPU instead of 0.24.
    """
    import faiss
    from threadpoolctl import threadpool_limits

    faiss.omp_set_num_threads(1)
    threadpool_limits(1, "blas")


def run(
    settings: LinerSettings,
    *,
    grace: float = 10.0,
    stop: threading.Event | None = None,
    broadcast: ReloadBroadcast | None = None,
) -> None:
    """Start the server, load artifacts, serve until ``stop`` is set or a signal arrives.

    ``broadcast`` (a worker of ``--workers N``) passes reloads to and from the other workers.
    """
    from agent.planners import configured_planner
    from agent.sessions import SessionStore
    from recsys.experiments import ExperimentRegistry
    from recsys.integrity.audio import store_audio_cache
    from recsys.integrity.backlog import BacklogScreener
    from recsys.integrity.figures import seed_metrics_in_subprocess
    from recsys.pipeline import load_recommender
    from recsys.service import LinerServer, ServiceDeps, ServiceMetrics, ServingState
    from recsys.service.live import LiveAgent, LiveExperiments
    from recsys.service.metering_cache import CachedMetering
    from recsys.service.replicas import replica_signal
    from recsys.service.state import trial_recommend
    from recsys.service.workers import pin_process
    from recsys.store import open_store

    if settings.cpu_affinity:
        pin_process(settings.cpu_affinity)
    single_thread_native()
    store = open_store(settings.db)
    metrics = ServiceMetrics()
    registry = None
    live_experiments = None
    if settings.experiments_dir is not None:
        registry = ExperimentRegistry(settings.experiments_dir, metrics_registry=metrics.registry)
        registry.start_watching()
        live_experiments = LiveExperiments(registry)
    # Replicas on a shared store (PostgreSQL) pass reloads through it, which also reaches
    # this machine's other workers; else --workers share memory (recsys.service.replicas).
    reloads = replica_signal(store, lambda: state.loaded) or broadcast
    state = ServingState(
        factory=lambda d: load_recommender(d, store, settings),
        experiments=live_experiments.reload if live_experiments is not None else None,
        announce=reloads.announce if reloads is not None else None,
        trial=trial_recommend,
        on_load=metrics.observe_reload,
    )
    # Sessions in the store: any --workers process or replica on it continues a conversation.
    sessions = SessionStore(ttl_s=settings.agent_session_ttl_s, store=store)
    agent = LiveAgent(state, planner=configured_planner(settings), sessions=sessions)
    deps = ServiceDeps(
        state=state,
        store=store,
        metrics=metrics,
        metering=CachedMetering(full_metering_report, max_age_s=settings.metering_cache_s),
        conversation=agent,
        consent_skew=timedelta(seconds=settings.consent_clock_skew_s),
    )
    metrics.watch_figures(
        lambda: seed_metrics_in_subprocess(settings.db), settings.figures_refresh_s
    )
    server = LinerServer(settings, deps, thread_initializer=single_thread_native)
    bound = server.start()
    click.echo(f"listening on {settings.host}:{bound}", nl=True)
    web = None
    if settings.web_port is not None:
        from recsys.service.web import WebGateway

        web = WebGateway(server, settings, thread_initializer=single_thread_native)
        click.echo(f"web app and Connect/gRPC-Web on http://{settings.host}:{web.start()}/")
    if server.worker_port is not None:
        click.echo(f"this process alone on {settings.host}:{server.worker_port}")
    if server.metrics_port is not None:
        click.echo(f"metrics on http://{settings.host}:{server.metrics_port}/metrics")
    # Unscreened uploads (a killed ingest or screening, UpsertTracks) are held by the hard
    # filter; the service starts on the screened catalog and screens the backlog meanwhile.
    screener = BacklogScreener(store, audio_cache=store_audio_cache(settings.db))
    screener.start()
    stop = stop or threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        # The load runs the trial slates (a query among them, which loads the text model), and
        # the agent is built here too: health says SERVING only when a first call is fast.
        loaded = state.load(settings.artifacts)
        warm_agent(agent)
        if reloads is not None:
            reloads.watch(state, stop)
        state.load_experiments()
        server.set_serving()
        click.echo(f"serving artifacts {loaded.artifact_dir} (version {loaded.version})")
        stop.wait()
    finally:
        click.echo("shutting down: draining in-flight calls")
        if web is not None:
            web.stop(grace)
        server.stop(grace)
        screener.stop()
        if registry is not None:
            registry.stop()
        store.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def warm_agent(agent: Any) -> None:
    """Build the discovery agent before SERVING; a failure is logged, not fatal: Recommend
    still serves, and Converse answers with the error."""
    start = time.perf_counter()
    try:
        agent.warm()
    except Exception as exc:  # the agent's own failure must not stop Recommend
        logger.warning("the discovery agent could not be prepared: %s", exc)
        return
    logger.info("discovery agent ready in %.0f ms", (time.perf_counter() - start) * 1000.0)


__all__ = [
    "full_metering_report",
    "integrity_metering",
    "run",
    "run_worker",
    "serve_command",
    "warm_agent",
]
