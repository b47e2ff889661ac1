"""Server behaviour through real channels: health, reflection, auth, deadlines, overload,
graceful shutdown, reload under load, TLS, metrics and the request log."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from recsys.api.v1 import common_pb2, recommendation_pb2, rights_pb2
from recsys.service import SERVICE_NAMES
from recsys.service.server import admission_limit
from recsys.settings import LinerSettings
from tests.recsys.service.certs import make_pki
from tests.recsys.service.conftest import ADMIN_TOKEN, RIGHTS_TOKEN, Running, code_of
from tests.recsys.service.fakes import FakeRecommender

S = grpc.StatusCode


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll until ``predicate`` holds (a synchronisation aid, not a timing assertion)."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


def health_status(target: str, service: str = "") -> int:
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


def test_health_serving_only_after_load(start_server: Callable[..., Running]) -> None:
    running = start_server(load=False)
    assert health_status(running.target) == health_pb2.HealthCheckResponse.NOT_SERVING
    running.state.load(running.artifacts)
    running.server.set_serving()
    assert health_status(running.target) == health_pb2.HealthCheckResponse.SERVING
    name = "linernotes.v1.RecommendationService"
    assert health_status(running.target, name) == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_and_calls_without_our_stubs(running: Running) -> None:
    with grpc.insecure_channel(running.target) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        pool = descriptor_pool.DescriptorPool(database)
        method = pool.FindServiceByName("linernotes.v1.RecommendationService").FindMethodByName(
            "Recommend"
        )
        request_cls = message_factory.GetMessageClass(method.input_type)
        response_cls = message_factory.GetMessageClass(method.output_type)
        call = channel.unary_unary(
            "/linernotes.v1.RecommendationService/Recommend",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_cls.FromString,
        )
        response = call(request_cls(listener_id="u1", k=2), timeout=5)
    assert set(SERVICE_NAMES) | {"grpc.health.v1.Health"} <= services
    assert len(response.items) == 2 and response.items[0].ai_label.involvement != 0


@pytest.mark.parametrize(
    ("token", "call", "expected"),
    [
        (None, "upsert", S.UNAUTHENTICATED),
        (None, "reload", S.UNAUTHENTICATED),
        (None, "revoke", S.UNAUTHENTICATED),
        ("wrong", "revoke", S.UNAUTHENTICATED),
        (RIGHTS_TOKEN, "upsert", S.PERMISSION_DENIED),
        (RIGHTS_TOKEN, "reload", S.PERMISSION_DENIED),
        (ADMIN_TOKEN, "revoke", S.OK),
        (RIGHTS_TOKEN, "revoke", S.OK),
    ],
    ids=[
        "anon-upsert",
        "anon-reload",
        "app-cannot-revoke",
        "bad-token",
        "rights-upsert",
        "rights-reload",
        "admin-revoke",
        "rights-revoke",
    ],
)
def test_roles(running: Running, token: str | None, call: str, expected: grpc.StatusCode) -> None:
    artist = common_pb2.Artist(id="a9", name="X", kind=common_pb2.ARTIST_KIND_HUMAN)
    scope = rights_pb2.CONSENT_SCOPE_AI_TRAINING
    with running.client(token) as client:
        calls: dict[str, Callable[[], Any]] = {
            "upsert": lambda: client.upsert_artists([artist]),
            "reload": lambda: client.reload_artifacts(),
            "revoke": lambda: client.revoke_consent("rh-ada", scope, "why"),
        }
        if expected is S.OK:
            calls[call]()
        else:
            assert code_of(calls[call]) is expected
    if call == "revoke":
        still = running.store.consent_state().allows("rh-ada", "ai_training")  # type: ignore[arg-type]
        assert still is (expected is not S.OK)


def test_malformed_authorization_header(running: Running) -> None:
    with grpc.insecure_channel(running.target) as channel:
        stub = rights_pb2_grpc_stub(channel)
        request = rights_pb2.ConsentHistoryRequest()
        for header in ("Basic abc", "Bearer ", "Bearer"):
            metadata = (("authorization", header),)
            with pytest.raises(grpc.RpcError) as info:
                stub.ConsentHistory(request, timeout=5, metadata=metadata)
            assert info.value.code() is S.UNAUTHENTICATED  # type: ignore[attr-defined]


def rights_pb2_grpc_stub(channel: grpc.Channel) -> Any:
    from recsys.api.v1 import rights_pb2_grpc

    return rights_pb2_grpc.RightsServiceStub(channel)


def test_deadline_exceeded_mid_request_stops_work(
    start_server: Callable[..., Running], gate: threading.Event
) -> None:
    rec = FakeRecommender(gate=gate)
    running = start_server(rec)
    with running.client(retries=0) as client, ThreadPoolExecutor(1) as pool:
        call = pool.submit(code_of, lambda: client.recommend("u1", timeout=1.0))
        # The deadline passes while the pipeline is working (not while the call waits for a
        # thread, which a loaded machine could otherwise make it do).
        wait_until(lambda: len(rec.calls) == 1)
        assert call.result() is S.DEADLINE_EXCEEDED
    gate.set()
    metrics = running.server.deps.metrics
    wait_until(lambda: rec.finished == 1)
    wait_until(
        lambda: (
            metrics.registry.get_sample_value(
                "liner_rpc_requests_total", {"method": "Recommend", "code": "DEADLINE_EXCEEDED"}
            )
            == 1.0
        )
    )
    # The late slate was dropped, not counted as served exposure.
    assert metrics.registry.get_sample_value("liner_exposures_total", {"group": "all"}) is None


def test_overload_is_rejected_at_once(
    start_server: Callable[..., Running], gate: threading.Event
) -> None:
    rec = FakeRecommender(gate=gate)
    running = start_server(rec, max_concurrent_rpcs=2, max_workers=4)
    with running.client(retries=0) as client, ThreadPoolExecutor(2) as pool:
        held = [pool.submit(client.recommend, "u1", timeout=20) for _ in range(2)]
        wait_until(lambda: len(rec.calls) == 2)
        assert code_of(lambda: client.recommend("u2", timeout=20)) is S.RESOURCE_EXHAUSTED
        gate.set()
        assert all(len(f.result().items) == 10 for f in held)
        assert len(client.recommend("u3").items) == 10


def test_by_default_one_call_per_thread_and_a_tiny_queue(
    start_server: Callable[..., Running], gate: threading.Event
) -> None:
    """With 2 threads, 2 calls run and 1 waits; the 4th is refused at once instead of
    queueing behind them (a queue of 56 once gave accepted calls p50 415 ms)."""
    rec = FakeRecommender(gate=gate)
    running = start_server(rec, max_workers=2)
    with running.client(retries=0) as client, ThreadPoolExecutor(3) as pool:
        held = [pool.submit(client.recommend, f"u{i}", timeout=20) for i in range(3)]
        wait_until(lambda: len(rec.calls) == 2)
        time.sleep(1.0)  # let the third reach the server's queue
        assert code_of(lambda: client.recommend("late", timeout=20)) is S.RESOURCE_EXHAUSTED
        gate.set()
        assert all(len(f.result().items) == 10 for f in held)


@pytest.mark.parametrize(("threads", "expected"), [(1, 2), (4, 5), (8, 10), (16, 20)])
def test_admission_is_the_threads_plus_a_quarter(threads: int, expected: int) -> None:
    assert admission_limit(LinerSettings(max_workers=threads)) == expected


def test_slates_beyond_the_cpus_and_a_short_line_are_refused_at_once(
    start_server: Callable[..., Running], gate: threading.Event
) -> None:
    """More threads than CPUs: the threads are free, but slates beyond what the CPUs run (plus
    a short line) are refused with RESOURCE_EXHAUSTED naming the method and a retry-after
    hint in the message and the grpc-retry-pushback-ms trailer, not queued."""
    rec = FakeRecommender(gate=gate)
    running = start_server(rec, max_workers=16)
    limit = running.server.admission.limit("Recommend")
    assert limit is not None
    held_n = limit.concurrency + limit.queue
    with running.client(retries=0) as client, ThreadPoolExecutor(held_n) as pool:
        held = [pool.submit(client.recommend, f"u{i}", timeout=20) for i in range(held_n)]
        wait_until(lambda: len(rec.calls) == limit.concurrency)
        wait_until(lambda: running.server.admission.waiting("Recommend") == limit.queue)
        with pytest.raises(grpc.RpcError) as refused:
            client.recommend("late", timeout=20)
        assert refused.value.code() is S.RESOURCE_EXHAUSTED
        assert "Recommend" in refused.value.details()
        assert "retry after" in refused.value.details()
        trailers = dict(refused.value.trailing_metadata())
        assert int(trailers["grpc-retry-pushback-ms"]) >= 1
        assert len(rec.calls) == limit.concurrency  # the refused call never reached it
        gate.set()
        assert all(len(f.result().items) == 10 for f in held)
        assert len(client.recommend("after", timeout=20).items) == 10


def test_graceful_shutdown_finishes_in_flight_calls(
    start_server: Callable[..., Running], gate: threading.Event
) -> None:
    rec = FakeRecommender(gate=gate)
    running = start_server(rec)
    with running.client(retries=0) as client, ThreadPoolExecutor(2) as pool:
        in_flight = pool.submit(client.recommend, "u1", timeout=20)
        wait_until(rec.started.is_set)
        stopping = pool.submit(running.server.stop, 10.0)

        def refused() -> bool:
            try:
                client.recommend("u2", timeout=2)
            except grpc.RpcError as exc:
                return exc.code() is S.UNAVAILABLE  # type: ignore[attr-defined, no-any-return]
            return False

        wait_until(refused)
        assert not in_flight.done()
        gate.set()
        assert len(in_flight.result().items) == 10
        stopping.result()


def test_reload_under_concurrent_load_never_fails_a_call(running: Running) -> None:
    stop = threading.Event()
    seen: set[str] = set()
    failures: list[BaseException] = []

    def hammer() -> int:
        n = 0
        with running.client(retries=0, timeout=10) as client:
            while not stop.is_set() or n < 5:
                try:
                    seen.add(client.recommend("u1", k=3).items[0].reasons[0].split(":")[0])
                except grpc.RpcError as exc:
                    failures.append(exc)
                n += 1
        return n

    with ThreadPoolExecutor(3) as pool, running.client(ADMIN_TOKEN, timeout=30) as admin:
        workers = [pool.submit(hammer) for _ in range(3)]
        for _ in range(4):
            admin.reload_artifacts()
        stop.set()
        total = sum(w.result() for w in workers)
    assert failures == []
    assert total >= 15 and "v5" in seen


def test_tls_and_mutual_tls(start_server: Callable[..., Running], tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    tls = start_server(tls_cert=tmp_path / "server.crt", tls_key=tmp_path / "server.key")
    with tls.client(root_certificates=pki["ca"].cert, server_name="localhost") as client:
        assert len(client.recommend("u1", k=1).items) == 1
    with tls.client(retries=0, timeout=1) as plain:
        assert code_of(lambda: plain.recommend("u1")) is S.UNAVAILABLE

    mtls = start_server(
        tls_cert=tmp_path / "server.crt",
        tls_key=tmp_path / "server.key",
        tls_client_ca=tmp_path / "ca.crt",
    )
    ca = pki["ca"].cert
    with mtls.client(root_certificates=ca, server_name="localhost", retries=0, timeout=2) as anon:
        assert code_of(lambda: anon.recommend("u1")) is S.UNAVAILABLE
    with mtls.client(
        root_certificates=ca,
        private_key=pki["client"].key,
        certificate_chain=pki["client"].cert,
        server_name="localhost",
    ) as client:
        assert len(client.recommend("u1", k=1).items) == 1


def test_metrics_endpoint(start_server: Callable[..., Running]) -> None:
    running = start_server(metrics_port=0)
    with running.client() as client:
        client.recommend("u1", k=4)
        code_of(lambda: client.recommend("", k=4))
    port = running.server.metrics_port
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'liner_rpc_requests_total{code="OK",method="Recommend"} 1.0' in body
    assert 'liner_rpc_errors_total{code="INVALID_ARGUMENT",method="Recommend"} 1.0' in body
    assert 'liner_exposures_total{group="human_artist"} 2.0' in body
    assert 'liner_exposures_total{group="ai_generated"} 2.0' in body
    assert 'liner_pipeline_stage_seconds_count{stage="candidates"} 1.0' in body
    assert "liner_rpc_latency_seconds_bucket" in body
    assert "liner_quarantined_tracks 0.0" in body
    assert "liner_search_cache_hit_ratio " in body


def test_one_json_log_line_per_request(running: Running, caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.INFO, logger="recsys.service.requestlog"),
        running.client() as client,
    ):
        response, call = client.recommendations.Recommend.with_call(
            recommendation_pb2.RecommendRequest(listener_id="u1", k=2),
            timeout=5,
            metadata=(("x-request-id", "trace-7"),),
        )
        code_of(lambda: client.recommend("u1", k=999))
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith("requestlog")]
    assert len(lines) == 2
    ok, bad = lines
    assert ok["request_id"] == "trace-7" == response.request_id
    assert ok["code"] == "OK" and ok["items"] == 2 and ok["listener_id"] == "u1"
    assert bad["code"] == "INVALID_ARGUMENT" and bad["request_id"] != "trace-7"
    assert dict(call.trailing_metadata())["x-request-id"] == "trace-7"


def test_a_key_that_does_not_match_its_certificate_is_named(tmp_path: Path) -> None:
    """gRPC alone only fails to bind, which once read as "is the port in use?"."""
    from recsys.errors import ConfigError
    from recsys.service.server import server_credentials
    from recsys.settings import LinerSettings

    make_pki(tmp_path)
    settings = LinerSettings(tls_cert=tmp_path / "server.crt", tls_key=tmp_path / "client.key")
    with pytest.raises(ConfigError, match="LINER_TLS_KEY is not the private key"):
        server_credentials(settings)


def test_metrics_are_served_over_tls_when_the_service_is(
    start_server: Callable[..., Running], tmp_path: Path
) -> None:
    import ssl

    make_pki(tmp_path)
    running = start_server(
        metrics_port=0, tls_cert=tmp_path / "server.crt", tls_key=tmp_path / "server.key"
    )
    port = running.server.metrics_port
    with pytest.raises(OSError):  # plaintext is refused
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    context = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    body = urllib.request.urlopen(
        f"https://localhost:{port}/metrics", timeout=5, context=context
    ).read()
    assert b"liner_rpc_requests_total" in body or b"liner_" in body
