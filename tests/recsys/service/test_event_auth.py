"""Who may write events (issue 16.1) and errors that say whose fault it is (16.5), against a
real server: anonymous plays are refused unless the demo setting is on, a feedback token writes
for anyone, a listener token only for its own listener, every event keeps its sender and the
service's receipt time, and a broken reference is the caller's fault (never UNAVAILABLE, never
retried, never with a path in the message)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import jwt
import pytest

from recsys.api.v1 import common_pb2, feedback_pb2
from recsys.service.tokens import AUDIENCE, ListenerTokens
from tests.recsys.service.conftest import (
    ADMIN_TOKEN,
    FEEDBACK_TOKEN,
    LISTENER_KEY,
    Running,
    code_of,
)

S = grpc.StatusCode
PRIMARY = common_pb2.CREDIT_ROLE_PRIMARY
CLAIMED = datetime(2020, 1, 1, tzinfo=UTC)  # what the client says; never the receipt time


def play(event_id: str, listener_id: str, track_id: str = "t0") -> feedback_pb2.Event:
    event = feedback_pb2.Event(
        event_id=event_id,
        listener_id=listener_id,
        track_id=track_id,
        type=feedback_pb2.EVENT_TYPE_PLAY,
    )
    event.at.FromDatetime(CLAIMED)
    return event


def listener_token(listener_id: str, **kwargs: Any) -> str:
    return ListenerTokens(LISTENER_KEY).mint(listener_id, ttl_seconds=600, **kwargs)


def failure(fn: Callable[[], Any]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        fn()
    return info.value


def stored_ids(running: Running) -> set[str]:
    return set(running.store.read_frame("events")["event_id"])


def test_anonymous_events_are_refused_by_default_naming_the_fix(running: Running) -> None:
    with running.client(retries=0) as client:
        error = failure(lambda: client.log_events([play("e1", "u1")]))
    assert error.code() is S.UNAUTHENTICATED
    message = error.details()
    assert "LINER_FEEDBACK_TOKENS" in message and "LINER_ALLOW_ANONYMOUS_EVENTS" in message
    assert stored_ids(running) == set()


def test_anonymous_events_with_the_demo_setting_are_stored_as_anonymous(
    start_server: Callable[..., Running], caplog: pytest.LogCaptureFixture
) -> None:
    running = start_server(allow_anonymous_events=True)
    warned = [r for r in caplog.records if r.levelname == "WARNING"]
    assert any("anonymous LogEvents are ON" in r.getMessage() for r in warned)
    with running.client() as client:
        assert client.log_events([play("e1", "u1"), play("e2", "u2")]).accepted == 2
    senders = {e.sender for e in running.store.listener_events("u1")}
    assert senders == {"anonymous"}


def test_feedback_token_writes_for_any_listener_with_sender_and_receipt_time(
    running: Running,
) -> None:
    before = datetime.now(UTC)
    with running.client(FEEDBACK_TOKEN) as client:
        response = client.log_events([play("e1", "u1"), play("e2", "u2", "t1")])
    after = datetime.now(UTC)
    assert (response.accepted, response.duplicates) == (2, 0)
    fingerprint = hashlib.sha256(FEEDBACK_TOKEN.encode()).hexdigest()[:12]
    for listener in ("u1", "u2"):
        (event,) = running.store.listener_events(listener)
        assert event.sender == f"feedback:{fingerprint}"
        assert event.at == CLAIMED  # the client's claim is kept as such
        assert event.received_at is not None
        assert before - timedelta(seconds=1) <= event.received_at <= after + timedelta(seconds=1)
    frame = running.store.read_frame("events")
    assert {"sender", "received_at"} <= set(frame.columns)
    assert frame["received_at"].notna().all()


def test_a_duplicate_keeps_its_first_sender_and_receipt_time(start_server: Any) -> None:
    running = start_server(allow_anonymous_events=True)
    with running.client(FEEDBACK_TOKEN) as client:
        client.log_events([play("e1", "u1")])
    (first,) = running.store.listener_events("u1")
    with running.client() as client:  # anonymous, same event id
        assert client.log_events([play("e1", "u1")]).duplicates == 1
    (again,) = running.store.listener_events("u1")
    assert (again.sender, again.received_at) == (first.sender, first.received_at)
    assert first.sender.startswith("feedback:")


def test_listener_token_writes_its_own_listener_only_and_nothing_of_a_mixed_batch(
    running: Running,
) -> None:
    with running.client(listener_token("u1"), retries=0) as client:
        assert client.log_events([play("own1", "u1")]).accepted == 1
        error = failure(lambda: client.log_events([play("own2", "u1"), play("other", "u2")]))
    assert error.code() is S.PERMISSION_DENIED
    assert error.details().startswith("events[1].listener_id:")
    assert stored_ids(running) == {"own1"}  # nothing of the refused batch
    (event,) = running.store.listener_events("u1")
    assert event.sender == "listener:u1"


@pytest.mark.parametrize(
    "make_token",
    [
        lambda: listener_token("u1", now=time.time() - 3600),
        lambda: ListenerTokens("another-key-of-at-least-32-bytes!!").mint("u1", ttl_seconds=600),
        lambda: jwt.encode(
            {"sub": "u1", "aud": AUDIENCE, "iat": int(time.time()), "exp": int(time.time()) + 60},
            "",
            algorithm="none",
        ),
        lambda: jwt.encode(
            {"sub": "u1", "aud": "other", "iat": int(time.time()), "exp": int(time.time()) + 60},
            LISTENER_KEY,
            algorithm="HS256",
        ),
        lambda: jwt.encode({"sub": "u1", "aud": AUDIENCE}, LISTENER_KEY, algorithm="HS256"),
        lambda: listener_token("u1")[:-4] + "AAAA",
    ],
    ids=["expired", "forged-key", "alg-none", "other-audience", "no-expiry", "tampered"],
)
def test_bad_listener_tokens_are_unauthenticated(
    running: Running, make_token: Callable[[], str]
) -> None:
    with running.client(make_token(), retries=0) as client:
        error = failure(lambda: client.log_events([play("e1", "u1")]))
    assert error.code() is S.UNAUTHENTICATED
    assert stored_ids(running) == set()


def test_listener_token_is_held_to_its_listener_on_recommend_and_assignment(
    running: Running,
) -> None:
    with running.client(listener_token("u1"), retries=0) as client:
        assert client.recommend("u1", k=2).items
        assert code_of(lambda: client.recommend("u2", k=2)) is S.PERMISSION_DENIED
        assert code_of(lambda: client.assignment("u2")) is S.PERMISSION_DENIED
    with running.client(retries=0) as client:  # anonymous reads stay open by default
        assert client.recommend("u2", k=2).items


def test_listener_calls_need_token_when_configured(start_server: Callable[..., Running]) -> None:
    running = start_server(listener_calls_need_token=True)
    with running.client(retries=0) as client:
        assert code_of(lambda: client.recommend("u1", k=2)) is S.UNAUTHENTICATED
    with running.client(FEEDBACK_TOKEN) as client:
        assert client.recommend("u1", k=2).items
    with running.client(listener_token("u1")) as client:
        assert client.recommend("u1", k=2).items


def test_an_event_of_an_unknown_track_refuses_the_batch_naming_the_field(
    running: Running,
) -> None:
    with running.client(FEEDBACK_TOKEN) as client:
        error = failure(lambda: client.log_events([play("e1", "u1"), play("e2", "u1", "nope")]))
    assert error.code() is S.FAILED_PRECONDITION
    assert error.details().startswith("events[1].track_id: no track 'nope'")
    assert stored_ids(running) == set()


def new_track(*artist_ids: str) -> common_pb2.CatalogTrack:
    share = 1.0 / len(artist_ids)
    return common_pb2.CatalogTrack(
        track=common_pb2.Track(id="new1", title="Fresh"),
        credits=[common_pb2.Credit(artist_id=a, role=PRIMARY, share=share) for a in artist_ids],
        ai_label=common_pb2.AiLabel(
            involvement=common_pb2.AI_INVOLVEMENT_NONE,
            source=common_pb2.LABEL_SOURCE_DECLARED,
            confidence=1.0,
        ),
    )


def counting(method: Callable[..., Any], calls: list[int]) -> Callable[..., Any]:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return method(*args, **kwargs)

    return wrapped


def assert_no_path(message: str, *paths: object) -> None:
    assert not any(str(p) in message for p in paths), message
    assert "/tmp" not in message and "liner.db" not in message, message


def test_unknown_artist_is_failed_precondition_naming_the_field_and_never_retried(
    running: Running, tmp_path: Any
) -> None:
    track = new_track("a-human", "a-ghost")
    calls: list[int] = []
    with running.client(ADMIN_TOKEN, retries=4) as client:
        client.catalog.UpsertTracks = counting(client.catalog.UpsertTracks, calls)
        error = failure(lambda: client.upsert_tracks([track]))
    assert error.code() is S.FAILED_PRECONDITION
    message = error.details()
    assert message.startswith("tracks[0].credits[1].artist_id: no artist 'a-ghost'")
    assert "UpsertArtists" in message
    assert len(calls) == 1
    assert_no_path(message, tmp_path)
    assert running.store.get_track("new1") is None


def test_a_constraint_the_store_catches_is_failed_precondition_without_a_path(
    running: Running, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If a reference slips past the servicer's check, the store's own constraint answers
    for the caller's data: FAILED_PRECONDITION, not UNAVAILABLE, and no database path."""
    monkeypatch.setattr(type(running.store), "unknown_ids", lambda *a, **k: frozenset())
    track = new_track("a-ghost")
    calls: list[int] = []
    with running.client(ADMIN_TOKEN, retries=4) as client:
        client.catalog.UpsertTracks = counting(client.catalog.UpsertTracks, calls)
        error = failure(lambda: client.upsert_tracks([track]))
    assert error.code() is S.FAILED_PRECONDITION
    assert len(calls) == 1
    assert "request id" in error.details()
    assert_no_path(error.details(), tmp_path)


def test_a_store_failure_is_unavailable_with_a_request_id_and_no_path(
    running: Running, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    running.store.close()  # every store call now fails with the database path in its text
    with running.client(retries=0) as client:
        error = failure(lambda: client.get_track("t0"))
    assert error.code() is S.UNAVAILABLE
    message = error.details()
    assert_no_path(message, tmp_path)
    request_id = message.rsplit("request id ", 1)[1].rstrip(")")
    assert any(
        request_id in r.getMessage() and str(tmp_path) in r.getMessage() for r in caplog.records
    )


def test_reload_errors_carry_no_path(running: Running, tmp_path: Any) -> None:
    missing = tmp_path / "elsewhere" / "artifacts"
    with running.client(ADMIN_TOKEN, retries=0) as client:
        error = failure(lambda: client.reload_artifacts(str(missing)))
    assert error.code() is S.FAILED_PRECONDITION
    assert_no_path(error.details(), tmp_path, missing)


def test_no_call_answers_with_a_path_when_the_store_fails(running: Running, tmp_path: Any) -> None:
    scope = 1  # CONSENT_SCOPE_AI_TRAINING
    running.store.close()
    with running.client(ADMIN_TOKEN, retries=0) as client:
        calls: dict[str, Callable[[], Any]] = {
            "LogEvents": lambda: client.log_events([play("e1", "u1")]),
            "UpsertTracks": lambda: client.upsert_tracks([new_track("a-human")]),
            "UpsertArtists": lambda: client.upsert_artists(
                [common_pb2.Artist(id="a9", name="X", kind=common_pb2.ARTIST_KIND_HUMAN)]
            ),
            "GetTrack": lambda: client.get_track("t0"),
            "GetArtist": lambda: client.get_artist("a-human"),
            "GrantConsent": lambda: client.grant_consent("rh-ada", scope, "why"),  # type: ignore[arg-type]
            "ConsentHistory": lambda: client.consent_history(),
            "ReleaseQuarantine": lambda: client.release_quarantine("t0", "why"),
        }
        for name, call in calls.items():
            error = failure(call)
            assert error.code() is S.UNAVAILABLE, name
            assert_no_path(error.details(), tmp_path)


def test_the_request_log_names_the_caller_never_the_token(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.INFO, logger="recsys.service.requestlog"),
        running.client(FEEDBACK_TOKEN) as client,
    ):
        client.log_events([play("e1", "u1")])
    (line,) = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith("requestlog")]
    assert line["caller"].startswith("feedback:") and line["sender"] == line["caller"]
    assert FEEDBACK_TOKEN not in json.dumps(line)
