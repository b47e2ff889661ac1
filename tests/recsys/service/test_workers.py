"""`liner serve --workers N`: several server processes on one SO_REUSEPORT port."""

from __future__ import annotations

import copy
import multiprocessing as mp
import socket
import threading
import time
from pathlib import Path

import grpc
import pytest

from recsys.api.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    recommendation_pb2,
    recommendation_pb2_grpc,
)
from recsys.errors import ConfigError
from recsys.service.state import ServingState
from recsys.service.workers import (
    ReloadBroadcast,
    reserve_port,
    run_workers,
    worker_settings,
)
from recsys.settings import LinerSettings
from tests.recsys.service.fakes import serve_fake_worker


def test_worker_settings_share_the_port_and_offset_metrics() -> None:
    base = LinerSettings(port=0, metrics_port=9464)
    assert [worker_settings(base, 5000, i).metrics_port for i in range(3)] == [9464, 9465, 9466]
    assert worker_settings(base, 5000, 2).port == 5000
    for metrics in (0, None):  # 0: each worker picks one; None: off
        off = base.model_copy(update={"metrics_port": metrics})
        assert worker_settings(off, 1, 1).metrics_port == metrics


def test_reserve_port_refuses_a_port_taken_without_reuseport() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    try:
        with pytest.raises(ConfigError, match="cannot bind"):
            reserve_port("127.0.0.1", taken.getsockname()[1])
    finally:
        taken.close()


def _served_by(target: str, deadline: float) -> set[str]:
    """Tags of the workers that answer fresh connections, until both have answered."""
    served_by: set[str] = set()
    i = 0
    # Each new channel is a new connection; the kernel hashes it to one of the workers.
    while len({tag.split("@")[0] for tag in served_by}) < 2 and time.monotonic() < deadline:
        i += 1
        with grpc.insecure_channel(target, options=[("test.channel", i)]) as channel:
            stub = recommendation_pb2_grpc.RecommendationServiceStub(channel)
            try:
                reply = stub.Recommend(
                    recommendation_pb2.RecommendRequest(listener_id="u1", k=1),
                    timeout=10,
                    wait_for_ready=True,
                )
            except grpc.RpcError:
                continue
            served_by.add(reply.items[0].reasons[0].split(":")[0])
    return served_by


def test_two_workers_serve_one_port_reload_together_and_stop_cleanly(tmp_path: Path) -> None:
    settings = LinerSettings(
        host="127.0.0.1", port=0, metrics_port=None, max_workers=2, admin_tokens=["adm"]
    )
    stop, ports, failed = threading.Event(), [], []
    thread = threading.Thread(
        target=lambda: failed.append(
            run_workers(settings, 2, serve_fake_worker, grace=1.0, stop=stop, on_port=ports.append)
        )
    )
    thread.start()
    try:
        deadline = time.monotonic() + 90
        while not ports and time.monotonic() < deadline:
            time.sleep(0.05)
        target = f"127.0.0.1:{ports[0]}"
        served_by = _served_by(target, deadline)
        assert len(served_by) == 2, served_by
        assert all(tag.endswith("@initial") for tag in served_by)
        # One reload call lands on one worker; the other takes it from the broadcast.
        with grpc.insecure_channel(target) as channel:
            admin_pb2_grpc.AdminServiceStub(channel).ReloadArtifacts(
                admin_pb2.ReloadArtifactsRequest(artifact_dir=str(tmp_path / "v2")),
                metadata=(("authorization", "Bearer adm"),),
                timeout=10,
            )
        while time.monotonic() < deadline:
            served_by = _served_by(target, deadline)
            if all(tag.endswith("@v2") for tag in served_by):
                break
            time.sleep(0.1)
        assert len(served_by) == 2 and all(tag.endswith("@v2") for tag in served_by), served_by
    finally:
        stop.set()
        thread.join(60)
    assert failed == [0]


def test_concurrent_reloads_on_two_workers_end_on_the_same_directory(tmp_path: Path) -> None:
    # Worker A's operator reload (x) is slow; meanwhile worker B takes another (y) and
    # announces it. A's watcher must not load y after A has announced x, or A would end on y
    # and B on x.
    shared = ReloadBroadcast(mp.get_context("spawn"), interval=0.01)
    cast_a, cast_b = copy.copy(shared), copy.copy(shared)  # one view (and "seen" mark) each
    x, y = tmp_path / "x", tmp_path / "y"
    in_x, release_x = threading.Event(), threading.Event()

    def slow_x(d: Path) -> str:
        if d == x:
            in_x.set()
            release_x.wait(10)
        return d.name

    a = ServingState(factory=slow_x, verify=lambda d: d.name, announce=cast_a.announce)
    b = ServingState(factory=lambda d: d.name, verify=lambda d: d.name, announce=cast_b.announce)
    stop = threading.Event()
    cast_a.watch(a, stop)
    cast_b.watch(b, stop)
    try:
        operator_a = threading.Thread(target=a.reload_requested, args=(x,))
        operator_a.start()
        assert in_x.wait(10)
        b.reload_requested(y)
        time.sleep(0.1)  # A's watcher polls y while A is still loading x
        release_x.set()
        operator_a.join(10)
        end = time.monotonic() + 10
        while b.current().version != "x" and time.monotonic() < end:
            time.sleep(0.01)
        time.sleep(0.1)  # room for a stale reload on A to happen
        assert (a.current().version, b.current().version) == ("x", "x")
    finally:
        release_x.set()
        stop.set()
