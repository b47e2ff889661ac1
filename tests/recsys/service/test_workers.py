"""`liner serve --workers N`: several server processes on one SO_REUSEPORT port."""

from __future__ import annotations

import copy
import itertools
import multiprocessing as mp
import os
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
from recsys.service.client import LinerClient, channel_target
from recsys.service.state import ServingState
from recsys.service.workers import (
    ReloadBroadcast,
    pin_process,
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


def test_worker_settings_give_each_worker_its_own_port_and_cpu() -> None:
    cpus = sorted(os.sched_getaffinity(0))
    base = LinerSettings(port=0, worker_port=7000)
    assert [worker_settings(base, 1, i).worker_port for i in range(2)] == [7000, 7001]
    assert worker_settings(base, 1, 0).cpu_affinity is None
    pinned = [worker_settings(base, 1, i, pin=True).cpu_affinity for i in range(3)]
    assert pinned == [[cpus[i % len(cpus)]] for i in range(3)]
    free = base.model_copy(update={"worker_port": 0})  # 0: every worker picks a free one
    assert worker_settings(free, 1, 1).worker_port == 0
    assert worker_settings(LinerSettings(), 1, 1).worker_port is None


def test_pin_process_pins_every_thread_and_names_a_bad_cpu() -> None:
    before = os.sched_getaffinity(0)
    started = threading.Event()
    release = threading.Event()

    def idle() -> None:
        started.set()
        release.wait(10)

    thread = threading.Thread(target=idle)
    thread.start()
    started.wait(10)
    try:
        one = min(before)
        pin_process([one])
        assert os.sched_getaffinity(0) == {one}
        assert os.sched_getaffinity(thread.native_id) == {one}
        with pytest.raises(ConfigError, match="cannot pin to CPUs"):
            pin_process([10_000])
    finally:
        release.set()
        thread.join()
        pin_process(before)
    assert os.sched_getaffinity(0) == before


def test_pin_process_skips_a_thread_that_exits_while_pinning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A thread can exit between listing /proc/self/task and pinning it (a race that
    failed `make test` on a loaded machine): the others are still pinned, no error."""
    before = os.sched_getaffinity(0)
    real = os.sched_setaffinity
    pinned: list[int] = []

    def racing(tid: int, cpus: set[int]) -> None:
        if tid not in (0, threading.get_native_id()):
            raise ProcessLookupError(3, "No such process")
        pinned.append(tid)
        real(tid, cpus)

    release = threading.Event()
    other = threading.Thread(target=release.wait, args=(10,))
    other.start()
    monkeypatch.setattr(os, "sched_setaffinity", racing)
    try:
        pin_process([min(before)])
        assert threading.get_native_id() in pinned
    finally:
        monkeypatch.undo()
        release.set()
        other.join()
        pin_process(before)


def test_channel_target_round_robins_over_a_list_of_addresses() -> None:
    assert channel_target("localhost:50051") == ("localhost:50051", [])
    target, options = channel_target("127.0.0.1:1, 127.0.0.1:2")
    assert target == "ipv4:127.0.0.1:1,127.0.0.1:2"
    assert options == [("grpc.lb_policy_name", "round_robin")]
    assert channel_target("[::1]:1,[::1]:2")[0] == "ipv6:[::1]:1,[::1]:2"
    for bad in ("localhost:1,localhost:2", "127.0.0.1,127.0.0.1:2", "127.0.0.1:0,127.0.0.1:2"):
        with pytest.raises(ConfigError, match="is not IP:PORT"):
            channel_target(bad)
    with pytest.raises(ConfigError, match="mixes IPv4 and IPv6"):
        channel_target("127.0.0.1:1,[::1]:2")


def _two_free_ports() -> int:
    """A port p with p and p + 1 free (checked just before use)."""
    for _ in range(100):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            base = a.getsockname()[1]
            if base >= 65535:
                continue
            with socket.socket() as b:
                try:
                    b.bind(("127.0.0.1", base + 1))
                except OSError:
                    continue
        return int(base)
    raise RuntimeError("no two consecutive free ports")


def test_pinned_workers_on_their_own_ports_take_calls_in_turn() -> None:
    base = _two_free_ports()
    settings = LinerSettings(
        host="127.0.0.1", port=0, worker_port=base, metrics_port=None, max_workers=2
    )
    stop, ports, failed = threading.Event(), [], []
    thread = threading.Thread(
        target=lambda: failed.append(
            run_workers(
                settings, 2, serve_fake_worker, grace=1.0, stop=stop, on_port=ports.append, pin=True
            )
        )
    )
    thread.start()
    try:
        with LinerClient(f"127.0.0.1:{base},127.0.0.1:{base + 1}", timeout=30) as client:
            request = recommendation_pb2.RecommendRequest(listener_id="u1", k=1)
            client.recommendations.Recommend(request, timeout=90, wait_for_ready=True)
            deadline = time.monotonic() + 60
            tags: list[str] = []
            # Round robin starts once both subchannels are connected.
            while len(set(tags[-2:])) < 2 and time.monotonic() < deadline:
                reply = client.recommendations.Recommend(request, timeout=10)
                tags.append(reply.items[0].reasons[0].split("@")[0])
            tail = [
                client.recommendations.Recommend(request, timeout=10).items[0].reasons[0]
                for _ in range(6)
            ]
        workers = [tag.split("@")[0] for tag in tail]
        assert len(set(workers)) == 2, workers
        # Successive calls alternate between the two processes.
        assert all(a != b for a, b in itertools.pairwise(workers)), workers
        cpus = sorted(os.sched_getaffinity(0))
        pinned = {w.split("cpu")[1] for w in workers}
        assert pinned == {str(cpus[0]), str(cpus[1 % len(cpus)])}, workers
    finally:
        stop.set()
        thread.join(60)
    assert failed == [0]


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
