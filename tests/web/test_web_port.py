"""The web port speaks Connect (JSON and binary), gRPC-Web and HTTP/2 with the gRPC port's
auth, validation, errors and request ids, and answers CORS only for configured origins."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from recsys.api.v1 import recommendation_pb2, rights_pb2
from recsys.service.tokens import mint_listener_token
from tests.recsys.service.certs import make_pki
from tests.recsys.service.conftest import LISTENER_KEY
from tests.web.conftest import HOLDER, RIGHTS_TOKEN, WebRunning

RECOMMEND = "/linernotes.v1.RecommendationService/Recommend"


def post(
    url: str, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        url, data=body, headers={"content-type": content_type, **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def test_connect_json_serves_a_labelled_slate_with_the_callers_request_id(web: WebRunning) -> None:
    status, headers, body = post(
        web.url + RECOMMEND,
        json.dumps({"listenerId": "u1", "k": 4}).encode(),
        "application/json",
        {"x-request-id": "web-req-1"},
    )
    slate = json.loads(body)
    assert status == 200 and slate["requestId"] == "web-req-1"
    assert headers["x-request-id"] == "web-req-1"
    assert len(slate["items"]) == 4
    assert {i["aiLabel"]["involvement"] for i in slate["items"]} == {
        "AI_INVOLVEMENT_NONE",
        "AI_INVOLVEMENT_GENERATED",
    }


def test_connect_binary_and_grpc_web_decode_to_the_same_slate(web: WebRunning) -> None:
    request = recommendation_pb2.RecommendRequest(listener_id="u1", k=3, query="song")
    status, _, body = post(web.url + RECOMMEND, request.SerializeToString(), "application/proto")
    connect = recommendation_pb2.RecommendResponse.FromString(body)
    frame = request.SerializeToString()
    status_web, _, raw = post(
        web.url + RECOMMEND,
        b"\x00" + struct.pack(">I", len(frame)) + frame,
        "application/grpc-web+proto",
        {"x-grpc-web": "1"},
    )
    messages, trailers = grpc_web_frames(raw)
    grpc_web = recommendation_pb2.RecommendResponse.FromString(messages[0])
    assert status == status_web == 200
    assert [i.track.id for i in connect.items] == [i.track.id for i in grpc_web.items]
    assert [i.track.title for i in connect.items] == ["Song 0", "Song 2", "Song 4"]
    assert trailers["grpc-status"] == "0"
    assert trailers["x-request-id"] == grpc_web.request_id


def test_refusals_are_the_grpc_ports_statuses(web: WebRunning) -> None:
    change = json.dumps({"rightsHolderId": HOLDER, "scope": "CONSENT_SCOPE_AI_TRAINING"}).encode()
    revoke = web.url + "/linernotes.v1.RightsService/RevokeConsent"
    anonymous = post(revoke, change, "application/json")
    wrong = post(revoke, change, "application/json", {"authorization": "Bearer nope"})
    invalid = post(web.url + RECOMMEND, b'{"listenerId": ""}', "application/json")
    allowed = post(revoke, change, "application/json", {"authorization": f"Bearer {RIGHTS_TOKEN}"})
    assert anonymous[0] == 401 and json.loads(anonymous[2])["code"] == "unauthenticated"
    assert "needs a bearer token with role admin or rights" in json.loads(anonymous[2])["message"]
    assert wrong[0] == 401 and "unknown bearer token" in json.loads(wrong[2])["message"]
    assert invalid[0] == 400 and json.loads(invalid[2])["code"] == "invalid_argument"
    assert "listener_id" in json.loads(invalid[2])["message"]
    assert allowed[0] == 200 and json.loads(allowed[2])["actor"].startswith("rights:")


def test_quarantine_list_shows_evidence_to_rights_holders(web: WebRunning) -> None:
    status, _, body = post(
        web.url + "/linernotes.v1.RightsService/ListQuarantine",
        rights_pb2.ListQuarantineRequest(rights_holder_id="rh-bot").SerializeToString(),
        "application/proto",
        {"authorization": f"Bearer {RIGHTS_TOKEN}"},
    )
    listed = rights_pb2.ListQuarantineResponse.FromString(body)
    assert status == 200 and [t.track_id for t in listed.tracks] == ["t19"]
    assert "another uploader" in listed.tracks[0].evidence["near_duplicate"]
    _, _, other = post(
        web.url + "/linernotes.v1.RightsService/ListQuarantine",
        rights_pb2.ListQuarantineRequest(rights_holder_id=HOLDER).SerializeToString(),
        "application/proto",
        {"authorization": f"Bearer {RIGHTS_TOKEN}"},
    )
    assert not rights_pb2.ListQuarantineResponse.FromString(other).tracks


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_http2_by_prior_knowledge(web: WebRunning) -> None:
    out = subprocess.run(
        ["curl", "-sS", "--http2-prior-knowledge", "-o", "-", "-w", "\n%{http_version}",
         "-H", "content-type: application/json", "-d", '{"listenerId":"u1","k":2}',
         web.url + RECOMMEND],
        capture_output=True, text=True, timeout=20, check=True,
    )  # fmt: skip
    body, _, version = out.stdout.rpartition("\n")
    assert version == "2" and len(json.loads(body)["items"]) == 2


def preflight(url: str, origin: str) -> dict[str, str]:
    request = urllib.request.Request(
        url,
        method="OPTIONS",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,connect-protocol-version",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as exc:
        return {k.lower(): v for k, v in exc.headers.items()}


@pytest.mark.parametrize(
    ("origins", "origin", "allowed"),
    [
        ([], "https://evil.example", False),
        (["https://app.example"], "https://app.example", True),
        (["https://app.example"], "https://evil.example", False),
    ],
    ids=["none-by-default", "configured", "other-origin"],
)
def test_cors_allows_only_configured_origins(
    start_web: Callable[..., WebRunning], origins: list[str], origin: str, allowed: bool
) -> None:
    web = start_web(web_origins=origins)
    headers = preflight(web.url + RECOMMEND, origin)
    _, simple, _ = post(
        web.url + RECOMMEND, b'{"listenerId":"u1"}', "application/json", {"origin": origin}
    )
    assert (headers.get("access-control-allow-origin") == origin) is allowed
    assert (simple.get("access-control-allow-origin") == origin) is allowed
    if allowed:
        assert "x-request-id" in simple["access-control-expose-headers"]


def test_the_web_app_is_served_as_static_files(web: WebRunning) -> None:
    with urllib.request.urlopen(web.url + "/", timeout=10) as response:
        page = response.read().decode()
    with urllib.request.urlopen(web.url + "/vendor/liner-client.js", timeout=10) as response:
        kind = response.headers["content-type"]
    assert "<title>Liner Notes</title>" in page
    assert "javascript" in kind


def grpc_web_frames(raw: bytes) -> tuple[list[bytes], dict[str, Any]]:
    """Split a gRPC-Web body into its messages and its trailers."""
    messages: list[bytes] = []
    trailers: dict[str, Any] = {}
    at = 0
    while at < len(raw):
        flag, size = raw[at], struct.unpack(">I", raw[at + 1 : at + 5])[0]
        data = raw[at + 5 : at + 5 + size]
        at += 5 + size
        if flag & 0x80:
            for line in data.decode().strip().split("\r\n"):
                key, _, value = line.partition(":")
                trailers[key.strip().lower()] = value.strip()
        else:
            messages.append(data)
    return messages, trailers


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_tls_with_http2_by_alpn_and_mutual_tls(
    start_web: Callable[..., WebRunning], tmp_path: Path
) -> None:
    make_pki(tmp_path)
    tls = start_web(tls_cert=tmp_path / "server.crt", tls_key=tmp_path / "server.key")
    url = f"https://localhost:{tls.web.port}{RECOMMEND}"
    ask = ["curl", "-sS", "--cacert", str(tmp_path / "ca.crt"), "-o", "-",
           "-w", "\n%{http_version}", "-H", "content-type: application/json",
           "-d", '{"listenerId":"u1","k":1}']  # fmt: skip
    body, _, version = subprocess.run(
        [*ask, url], capture_output=True, text=True, timeout=20, check=True
    ).stdout.rpartition("\n")
    assert version == "2" and len(json.loads(body)["items"]) == 1

    mutual = start_web(
        tls_cert=tmp_path / "server.crt",
        tls_key=tmp_path / "server.key",
        tls_client_ca=tmp_path / "ca.crt",
    )
    mutual_url = f"https://localhost:{mutual.web.port}{RECOMMEND}"
    refused = subprocess.run([*ask, mutual_url], capture_output=True, text=True, timeout=20)
    client = ["--cert", str(tmp_path / "client.crt"), "--key", str(tmp_path / "client.key")]
    accepted = subprocess.run(
        [*ask, *client, mutual_url], capture_output=True, text=True, timeout=20, check=True
    )
    assert refused.returncode != 0
    assert json.loads(accepted.stdout.rpartition("\n")[0])["items"]


def test_a_listener_token_acts_only_for_its_listener(web: WebRunning) -> None:
    token = mint_listener_token(LISTENER_KEY, "u1")
    own = post(
        web.url + RECOMMEND,
        b'{"listenerId":"u1","k":1}',
        "application/json",
        {"authorization": f"Bearer {token}"},
    )
    other = post(
        web.url + RECOMMEND,
        b'{"listenerId":"u2","k":1}',
        "application/json",
        {"authorization": f"Bearer {token}"},
    )
    assert own[0] == 200
    assert other[0] == 403 and json.loads(other[2])["code"] == "permission_denied"
    assert "listener token is for 'u1'" in json.loads(other[2])["message"]
