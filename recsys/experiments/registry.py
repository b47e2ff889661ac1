"""Hot reload of the experiments folder for the running service.

Readers call :meth:`ExperimentRegistry.current` on every request: a plain attribute read of an
immutable :class:`ExperimentSet`, so no lock and never a half-loaded folder. A reload validates
the whole folder first and swaps the reference only when every file and every cross-file rule
passes; otherwise the old set keeps serving, the refusal is logged and counted in
``liner_experiment_reload_refusals_total``.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge

from recsys.errors import ConfigError
from recsys.experiments.experiment_set import SUFFIXES, ExperimentSet, load_experiments

logger = logging.getLogger(__name__)


class ReloadMetrics:
    """The registry's Prometheus metrics, on a given collector registry.

    ``liner_experiment_reload_refusals_total`` counts refused reloads,
    ``liner_experiment_reloads_total`` successful swaps and ``liner_experiments_loaded`` the
    experiments serving now.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.refusals = Counter(
            "liner_experiment_reload_refusals_total",
            "Experiment folder reloads refused because the new config was invalid.",
            registry=registry,
        )
        self.reloads = Counter(
            "liner_experiment_reloads_total",
            "Experiment folder reloads that were validated and swapped in.",
            registry=registry,
        )
        self.loaded = Gauge(
            "liner_experiments_loaded", "Experiments in the set serving now.", registry=registry
        )


DEFAULT_METRICS = ReloadMetrics(REGISTRY)
"""Metrics on prometheus_client's default registry, for registries not given their own."""


Stamp = tuple[tuple[str, int, int], ...]


def folder_stamp(directory: Path) -> Stamp:
    """Names, mtimes (ns) and sizes of the folder's experiment files; cheap to poll."""
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return ()
    stamp = []
    for path in entries:
        if path.suffix in SUFFIXES and not path.name.startswith("."):
            try:
                info = path.stat()
            except OSError:
                continue
            stamp.append((path.name, info.st_mtime_ns, info.st_size))
    return tuple(stamp)


class ExperimentRegistry:
    """The experiments currently serving, swapped atomically on reload.

    Args:
        directory: the experiments folder, or None to run no experiments.
        metrics_registry: the Prometheus registry for the reload metrics (the service passes
            its own); default: prometheus_client's global registry.

    Raises:
        ExperimentConfigError: when the folder is invalid at start-up (a service must not start
            on a bad config; later refusals keep the previous set instead).

    Example:
        >>> registry = ExperimentRegistry(Path("experiments"))  # doctest: +SKIP
        >>> registry.start_watching(2.0)  # doctest: +SKIP
        >>> registry.current().assign("listener-42").params  # doctest: +SKIP
    """

    def __init__(
        self, directory: Path | None, *, metrics_registry: CollectorRegistry | None = None
    ) -> None:
        self._directory = directory
        self._metrics = (
            DEFAULT_METRICS if metrics_registry is None else ReloadMetrics(metrics_registry)
        )
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stamp: Stamp = ()
        self._last_error: str | None = None
        if directory is None:
            self._current = ExperimentSet()
        else:
            self._stamp = folder_stamp(directory)
            self._current = load_experiments(directory)
        self._metrics.loaded.set(len(self._current.experiments))

    @property
    def directory(self) -> Path | None:
        """The watched folder."""
        return self._directory

    @property
    def last_error(self) -> str | None:
        """The message of the last refused reload, or None after a successful one."""
        return self._last_error

    def current(self) -> ExperimentSet:
        """The set serving now (an immutable object; safe to use for a whole request)."""
        return self._current

    def reload(self) -> bool:
        """Validate the folder and swap it in.

        Returns:
            True when the new set was swapped in; False when it was refused (the old set keeps
            serving) or when there is no folder.
        """
        if self._directory is None:
            return False
        with self._lock:
            stamp = folder_stamp(self._directory)
            try:
                new = load_experiments(self._directory)
            except ConfigError as exc:
                self._stamp = stamp
                self._last_error = str(exc)
                self._metrics.refusals.inc()
                logger.warning(
                    "experiments reload refused; still serving %d experiments (%s): %s",
                    len(self._current.experiments),
                    self._current.fingerprint[:12] or "empty",
                    exc,
                )
                return False
            self._stamp = stamp
            self._current = new
            self._last_error = None
            self._metrics.reloads.inc()
            self._metrics.loaded.set(len(new.experiments))
            logger.info(
                "experiments reloaded: %d experiments (%s)",
                len(new.experiments),
                new.fingerprint[:12] or "empty",
            )
            return True

    def poll(self) -> bool | None:
        """Reload when the folder changed since the last attempt.

        Returns:
            None when unchanged, else the result of :meth:`reload`.
        """
        if self._directory is None or folder_stamp(self._directory) == self._stamp:
            return None
        return self.reload()

    def start_watching(self, interval_s: float = 2.0) -> None:
        """Poll the folder every ``interval_s`` seconds in a daemon thread."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._watch, args=(interval_s,), name="experiments-watch", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop the watching thread, if any, and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _watch(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            try:
                self.poll()
            except Exception:  # the watcher must survive anything a folder can do
                logger.exception("experiments watcher failed; will retry")


__all__ = ["DEFAULT_METRICS", "ExperimentRegistry", "ReloadMetrics", "folder_stamp"]
