"""liner_artifact_reloads counts every artifact load by outcome and origin: the first load, an
operator's ReloadArtifacts, and the reloads a process follows from a sibling worker or from a
replica through the shared store."""

from __future__ import annotations

import copy
import multiprocessing as mp
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from unittest import mock

import pytest

from recsys.api.v1 import admin_pb2 as pba
from recsys.errors import ArtifactError
from recsys.service.metrics import ServiceMetrics
from recsys.service.replicas import StoreReloadSignal
from recsys.service.servicers.admin import AdminServicer
from recsys.service.servicers.deps import ServiceDeps
from recsys.service.state import ServingState
from recsys.service.workers import ReloadBroadcast
from recsys.store import Store
from recsys.store.base import ReloadNotice


def _count(metrics: ServiceMetrics, outcome: str, origin: str) -> float:
    value = metrics.registry.get_sample_value(
        "liner_artifact_reloads_total", {"outcome": outcome, "origin": origin}
    )
    return value or 0.0


def _verify(d: Path) -> str:
    if d.name.startswith("bad"):
        raise ArtifactError(f"{d} does not check out")
    return d.name


def _state(metrics: ServiceMetrics, announce: Callable[[Path], None] | None = None) -> Any:
    return ServingState(
        factory=lambda d: d.name,  # type: ignore[arg-type,return-value]
        verify=_verify,
        announce=announce,
        on_load=metrics.observe_reload,
    )


def _wait(until: Callable[[], bool]) -> None:
    end = time.monotonic() + 10
    while not until() and time.monotonic() < end:
        time.sleep(0.01)


def test_the_first_load_and_operator_reloads_through_admin_are_counted_once() -> None:
    metrics = ServiceMetrics()
    state = _state(metrics)
    state.load(Path("/a/v1"))
    admin = AdminServicer(ServiceDeps(state=state, store=None, metrics=metrics))
    context = mock.Mock()
    admin.ReloadArtifacts(pba.ReloadArtifactsRequest(artifact_dir="/a/v2"), context)
    with pytest.raises(ArtifactError):
        admin.ReloadArtifacts(pba.ReloadArtifactsRequest(artifact_dir="/a/bad"), context)
    assert _count(metrics, "ok", "startup") == 1
    assert _count(metrics, "ok", "operator") == 1
    assert _count(metrics, "failed", "operator") == 1
    assert state.current().version == "v2"


def test_reloads_followed_from_another_worker_are_counted_as_worker() -> None:
    shared = ReloadBroadcast(mp.get_context("spawn"), interval=0.01)
    cast_a, cast_b = copy.copy(shared), copy.copy(shared)
    metrics_a, metrics_b = ServiceMetrics(), ServiceMetrics()
    a = _state(metrics_a, cast_a.announce)
    b = _state(metrics_b, cast_b.announce)
    stop = threading.Event()
    cast_b.watch(b, stop)
    try:
        a.reload_requested(Path("/a/v2"))
        _wait(lambda: _count(metrics_b, "ok", "worker") >= 1)
        cast_a.announce(Path("/a/bad"))  # a sibling announces a build b cannot load
        _wait(lambda: _count(metrics_b, "failed", "worker") >= 1)
    finally:
        stop.set()
    assert _count(metrics_a, "ok", "operator") == 1
    assert _count(metrics_b, "ok", "worker") == 1
    assert _count(metrics_b, "failed", "worker") == 1
    assert _count(metrics_b, "ok", "operator") == 0
    assert b.current().version == "v2"  # the failed follow kept the previous build


class _ReloadLog:
    """The reload log of a shared store (PostgreSQL's), in memory."""

    shares_reloads = True

    def __init__(self) -> None:
        self.notices: list[ReloadNotice] = []
        self.posted = threading.Event()

    def announce_reload(self, artifact_dir: str, version: str, by: str = "") -> ReloadNotice:
        notice = ReloadNotice(
            seq=len(self.notices) + 1,
            artifact_dir=artifact_dir,
            version=version,
            announced_by=by,
            at=datetime.now(UTC),
        )
        self.notices.append(notice)
        self.posted.set()
        return notice

    def latest_reload(self) -> ReloadNotice | None:
        return self.notices[-1] if self.notices else None

    def wait_for_reload(self, timeout: float) -> bool:
        came = self.posted.wait(timeout)
        self.posted.clear()
        return came


def test_reloads_followed_from_another_replica_are_counted_as_replica() -> None:
    log = cast(Store, _ReloadLog())
    metrics_a, metrics_b = ServiceMetrics(), ServiceMetrics()
    holder: dict[str, Any] = {}
    signal_a = StoreReloadSignal(log, lambda: holder["a"].loaded, interval=0.05, name="a")
    signal_b = StoreReloadSignal(log, lambda: holder["b"].loaded, interval=0.05, name="b")
    a = holder["a"] = _state(metrics_a, signal_a.announce)
    b = holder["b"] = _state(metrics_b, signal_b.announce)
    a.load(Path("/a/v1"))
    b.load(Path("/a/v1"))
    stop = threading.Event()
    signal_b.watch(b, stop)
    try:
        a.reload_requested(Path("/a/v2"))
        _wait(lambda: _count(metrics_b, "ok", "replica") >= 1)
        log.announce_reload("/a/bad", "bad", by="a")
        _wait(lambda: _count(metrics_b, "failed", "replica") >= 1)
    finally:
        stop.set()
    assert _count(metrics_b, "ok", "replica") == 1
    assert _count(metrics_b, "failed", "replica") == 1
    assert _count(metrics_b, "ok", "startup") == 1
    assert b.current().version == "v2"
