"""DiscoveryService: one turn of a conversation with the discovery agent.

Sessions are the server's: an empty ``session_id`` starts one (the agent's session store mints
its id and binds it to the request's listener, which a listener token has already been held
to); a later turn must name that listener. Under ``liner serve`` sessions live in the store, so
any worker or replica on the same database answers the next turn. An id the server never
issued or that expired is NOT_FOUND, another listener's PERMISSION_DENIED, each with a message
saying to start a new conversation. Items go through the same conversion as ``Recommend``'s.
"""

from __future__ import annotations

import grpc

from recsys.api.v1 import discovery_pb2 as pbd
from recsys.api.v1 import discovery_pb2_grpc as pbd_grpc
from recsys.service import convert, requestlog
from recsys.service import validation as v
from recsys.service.calls import REQUEST_ID_HEADER
from recsys.service.errors import NotAvailableError, RequestError
from recsys.service.servicers.deps import ServiceDeps, ensure_active

AGENT_MAX_K = 50
"""Most tracks one agent answer may hold (``ConverseRequest.k``)."""
AGENT_DEFAULT_K = 10


def answer_size(k: int) -> int:
    """``ConverseRequest.k`` within 1..AGENT_MAX_K; 0 means AGENT_DEFAULT_K."""
    if k == 0:
        return AGENT_DEFAULT_K
    if not 1 <= k <= AGENT_MAX_K:
        raise RequestError("k", f"must be between 1 and {AGENT_MAX_K}, or 0 for 10 (got {k})")
    return k


class DiscoveryServicer(pbd_grpc.DiscoveryServiceServicer):
    """Validates and hands the turn to the agent; UNIMPLEMENTED when no agent is installed."""

    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps

    def Converse(  # noqa: N802
        self, request: pbd.ConverseRequest, context: grpc.ServicerContext
    ) -> pbd.ConverseResponse:
        session_id = v.identifier("session_id", request.session_id, required=False)
        listener_id = v.identifier("listener_id", request.listener_id)
        message = v.text("message", request.message, v.MAX_MESSAGE_CHARS, required=True)
        k = answer_size(request.k)
        agent = self._deps.conversation
        if agent is None:
            raise NotAvailableError("the discovery agent is not installed on this server")
        answer = agent.ask(message, listener_id=listener_id, session_id=session_id or None, k=k)
        ensure_active(context)
        items = getattr(answer, "items", ()) or ()
        self._deps.metrics.observe_items(items)
        requestlog.annotate(listener_id=listener_id, items=len(items))
        response: pbd.ConverseResponse = convert.converse_pb(
            answer, session_id=session_id, request_id=requestlog.request_id()
        )
        # The agent logs its slate under its own id, which feedback events must echo: the
        # trailer says the same id as the body (as Recommend does for a caller-chosen id).
        if response.request_id != requestlog.request_id():
            context.set_trailing_metadata(((REQUEST_ID_HEADER, response.request_id),))
            requestlog.annotate(request_id=response.request_id)
        return response


__all__ = ["AGENT_MAX_K", "DiscoveryServicer", "answer_size"]
