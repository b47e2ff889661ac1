"""Several server processes on one port (``liner serve --workers N``).

One Python process runs one pipeline call at a time on the CPU: the pipeline's Python parts
hold the GIL, so threads only overlap its FAISS and NumPy sections. N processes each load the
artifacts (read-only) and run a full :class:`~recsys.service.LinerServer` on the same port;
gRPC binds with ``SO_REUSEPORT`` (its default on Linux), so the kernel spreads incoming
connections over them. Clients with one long-lived channel stick to one process; spread load
comes from many clients (or several channels).

Two options matter for latency (measured in ``benchmarks/README.md``):
    * ``--worker-ports BASE``: worker i also listens alone on ``BASE + i``. The shared port
      spreads connections (a hash per connection, so 32 connections split 40/60 in one run);
      a client with the address list (``LinerClient("127.0.0.1:P,127.0.0.1:P+1")``, gRPC's
      round_robin policy) alternates single calls between workers instead.
    * ``--pin-workers``: worker i runs on CPU i only (``pin_process``). Unpinned, two workers
      and a client on two cores migrate between cores: a pipeline call inside a server ran
      1.03-1.49x as long as in one process, and 1.02-1.11x pinned; server CPU per call at 1M
      tracks was 7.4-7.9 ms unpinned, 5.8-7.3 ms pinned.

What differs from one process:
    * metrics: worker ``i`` serves them on ``metrics_port + i`` (port 0: each picks a free
      one and prints it), so every worker can be scraped.
    * ``ReloadArtifacts`` lands on one worker; after loading, it announces the directory on a
      :class:`ReloadBroadcast` (shared memory from the parent) and every other worker's
      watcher loads it within ``ReloadBroadcast.interval`` seconds. Each worker verifies the
      directory itself, so a sibling that fails keeps serving its previous artifacts (logged).
    * the store is opened by every worker, so several processes write slate and feedback
      logs to it: use a store that takes concurrent writers.

Workers are spawned (fresh interpreters: gRPC must not be initialised before a fork).
SIGTERM or Ctrl-C on the parent is passed on; each worker drains its in-flight calls.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from recsys.errors import ConfigError
from recsys.settings import LinerSettings

logger = logging.getLogger(__name__)

PATH_BYTES = 4096


class Reloadable(Protocol):
    """What the watcher reloads (``recsys.service.ServingState``)."""

    def follow(self, pending: Callable[[], Path | None], *, origin: str) -> Any:
        """Under the reload lock: take ``pending()`` and, if it is a directory, load it
        (counted with ``origin``)."""
        ...


class ReloadBroadcast:
    """An artifact reload, passed from the worker that took the call to all the others.

    Shared memory made by the parent: a generation counter and the directory's path. The
    worker that reloaded calls :meth:`announce`; :meth:`watch` runs in every worker and loads
    each newly announced directory once.

    Args:
        ctx: the multiprocessing context the workers are started with.
        interval: seconds between the watchers' polls.
    """

    def __init__(self, ctx: Any, interval: float = 0.2) -> None:
        self._lock = ctx.Lock()
        self._generation = ctx.Value("q", 0, lock=False)
        self._path = ctx.Array("c", PATH_BYTES, lock=False)
        self.interval = interval
        self._seen = 0

    def announce(self, artifact_dir: Path) -> None:
        """Tell the other workers to load ``artifact_dir`` (this worker already has)."""
        raw = str(artifact_dir).encode()
        if len(raw) >= PATH_BYTES:
            logger.error("artifact path too long to broadcast; other workers keep serving")
            return
        with self._lock:
            self._path.value = raw
            self._generation.value += 1
            self._seen = self._generation.value

    def pending(self) -> Path | None:
        """The newest announced directory this process has not taken yet, or None."""
        with self._lock:
            generation = self._generation.value
            if generation == self._seen:
                return None
            self._seen = generation
            return Path(self._path.value.decode())

    def watch(self, state: Reloadable, stop: threading.Event) -> threading.Thread:
        """Start a daemon thread that loads announced directories into ``state``."""

        def loop() -> None:
            while not stop.wait(self.interval):
                try:
                    state.follow(self.pending, origin="worker")
                except Exception:
                    logger.exception("reload announced by another worker failed")

        thread = threading.Thread(target=loop, name="reload-watch", daemon=True)
        thread.start()
        return thread


WorkerTarget = Callable[[LinerSettings, float, int, ReloadBroadcast], None]
"""(settings for this worker, shutdown grace in seconds, log level, the reload broadcast)
-> serve until SIGTERM."""


def reserve_port(host: str, port: int) -> tuple[socket.socket, int]:
    """Bind (without listening) a ``SO_REUSEPORT`` socket on ``host:port`` and return it with
    the bound port. It keeps a port picked with 0 ours while the workers bind it too, and
    never takes connections (only listening sockets do).

    Raises:
        ConfigError: the address cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot bind {host}:{port} for workers: {exc}") from exc
    return sock, int(sock.getsockname()[1])


def worker_settings(
    settings: LinerSettings, port: int, index: int, *, pin: bool = False
) -> LinerSettings:
    """The settings of worker ``index``: the shared port, its own metrics port, its own port
    ``worker_port + index`` (when ``worker_port`` is set and not 0) and, with ``pin``, CPU
    ``index`` modulo the CPUs this process may use."""
    update: dict[str, Any] = {"port": port}
    metrics = settings.metrics_port
    if metrics is not None and metrics != 0:
        update["metrics_port"] = metrics + index
    if settings.worker_port:
        update["worker_port"] = settings.worker_port + index
    if pin:
        cpus = sorted(os.sched_getaffinity(0))
        update["cpu_affinity"] = [cpus[index % len(cpus)]]
    return settings.model_copy(update=update)


def pin_process(cpus: Iterable[int]) -> None:
    """Restrict every thread of this process to ``cpus`` (threads started later inherit it).

    A pinned worker keeps its core's caches warm (figures in benchmarks/README.md).

    Raises:
        ConfigError: a CPU that does not exist or is not allowed.
    """
    wanted = set(cpus)
    try:
        # The process itself first: a thread that starts from now on inherits it.
        os.sched_setaffinity(0, wanted)
        for task in Path("/proc/self/task").iterdir():
            try:
                os.sched_setaffinity(int(task.name), wanted)
            except ProcessLookupError:
                continue  # the thread exited between the listing and the call
    except (OSError, ValueError) as exc:
        allowed = sorted(os.sched_getaffinity(0))
        raise ConfigError(
            f"cannot pin to CPUs {sorted(wanted)} (allowed: {allowed}): {exc}"
        ) from exc


def run_workers(
    settings: LinerSettings,
    workers: int,
    target: WorkerTarget,
    *,
    grace: float = 10.0,
    stop: threading.Event | None = None,
    on_port: Callable[[int], None] | None = None,
    pin: bool = False,
) -> int:
    """Run ``workers`` server processes on one port until ``stop`` is set, a signal arrives
    or a worker exits; returns the number of workers that exited with an error.

    Args:
        settings: the service settings (``port`` 0 picks one free port for all).
        workers: how many processes (at least 1).
        target: what each worker runs (``recsys.cli.serve.run_worker``).
        grace: how long each worker may drain in-flight calls on shutdown.
        stop: set it to stop (tests); None waits for SIGTERM/SIGINT.
        on_port: called with the bound port once the workers are started.
        pin: pin worker i to CPU i (see :func:`pin_process`).

    Raises:
        ConfigError: ``workers`` < 1 or the address cannot be bound.
    """
    if workers < 1:
        raise ConfigError("--workers must be at least 1")
    sock, port = reserve_port(settings.host, settings.port)
    ctx = mp.get_context("spawn")
    level = logging.getLogger().getEffectiveLevel()
    broadcast = ReloadBroadcast(ctx)
    procs = [
        ctx.Process(
            target=target,
            args=(worker_settings(settings, port, i, pin=pin), grace, level, broadcast),
            name=f"liner-serve-{i}",
        )
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    if on_port is not None:
        on_port(port)
    stop = stop or threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.wait(0.2):
            if any(proc.exitcode is not None for proc in procs):
                logger.error("a worker exited; stopping the others")
                break
    finally:
        for proc in procs:
            if proc.exitcode is None:
                proc.terminate()  # SIGTERM: the worker drains, then exits
        for proc in procs:
            proc.join(grace + 10.0)
            if proc.exitcode is None:
                proc.kill()
                proc.join()
        sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return sum(1 for proc in procs if proc.exitcode not in (0, -signal.SIGTERM))


def start_logging(level: int) -> None:
    """Configure a spawned worker's logging like the CLI's."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")


__all__ = [
    "ReloadBroadcast",
    "WorkerTarget",
    "pin_process",
    "reserve_port",
    "run_workers",
    "start_logging",
    "worker_settings",
]
