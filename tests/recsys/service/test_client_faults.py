"""Faults that app clients hit (issue 20.6) and what stock tools need (20.5): each answers a
clean status that names the problem, and nothing is logged or written for a refused call."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2

from recsys.api.v1 import (
    discovery_pb2,
    discovery_pb2_grpc,
    feedback_pb2,
    feedback_pb2_grpc,
    recommendation_pb2,
    recommendation_pb2_grpc,
)
from recsys.service import SERVICE_NAMES, ServingState
from recsys.service.server import REFLECTION_V1
from tests.recsys.service.conftest import FEEDBACK_TOKEN, Running
from tests.recsys.service.fakes import FakeRecommender

S = grpc.StatusCode


def _rpc_error(fn: Callable[[], Any]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        fn()
    return info.value


def test_log_events_with_an_out_of_range_time_names_the_field(running: Running) -> None:
    event = feedback_pb2.Event(
        event_id="e1", listener_id="u1", track_id="t0", type=feedback_pb2.EVENT_TYPE_PLAY
    )
    event.at.seconds = 10**15  # past year 9999
    with grpc.insecure_channel(running.target) as channel:
        stub = feedback_pb2_grpc.FeedbackServiceStub(channel)
        error = _rpc_error(
            lambda: stub.LogEvents(
                feedback_pb2.LogEventsRequest(events=[event]),
                metadata=(("authorization", f"Bearer {FEEDBACK_TOKEN}"),),
                timeout=5,
            )
        )
    assert error.code() is S.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert "events[0].at" in error.details()  # type: ignore[attr-defined]
    assert running.store.listener_events("u1") == []


@pytest.mark.parametrize(
    "request_id", ["slate-é", "a b", "\u202eevil"], ids=["accent", "space", "bidi"]
)
def test_a_request_id_that_cannot_be_a_trailer_is_refused_before_any_work(
    running: Running, request_id: str
) -> None:
    with grpc.insecure_channel(running.target) as channel:
        stub = recommendation_pb2_grpc.RecommendationServiceStub(channel)
        error = _rpc_error(
            lambda: stub.Recommend(
                recommendation_pb2.RecommendRequest(listener_id="u1", request_id=request_id),
                timeout=5,
            )
        )
    assert error.code() is S.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert "request_id" in error.details()  # type: ignore[attr-defined]
    assert running.recommender.calls == []


def test_a_non_ascii_request_id_header_gets_a_fresh_id(running: Running) -> None:
    with grpc.insecure_channel(running.target) as channel:
        stub = recommendation_pb2_grpc.RecommendationServiceStub(channel)
        response, call = stub.Recommend.with_call(
            recommendation_pb2.RecommendRequest(listener_id="u1", k=1),
            metadata=(("x-request-id-bin", "é".encode()),),
            timeout=5,
        )
    trailer = dict(call.trailing_metadata())["x-request-id"]
    assert trailer == response.request_id and trailer.isascii()


def test_health_check_with_an_unknown_token_is_a_clean_status(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    with grpc.insecure_channel(running.target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        error = _rpc_error(
            lambda: stub.Check(
                health_pb2.HealthCheckRequest(),
                metadata=(("authorization", "Bearer nobody-knows-me"),),
                timeout=5,
            )
        )
        anonymous = stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert error.code() is S.UNAUTHENTICATED  # type: ignore[attr-defined]
    assert "unknown bearer token" in error.details()  # type: ignore[attr-defined]
    assert anonymous.status == health_pb2.HealthCheckResponse.SERVING
    assert not [r for r in caplog.records if r.exc_info]


def test_health_list_reports_every_service(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    with grpc.insecure_channel(running.target) as channel:
        listed = health_pb2_grpc.HealthStub(channel).List(health_pb2.HealthListRequest(), timeout=5)
    assert set(listed.statuses) == {"", *SERVICE_NAMES}
    assert {s.status for s in listed.statuses.values()} == {health_pb2.HealthCheckResponse.SERVING}
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize("service", [REFLECTION_V1, "grpc.reflection.v1alpha.ServerReflection"])
def test_reflection_v1_and_v1alpha_list_the_whole_api(running: Running, service: str) -> None:
    with grpc.insecure_channel(running.target) as channel:
        call = channel.stream_stream(
            f"/{service}/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        asked = [
            reflection_pb2.ServerReflectionRequest(list_services=""),
            reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE_NAMES[0]),
        ]
        listed, described = list(call(iter(asked), timeout=5))
    names = {s.name for s in listed.list_services_response.service}
    assert {*SERVICE_NAMES, "grpc.health.v1.Health", REFLECTION_V1} <= names
    assert described.file_descriptor_response.file_descriptor_proto


def test_converse_says_one_request_id_in_trailer_and_body(
    start_server: Callable[..., Running],
) -> None:
    class Agent:
        def ask(self, message: str, *, listener_id: str, session_id: str | None, k: int) -> Any:
            return SimpleNamespace(
                summary="none", items=(), trace=(), session_id="s-1", request_id="agent-slate-7"
            )

    running = start_server(conversation=Agent())
    with grpc.insecure_channel(running.target) as channel:
        stub = discovery_pb2_grpc.DiscoveryServiceStub(channel)
        response, call = stub.Converse.with_call(
            discovery_pb2.ConverseRequest(listener_id="u1", message="jazz"),
            metadata=(("x-request-id", "from-the-app"),),
            timeout=5,
        )
    assert response.request_id == "agent-slate-7"
    assert dict(call.trailing_metadata())["x-request-id"] == "agent-slate-7"


def test_health_says_serving_only_after_the_load_and_its_trial(
    start_server: Callable[..., Running], caplog: pytest.LogCaptureFixture
) -> None:
    running = start_server(load=False)
    seen: list[int] = []
    trial_started = threading.Event()

    def trial(_: Any) -> None:
        trial_started.set()
        with grpc.insecure_channel(running.target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            seen.append(stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status)

    state = ServingState(factory=lambda _: FakeRecommender(), trial=trial)
    running.server.deps = dataclasses.replace(running.server.deps, state=state)
    caplog.set_level(logging.INFO)
    state.load(running.artifacts)
    assert trial_started.is_set() and seen == [health_pb2.HealthCheckResponse.NOT_SERVING]
    running.server.set_serving()
    with grpc.insecure_channel(running.target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        assert stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status == (
            health_pb2.HealthCheckResponse.SERVING
        )


def test_serve_builds_the_agent_before_serving_and_survives_its_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from recsys.cli.serve import warm_agent

    class Agent:
        def __init__(self, fail: bool) -> None:
            self.fail, self.warmed = fail, False

        def warm(self) -> None:
            self.warmed = True
            if self.fail:
                raise RuntimeError("no catalog facts")

    ready, broken = Agent(fail=False), Agent(fail=True)
    warm_agent(ready)
    warm_agent(broken)
    assert ready.warmed and broken.warmed
    assert "no catalog facts" in caplog.text
