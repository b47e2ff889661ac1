"""Prometheus metrics: calls, errors and latency per RPC and per pipeline stage, exposure of
human-artist and AI-generated tracks, quarantine counts, and the seed metrics computed from the
store off the request path (:class:`FiguresCollector`).

Each :class:`ServiceMetrics` has its own registry, so several servers (tests, benchmarks) can
live in one process; ``serve_http`` exposes it on ``LinerSettings.metrics_port``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from recsys.domain import ArtistKind
from recsys.pipeline.api import Recommendation

logger = logging.getLogger(__name__)

# Latency buckets in seconds, dense around the 1-20 ms serving budget.
RPC_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class ServiceMetrics:
    """The service's metrics on a private registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "liner_rpc_requests",
            "Completed calls by method and status code.",
            ["method", "code"],
            registry=r,
        )
        self.errors = Counter(
            "liner_rpc_errors",
            "Calls that ended with a status other than OK.",
            ["method", "code"],
            registry=r,
        )
        self.latency = Histogram(
            "liner_rpc_latency_seconds",
            "Server-side call latency.",
            ["method"],
            buckets=RPC_BUCKETS,
            registry=r,
        )
        self.stage_latency = Histogram(
            "liner_pipeline_stage_seconds",
            "Recommendation pipeline latency per stage.",
            ["stage"],
            buckets=RPC_BUCKETS,
            registry=r,
        )
        self.exposures = Counter(
            "liner_exposures",
            "Served items by group: human_artist, ai_generated, ai_assisted, all.",
            ["group"],
            registry=r,
        )
        self.experiment_exposures = Counter(
            "liner_experiment_exposures",
            "Served slates per experiment and variant (holdout included).",
            ["experiment", "variant"],
            registry=r,
        )
        self.quarantined = Gauge(
            "liner_quarantined_tracks",
            "Tracks currently quarantined (never recommended).",
            registry=r,
        )
        self.search_cache_hit_ratio = Gauge(
            "liner_search_cache_hit_ratio",
            "Share of the personal and text-query searches answered from the exact result "
            "cache since the serving artifacts loaded.",
            registry=r,
        )
        self.quarantine_releases = Counter(
            "liner_quarantine_releases",
            "Quarantined tracks released by a rights admin.",
            registry=r,
        )
        self.reloads = Counter(
            "liner_artifact_reloads",
            "Artifact loads by outcome (ok, failed) and origin: startup (the process's first "
            "load), operator (ReloadArtifacts on this process), worker (announced by a sibling "
            "--workers process), replica (announced through the shared store).",
            ["outcome", "origin"],
            registry=r,
        )
        self.consent_changes = Counter(
            "liner_consent_changes",
            "Consent ledger entries appended over gRPC.",
            ["action"],
            registry=r,
        )

        # Labelled children, looked up once per label set (``labels()`` takes a lock and
        # builds a key on every call). The label sets are small and fixed: method names,
        # status codes, pipeline stages, exposure groups.
        self._calls: dict[tuple[str, str], tuple[Any, Any, Any]] = {}
        self._stages: dict[str, Any] = {}
        self._groups: dict[str, Any] = {}
        self._experiment_children: dict[tuple[str, str], Any] = {}

    def observe_call(self, method: str, code: str, seconds: float) -> None:
        """Record one finished call."""
        children = self._calls.get((method, code))
        if children is None:
            children = (
                self.requests.labels(method, code),
                self.errors.labels(method, code) if code != "OK" else None,
                self.latency.labels(method),
            )
            self._calls[(method, code)] = children
        requests, errors, latency = children
        requests.inc()
        if errors is not None:
            errors.inc()
        latency.observe(seconds)

    def observe_slate(self, recommendation: Recommendation) -> None:
        """Record per-stage latency and exposure counts of one served slate."""
        stages = self._stages
        for stage, ms in recommendation.stage_ms.items():
            child = stages.get(stage)
            if child is None:
                child = stages[stage] = self.stage_latency.labels(stage)
            child.observe(ms / 1000.0)
        self.observe_items(recommendation.items)

    def observe_reload(self, outcome: str, origin: str) -> None:
        """Count one artifact load (``ServingState(on_load=...)``)."""
        self.reloads.labels(outcome, origin).inc()

    def observe_exposures(self, exposures: Iterable[tuple[str, str]]) -> None:
        """Count one served slate for each (experiment, variant) the listener is exposed to."""
        for key in exposures:
            child = self._experiment_children.get(key)
            if child is None:
                child = self.experiment_exposures.labels(*key)
                self._experiment_children[key] = child
            child.inc()

    def observe_items(self, items: Iterable[object]) -> None:
        """Count exposures of served items (anything with ``track`` and ``artists``)."""
        counts = {"all": 0, "human_artist": 0, "ai_generated": 0, "ai_assisted": 0}
        for item in items:
            track = getattr(item, "track", None)
            if track is None:
                continue
            counts["all"] += 1
            artists = getattr(item, "artists", ())
            if artists and artists[0].kind is ArtistKind.HUMAN:
                counts["human_artist"] += 1
            involvement = track.provenance.ai_involvement.value
            if involvement == "GENERATED":
                counts["ai_generated"] += 1
            elif involvement == "ASSISTED":
                counts["ai_assisted"] += 1
        for group, n in counts.items():
            if n:
                child = self._groups.get(group)
                if child is None:
                    child = self._groups[group] = self.exposures.labels(group)
                child.inc(n)

    def watch_figures(
        self, compute: Callable[[], Mapping[str, Any]], interval_s: float
    ) -> FiguresCollector:
        """Export the seed metrics ``compute`` returns (``SeedMetrics.to_dict()``), refreshed
        in the background at most every ``interval_s`` seconds (see :class:`FiguresCollector`).
        """
        collector = FiguresCollector(compute, interval_s)
        self.registry.register(collector)
        return collector

    def serve_http(
        self,
        port: int,
        host: str = "127.0.0.1",
        *,
        certfile: str | None = None,
        keyfile: str | None = None,
        client_cafile: str | None = None,
    ) -> tuple[int, object]:
        """Serve ``/metrics`` in a daemon thread; returns (bound port, server).

        Over HTTPS with ``certfile``/``keyfile`` (the service's TLS settings, so metrics are
        not plaintext beside a TLS port), requiring client certificates signed by
        ``client_cafile`` when given. Port 0 picks a free port. Call ``shutdown()`` on the
        returned server to stop.
        """
        httpd, thread = start_http_server(
            port,
            addr=host,
            registry=self.registry,
            certfile=certfile,
            keyfile=keyfile,
            client_cafile=client_cafile,
            client_auth_required=client_cafile is not None,
        )
        assert isinstance(thread, threading.Thread)
        return int(httpd.server_port), httpd


# Seed metric -> (gauge name, help). ``opt_in_rate`` is a gauge per scope.
FIGURE_GAUGES: dict[str, tuple[str, str]] = {
    "ai_influenced_share": (
        "liner_plays_ai_influenced_share",
        "Share of plays influenced by AI features (agent answers, AI tracks).",
    ),
    "attribution_completeness": (
        "liner_attribution_completeness",
        "Share of plays credited entirely to known rights holders.",
    ),
    "violations_per_1000_uploads": (
        "liner_violations_per_1000_uploads",
        "Uploads ever quarantined by screening or ever disputed, per 1,000 uploads.",
    ),
    "artificial_per_1000_plays": (
        "liner_artificial_streams_per_1000_plays",
        "Plays flagged as artificial streaming per 1,000 plays.",
    ),
    "plays": ("liner_metered_plays", "Plays metered."),
    "withheld_plays": (
        "liner_withheld_plays",
        "Plays of quarantined, disputed or unscreened tracks: their money is withheld.",
    ),
    "forfeited_plays": (
        "liner_forfeited_plays",
        "Plays never paid: flagged as artificial, or of a confirmed quarantine.",
    ),
}


class FiguresCollector(Collector):
    """Gauges of figures that take a pass over the store (the seed metrics).

    A scrape never reads the store: it returns the last computed values, and when those are
    older than ``interval_s`` it starts one background recomputation (never two at once), whose
    result the following scrapes see. On a large store a recomputation is a batch job (one
    metering pass over the event log), so ``interval_s`` bounds how often it runs; until the
    first one finishes only ``liner_figures_age_seconds`` (-1) is exported.

    Args:
        compute: returns ``SeedMetrics.to_dict()``-shaped figures.
        interval_s: minimum seconds between recomputations; 0 computes on the first scrape
            only.
        clock: monotonic seconds (tests pass a fake).
    """

    def __init__(
        self,
        compute: Callable[[], Mapping[str, Any]],
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._compute = compute
        self._interval = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._figures: Mapping[str, Any] | None = None
        self._computed_at: float | None = None
        self._running: threading.Thread | None = None

    def refresh(self) -> None:
        """Recompute now, in this thread (the background refresh calls this)."""
        try:
            figures = self._compute()
        except Exception:  # a failed refresh keeps the last figures; the next scrape retries
            logger.exception("computing the seed metrics failed")
            figures = None
        with self._lock:
            if figures is not None:
                self._figures = figures
                self._computed_at = self._clock()
            self._running = None

    def _maybe_refresh(self) -> None:
        with self._lock:
            if self._running is not None:
                return
            now = self._clock()
            fresh = self._computed_at is not None and (
                self._interval <= 0 or now - self._computed_at < self._interval
            )
            if fresh:
                return
            self._running = threading.Thread(target=self.refresh, name="liner-figures", daemon=True)
            thread = self._running
        thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a running recomputation (tests)."""
        with self._lock:
            thread = self._running
        if thread is not None:
            thread.join(timeout)

    def describe(self) -> Iterable[Metric]:
        return []  # dynamic: keeps register() from calling collect() (and computing) early

    def collect(self) -> Iterator[Metric]:
        self._maybe_refresh()
        with self._lock:
            figures, computed_at = self._figures, self._computed_at
        age = GaugeMetricFamily(
            "liner_figures_age_seconds",
            "Seconds since the seed metrics were computed (-1: not yet).",
        )
        age.add_metric([], -1.0 if computed_at is None else self._clock() - computed_at)
        yield age
        if figures is None:
            return
        opt_in = GaugeMetricFamily(
            "liner_consent_opt_in_rate",
            "Share of rights holders granting each consent scope.",
            labels=["scope"],
        )
        for scope, rate in sorted(figures.get("opt_in_rate", {}).items()):
            opt_in.add_metric([scope], float(rate))
        yield opt_in
        for key, (name, doc) in FIGURE_GAUGES.items():
            if key in figures:
                yield GaugeMetricFamily(name, doc, value=float(figures[key]))


__all__ = ["FIGURE_GAUGES", "RPC_BUCKETS", "FiguresCollector", "ServiceMetrics"]
