"""Random and malformed requests never crash the server: invalid ones get INVALID_ARGUMENT
with a message naming a field, valid ones succeed, and the server keeps serving."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys.api.v1 import (
    catalog_pb2,
    catalog_pb2_grpc,
    common_pb2,
    feedback_pb2,
    feedback_pb2_grpc,
    recommendation_pb2,
    recommendation_pb2_grpc,
    rights_pb2,
    rights_pb2_grpc,
)
from recsys.service import validation as v
from tests.recsys.service.conftest import ADMIN_TOKEN, FEEDBACK_TOKEN, Running
from tests.recsys.service.fakes import TRACKS

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
S = grpc.StatusCode

# Short strings from a small alphabet with the troublemakers: control characters, blanks,
# non-ASCII; plus long ones around the limits.
chars = st.sampled_from(["a", "Z", "7", "-", " ", "\x00", "\n", "\x7f", "é", "🎵"])
short_text = st.text(chars, max_size=8)
any_text = st.one_of(
    short_text,
    st.integers(100, 140).map(lambda n: "x" * n),
    st.integers(500, 2100).map(lambda n: "q" * n),
)
int32 = st.integers(-(2**31), 2**31 - 1)
enum_number = st.one_of(st.integers(0, 6), int32)


def id_ok(value: str, *, required: bool = True) -> bool:
    if not value:
        return not required
    return (
        bool(value.strip())
        and len(value) <= v.MAX_ID_CHARS
        and not any(ord(c) < 32 or ord(c) == 127 for c in value)
    )


def text_ok(value: str, limit: int, *, required: bool = False) -> bool:
    if required and not value.strip():
        return False
    bad = any((ord(c) < 32 and c not in "\n\t") or ord(c) == 127 for c in value)
    return len(value) <= limit and not bad


def call(fn: object, request: object, metadata: tuple[tuple[str, str], ...] = ()) -> S:
    try:
        fn(request, timeout=10, metadata=metadata)  # type: ignore[operator]
    except grpc.RpcError as exc:
        code: S = exc.code()  # type: ignore[attr-defined]
        if code is S.INVALID_ARGUMENT:
            assert ":" in exc.details()  # type: ignore[attr-defined]  # "<field>: <problem>"
        return code
    return S.OK


@FUZZ
@given(
    listener_id=any_text,
    k=st.one_of(st.integers(-3, 205), int32),
    surface=enum_number,
    query=any_text,
    context=st.lists(any_text, max_size=4),
    genres=st.lists(short_text, max_size=3),
    excluded=st.lists(short_text, max_size=3),
)
def test_recommend_fuzz(
    running: Running,
    listener_id: str,
    k: int,
    surface: int,
    query: str,
    context: list[str],
    genres: list[str],
    excluded: list[str],
) -> None:
    request = recommendation_pb2.RecommendRequest(
        listener_id=listener_id,
        k=k,
        surface=surface,  # type: ignore[arg-type]
        query=query,
        context_track_ids=context,
        filters=recommendation_pb2.Filters(genres=genres, exclude_track_ids=excluded),
    )
    valid = (
        id_ok(listener_id)
        and 0 <= k <= v.MAX_K
        and 0 <= surface <= 4
        and text_ok(query, v.MAX_QUERY_CHARS)
        and all(id_ok(c) for c in context)
        and all(text_ok(g, v.MAX_ID_CHARS, required=True) for g in genres)
        and all(id_ok(x) for x in excluded)
    )
    with grpc.insecure_channel(running.target) as channel:
        stub = recommendation_pb2_grpc.RecommendationServiceStub(channel)
        assert call(stub.Recommend, request) is (S.OK if valid else S.INVALID_ARGUMENT)


@FUZZ
@given(
    events=st.lists(
        st.tuples(
            any_text,
            st.one_of(st.sampled_from(["", "t1", "t2"]), short_text),  # known tracks and others
            enum_number,
            st.integers(-5, 5),
        ),
        min_size=0,
        max_size=4,
    )
)
def test_log_events_fuzz(running: Running, events: list[tuple[str, str, int, int]]) -> None:
    batch = [
        feedback_pb2.Event(event_id=e, listener_id="u1", track_id=t or "t0", type=kind,  # type: ignore[arg-type]
                           position=pos)
        for e, t, kind, pos in events
    ]  # fmt: skip
    valid = bool(events) and all(
        id_ok(e) and id_ok(t or "t0") and 1 <= kind <= 5 and pos >= 0 for e, t, kind, pos in events
    )
    known = {t.track_id for t in TRACKS}
    expected = S.INVALID_ARGUMENT
    if valid:  # a valid event of a track the catalog lacks refuses the batch
        expected = (
            S.OK if all((t or "t0") in known for _, t, _, _ in events) else S.FAILED_PRECONDITION
        )
    with grpc.insecure_channel(running.target) as channel:
        stub = feedback_pb2_grpc.FeedbackServiceStub(channel)
        request = feedback_pb2.LogEventsRequest(events=batch)
        metadata = (("authorization", f"Bearer {FEEDBACK_TOKEN}"),)
        assert call(stub.LogEvents, request, metadata) is expected


@FUZZ
@given(holder=any_text, scope=enum_number, reason=any_text)
def test_consent_fuzz(running: Running, holder: str, scope: int, reason: str) -> None:
    request = rights_pb2.ConsentChangeRequest(
        rights_holder_id=holder,
        scope=scope,
        reason=reason,  # type: ignore[arg-type]
    )
    valid = id_ok(holder) and 1 <= scope <= 3 and text_ok(reason, v.MAX_REASON_CHARS)
    with grpc.insecure_channel(running.target) as channel:
        stub = rights_pb2_grpc.RightsServiceStub(channel)
        metadata = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
        assert call(stub.GrantConsent, request, metadata) is (S.OK if valid else S.INVALID_ARGUMENT)


@FUZZ
@given(artist_id=any_text, name=any_text, kind=enum_number)
def test_upsert_artist_fuzz(running: Running, artist_id: str, name: str, kind: int) -> None:
    artist = common_pb2.Artist(id=artist_id, name=name, kind=kind)  # type: ignore[arg-type]
    valid = id_ok(artist_id) and text_ok(name, v.MAX_REASON_CHARS, required=True) and 1 <= kind <= 3
    with grpc.insecure_channel(running.target) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        metadata = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
        request = catalog_pb2.UpsertArtistsRequest(artists=[artist])
        assert call(stub.UpsertArtists, request, metadata) is (
            S.OK if valid else S.INVALID_ARGUMENT
        )


@FUZZ
@given(raw=st.binary(max_size=64))
def test_raw_bytes_never_crash(running: Running, raw: bytes) -> None:
    with grpc.insecure_channel(running.target) as channel:
        method = channel.unary_unary(
            "/linernotes.v1.RecommendationService/Recommend",
            request_serializer=lambda b: b,
            response_deserializer=recommendation_pb2.RecommendResponse.FromString,
        )
        assert call(method, raw) in {S.OK, S.INVALID_ARGUMENT}
        health = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING


def test_oversized_message_is_refused(running: Running) -> None:
    request = recommendation_pb2.RecommendRequest(listener_id="u1", query="x" * (5 * 1024 * 1024))
    with grpc.insecure_channel(running.target) as channel:
        stub = recommendation_pb2_grpc.RecommendationServiceStub(channel)
        assert call(stub.Recommend, request) is S.RESOURCE_EXHAUSTED
