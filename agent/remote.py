"""`liner agent` against a running `liner serve`: one Converse call, no pipeline in this process.

This module imports only gRPC, the generated messages and the JSON rendering
(:mod:`recsys.api.answers`), so a question answered by a running service costs a process
start, not a pipeline load. The answer's JSON is the one a local agent gives
(``AgentAnswer.to_json`` renders through the same function).

Example:
    target = running_service("127.0.0.1", 50051)      # "127.0.0.1:50051", or None
    answer = ask_service(target, "rainy day jazz", listener="u_00001", k=10)
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

from agent.errors import AgentError

if TYPE_CHECKING:
    from recsys.settings import LinerSettings

PROBE_TIMEOUT_S = 0.3
"""How long to wait for a TCP connect to the service's port before loading locally."""
CONVERSE_TIMEOUT_S = 60.0
"""Deadline of one Converse call (a turn over a warm service takes well under a second)."""
_ANY = ("", "0.0.0.0", "::", "[::]")


class ServiceUnreachableError(AgentError):
    """No service answered at the address, it is overloaded, or it runs without the
    discovery agent."""


class ServiceRefusedError(AgentError):
    """The service refused the call (bad argument, credentials, session): retrying the same
    call will not help; the message says what to change."""


def running_service(host: str, port: int) -> str | None:
    """``host:port`` if something accepts TCP connections there (a service bound to every
    interface is reached on 127.0.0.1), else None."""
    host = "127.0.0.1" if host in _ANY else host
    if port <= 0:
        return None
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
            pass
    except OSError:
        return None
    return f"{host}:{port}"


def _fix(code: str, details: str) -> str:
    if code == "UNAUTHENTICATED" or (code == "PERMISSION_DENIED" and "token" in details):
        return (
            "pass --token (a listener token: `liner tokens listener ID`), or set "
            "LINER_LISTENER_TOKEN_KEY to the service's key so one is minted; or --local"
        )
    if code == "NOT_FOUND" or "session" in details:
        return "drop --session to start a new conversation"
    return "change the request as the message says"


def ask_service(
    target: str,
    query: str,
    *,
    listener: str,
    k: int,
    session_id: str = "",
    token: str | None = None,
    settings: LinerSettings | None = None,
) -> dict[str, Any]:
    """One Converse turn at ``target``, as the `liner agent --json` object.

    Raises:
        ServiceUnreachableError: nothing answers there, or it has no discovery agent.
        ServiceRefusedError: the service refused the call; the message names the fix.
    """
    import grpc

    from recsys.api.answers import answer_json
    from recsys.service.client import LinerClient

    if token is None and settings is not None and settings.listener_token_key is not None:
        from recsys.service.tokens import mint_listener_token

        token = mint_listener_token(
            settings.listener_token_key.get_secret_value(), listener, ttl_seconds=300
        )
    try:
        with LinerClient(target, token=token, timeout=CONVERSE_TIMEOUT_S) as client:
            response = client.converse(listener, query, session_id=session_id, k=k)
    except grpc.RpcError as exc:
        status = getattr(exc, "code", None)
        code = status().name if callable(status) else "UNKNOWN"
        said = getattr(exc, "details", None)
        details = str(said() if callable(said) else exc)
        if code in ("UNAVAILABLE", "UNIMPLEMENTED", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"):
            raise ServiceUnreachableError(
                f"the service at {target} did not answer ({code}: {details})"
            ) from None
        fix = _fix(code, details)
        said = (
            f"{details} (with `liner agent`: {fix})"
            if "Fix:" in details
            else (f"{details}. Fix: {fix}")
        )
        raise ServiceRefusedError(
            f"the service at {target} refused the question ({code}): {said}"
        ) from None
    return answer_json(response)


__all__ = ["ServiceRefusedError", "ServiceUnreachableError", "ask_service", "running_service"]
