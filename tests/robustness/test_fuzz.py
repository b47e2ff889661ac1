"""Protobuf fuzzing of the running service: random and mutated bytes for every unary method.
Every call gets a status (never a crash or a hang), and the service still serves after."""

from __future__ import annotations

import random

import grpc

from recsys.api.v1 import recommendation_pb2
from recsys.service import LinerClient
from tests.robustness.conftest import ADMIN, Service

METHODS = [
    "/linernotes.v1.RecommendationService/Recommend",
    "/linernotes.v1.DiscoveryService/Converse",
    "/linernotes.v1.FeedbackService/LogEvents",
    "/linernotes.v1.CatalogService/GetTrack",
    "/linernotes.v1.CatalogService/UpsertTracks",
    "/linernotes.v1.RightsService/GrantConsent",
    "/linernotes.v1.RightsService/ConsentHistory",
    "/linernotes.v1.AdminService/ReloadArtifacts",
]
ALLOWED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.OUT_OF_RANGE,
}


def _payloads(rng: random.Random, count: int) -> list[bytes]:
    valid = recommendation_pb2.RecommendRequest(
        listener_id="u_00001", k=10, query="jazz"
    ).SerializeToString()
    out = []
    for i in range(count):
        kind = i % 3
        if kind == 0:  # random bytes
            out.append(rng.randbytes(rng.randint(0, 256)))
        elif kind == 1:  # a valid message with flipped bytes
            raw = bytearray(valid)
            for _ in range(rng.randint(1, 4)):
                raw[rng.randrange(len(raw))] = rng.randrange(256)
            out.append(bytes(raw))
        else:  # huge declared lengths and deep nesting
            out.append(b"\x0a\xff\xff\xff\x7f" + rng.randbytes(16))
    return out


def test_fuzzed_messages_get_a_status_and_the_service_survives(service: Service) -> None:
    rng = random.Random(19)
    codes: dict[str, int] = {}
    unexpected: list[str] = []
    with grpc.insecure_channel(service.target) as channel:
        for method in METHODS:
            call = channel.unary_unary(
                method, request_serializer=lambda b: b, response_deserializer=lambda b: b
            )
            for payload in _payloads(rng, 60):
                metadata = (("authorization", f"Bearer {ADMIN}"),) if rng.random() < 0.5 else ()
                try:
                    call(payload, timeout=20, metadata=metadata)
                    code = grpc.StatusCode.OK
                except grpc.RpcError as exc:
                    code = exc.code()  # type: ignore[attr-defined]
                codes[code.name] = codes.get(code.name, 0) + 1
                if code not in ALLOWED:
                    unexpected.append(f"{method} {payload[:24]!r}: {code.name}")
    print(f"\nfuzz: {sum(codes.values())} calls over {len(METHODS)} methods: {codes}")
    assert service.process.poll() is None, "the service died under fuzzing"
    assert not unexpected, unexpected[:5]
    with LinerClient(service.target, timeout=30, retries=0) as client:
        assert len(client.recommend("u_00003", k=5).items) > 0
