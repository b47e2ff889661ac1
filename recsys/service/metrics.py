"""Prometheus metrics: calls, errors and latency per RPC and per pipeline stage, exposure of
human-artist and AI-generated tracks, and quarantine counts.

Each :class:`ServiceMetrics` has its own registry, so several servers (tests, benchmarks) can
live in one process; ``serve_http`` exposes it on ``LinerSettings.metrics_port``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from recsys.domain import ArtistKind
from recsys.pipeline.api import Recommendation

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
        self.quarantine_releases = Counter(
            "liner_quarantine_releases",
            "Quarantined tracks released by a rights admin.",
            registry=r,
        )
        self.reloads = Counter(
            "liner_artifact_reloads", "Artifact loads by outcome.", ["outcome"], registry=r
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

    def serve_http(self, port: int, host: str = "127.0.0.1") -> tuple[int, object]:
        """Serve ``/metrics`` over HTTP in a daemon thread; returns (bound port, server).

        Port 0 picks a free port. Call ``shutdown()`` on the returned server to stop.
        """
        httpd, thread = start_http_server(port, addr=host, registry=self.registry)
        assert isinstance(thread, threading.Thread)
        return int(httpd.server_port), httpd


__all__ = ["RPC_BUCKETS", "ServiceMetrics"]
