"""Units of the service layer: limiter, authorizer, client retries, proto drift, CLI."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from click.testing import CliRunner

from recsys.errors import ConfigError, PermissionDeniedError
from recsys.service import LinerClient
from recsys.service.auth import ADMIN, ANONYMOUS, FEEDBACK, LISTENER, RIGHTS, Authorizer
from recsys.service.errors import UnauthenticatedError
from recsys.service.status import MessageRedactor
from recsys.service.tokens import ListenerTokens
from recsys.settings import LinerSettings
from tests.recsys.service.fakes import FakeRecommender, artifact_dir


def test_authorizer_roles() -> None:
    auth = Authorizer({ADMIN: ["a1"], RIGHTS: ["r1"]})
    reload = "/linernotes.v1.AdminService/ReloadArtifacts"
    revoke = "/linernotes.v1.RightsService/RevokeConsent"
    bearer = lambda t: [("authorization", f"Bearer {t}")]  # noqa: E731
    assert auth.authorize("/linernotes.v1.RecommendationService/Recommend", []) is ANONYMOUS
    assert auth.authorize(reload, bearer("a1")).role == ADMIN
    assert auth.authorize(revoke, bearer("r1")).actor.startswith("rights:")
    assert "r1" not in auth.authorize(revoke, bearer("r1")).actor
    with pytest.raises(PermissionDeniedError, match="needs admin"):
        auth.authorize(reload, bearer("r1"))
    with pytest.raises(UnauthenticatedError):
        auth.authorize(revoke, [])
    with pytest.raises(UnauthenticatedError):
        auth.authorize(revoke, bearer("nope"))


def test_authorizer_event_writers() -> None:
    key = "k" * 32
    log = "/linernotes.v1.FeedbackService/LogEvents"
    recommend = "/linernotes.v1.RecommendationService/Recommend"
    bearer = lambda t: [("authorization", f"Bearer {t}")]  # noqa: E731
    auth = Authorizer({ADMIN: ["a1"], FEEDBACK: ["f1"]}, listener_tokens=ListenerTokens(key))
    with pytest.raises(UnauthenticatedError, match="LINER_ALLOW_ANONYMOUS_EVENTS"):
        auth.authorize(log, [])
    assert auth.authorize(log, bearer("f1")).actor.startswith("feedback:")
    assert auth.authorize(log, bearer("a1")).role == ADMIN
    listener = auth.authorize(log, bearer(ListenerTokens(key).mint("u7", ttl_seconds=60)))
    assert (listener.role, listener.subject, listener.actor) == (LISTENER, "u7", "listener:u7")
    with pytest.raises(PermissionDeniedError, match=r"listener_id: .*'u7'"):
        auth.check_listener_call(recommend, listener, SimpleNamespace(listener_id="u8"))
    auth.check_listener_call(recommend, listener, SimpleNamespace(listener_id="u7"))
    with pytest.raises(PermissionDeniedError):  # a listener token cannot reload
        auth.authorize("/linernotes.v1.AdminService/ReloadArtifacts", bearer(listener_token(key)))
    assert Authorizer({}, anonymous_events=True).authorize(log, []) is ANONYMOUS
    without_key = Authorizer({FEEDBACK: ["f1"]})
    with pytest.raises(UnauthenticatedError, match="unknown bearer token"):
        without_key.authorize(log, bearer(listener_token(key)))
    with pytest.raises(ConfigError, match="32"):
        ListenerTokens("short")


def listener_token(key: str) -> str:
    return ListenerTokens(key).mint("u7", ttl_seconds=60)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("cannot open /var/lib/liner/liner.db: locked", "cannot open <path>: locked"),
        ("run `liner build --out /tmp/a/b`", "run `liner build --out <path>`"),
        ("read 'C:\\data\\x.npy' failed", "read '<path>' failed"),
        ("~/artifacts has no manifest.json", "<path> has no manifest.json"),
        ("var/liner.db is locked", "<path> is locked"),
        (
            "/linernotes.v1.FeedbackService/LogEvents needs a token",
            "/linernotes.v1.FeedbackService/LogEvents needs a token",
        ),
        ("shares must sum to 1/1 (human/AI)", "shares must sum to 1/1 (human/AI)"),
        ("2 experiments running", "2 experiments running"),
    ],
    ids=[
        "absolute",
        "in-backticks",
        "windows",
        "home",
        "configured-relative",
        "method",
        "slashes",
        "configured-bare-name",
    ],
)
def test_messages_to_clients_carry_no_paths(message: str, expected: str) -> None:
    assert MessageRedactor(["var/liner.db", "experiments"])(message) == expected


class FakeError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str = "") -> None:
        self._code = code
        self._details = details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


@pytest.mark.parametrize(
    ("idempotent", "code", "details", "attempts"),
    [
        (True, grpc.StatusCode.UNAVAILABLE, "", 3),
        (True, grpc.StatusCode.RESOURCE_EXHAUSTED, "in-flight limit 16", 3),
        (False, grpc.StatusCode.UNAVAILABLE, "", 1),
        (True, grpc.StatusCode.INVALID_ARGUMENT, "", 1),
        (True, grpc.StatusCode.FAILED_PRECONDITION, "", 1),
        (True, grpc.StatusCode.UNAUTHENTICATED, "", 1),
        (True, grpc.StatusCode.PERMISSION_DENIED, "", 1),
        (True, grpc.StatusCode.RESOURCE_EXHAUSTED, "Sent message larger than max (5 vs. 4)", 1),
    ],
    ids=[
        "unavailable-retried",
        "overloaded-retried",
        "not-idempotent",
        "invalid-argument",
        "failed-precondition",
        "unauthenticated",
        "permission-denied",
        "too-large",
    ],
)
def test_client_retries_only_transient_failures_of_idempotent_calls(
    idempotent: bool, code: grpc.StatusCode, details: str, attempts: int
) -> None:
    seen: list[float] = []

    def method(request: Any, *, timeout: float, metadata: Any) -> str:
        seen.append(timeout)
        if len(seen) < 3:
            raise FakeError(code, details)
        return "ok"

    client = LinerClient("127.0.0.1:1", timeout=10.0, retries=3)
    try:
        if attempts == 3:
            assert client.call(method, None, idempotent=idempotent) == "ok"
        else:
            with pytest.raises(FakeError):
                client.call(method, None, idempotent=idempotent)
    finally:
        client.close()
    assert len(seen) == attempts
    assert all(t <= 10.0 for t in seen)


def test_generated_code_matches_protos() -> None:
    from recsys.api import generate

    assert generate.check() == []


def test_serve_help_has_example() -> None:
    from recsys.cli import main

    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0 and "liner serve --artifacts" in result.output


@pytest.mark.parametrize("flag", [True, False], ids=["demo-flag", "default"])
def test_serve_turns_anonymous_events_on_only_when_asked(
    flag: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import recsys.cli.serve as serve
    from recsys.cli import main

    seen: list[LinerSettings] = []
    monkeypatch.setattr(serve, "run", lambda settings, **_: seen.append(settings))
    monkeypatch.delenv("LINER_ALLOW_ANONYMOUS_EVENTS", raising=False)
    args = ["serve", "--port", "0", *(["--allow-anonymous-events"] if flag else [])]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert seen[0].allow_anonymous_events is flag
    assert ("anonymous LogEvents are ON" in result.output) is flag


def test_serve_run_loads_prints_port_and_drains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import recsys.pipeline
    from recsys.cli.serve import run

    art = artifact_dir(tmp_path)
    monkeypatch.setattr(recsys.pipeline, "load_recommender", lambda *a, **k: FakeRecommender())
    settings = LinerSettings(
        host="127.0.0.1",
        port=0,
        worker_port=0,
        metrics_port=None,
        artifacts=art,
        db=str(tmp_path / "x.db"),
    )
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(settings,), kwargs={"stop": stop, "grace": 1.0})
    thread.start()
    try:
        out = ""
        for _ in range(1000):
            out += capsys.readouterr().out
            if "serving artifacts" in out:
                break
            threading.Event().wait(0.01)
        port = int(out.split("listening on 127.0.0.1:")[1].split()[0])
        own = int(out.split("this process alone on 127.0.0.1:")[1].split()[0])
        assert own != port
        with LinerClient(f"127.0.0.1:{port}") as client:
            assert len(client.recommend("u1", k=3).items) == 3
        with LinerClient(f"127.0.0.1:{own},127.0.0.1:{port}") as client:
            assert [len(client.recommend("u1", k=2).items) for _ in range(4)] == [2, 2, 2, 2]
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "50051", "--workers", "2", "--worker-ports", "65535"], "past 65535"),
        (["--port", "50052", "--workers", "3", "--worker-ports", "50050"], "include the shared"),
    ],
)
def test_serve_refuses_worker_ports_that_cannot_work(
    tmp_path: Path, args: list[str], message: str
) -> None:
    from recsys.cli import main

    result = CliRunner().invoke(
        main, ["serve", "--artifacts", str(tmp_path), "--metrics-port", "-1", *args]
    )
    assert result.exit_code == 2 and message in result.output
    assert "--worker-ports" in result.output


def test_serve_refuses_bad_manifest(tmp_path: Path) -> None:
    from recsys.cli import main

    art = artifact_dir(tmp_path)
    (art / "vectors.txt").write_text("changed\n")
    result = CliRunner().invoke(
        main,
        ["serve", "--artifacts", str(art), "--db", str(tmp_path / "x.db"), "--port", "0",
         "--metrics-port", "-1"],
    )  # fmt: skip
    assert result.exit_code != 0 and "sha256" in result.output


def test_a_verified_listener_token_is_refused_once_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import recsys.service.tokens as tokens

    listener_tokens = ListenerTokens("k" * 32)
    token = listener_tokens.mint("u7", ttl_seconds=60)
    assert listener_tokens.verify(token) == "u7"  # verified, and remembered
    assert listener_tokens.verify(token) == "u7"
    later = tokens.time.time() + 3600
    monkeypatch.setattr(tokens.time, "time", lambda: later)

    def decode_an_hour_later(*args: Any, **kwargs: Any) -> Any:  # PyJWT reads its own clock
        raise tokens.jwt.ExpiredSignatureError("Signature has expired")

    monkeypatch.setattr(tokens.jwt, "decode", decode_an_hour_later)
    with pytest.raises(UnauthenticatedError, match="expired"):
        listener_tokens.verify(token)
