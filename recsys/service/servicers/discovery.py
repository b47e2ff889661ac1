"""DiscoveryService: one turn of a conversation with the discovery agent."""

from __future__ import annotations

import grpc

from recsys.api.v1 import discovery_pb2 as pbd
from recsys.api.v1 import discovery_pb2_grpc as pbd_grpc
from recsys.service import convert, requestlog
from recsys.service import validation as v
from recsys.service.calls import REQUEST_ID_HEADER
from recsys.service.errors import NotAvailableError
from recsys.service.servicers.deps import ServiceDeps, ensure_active


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
        agent = self._deps.conversation
        if agent is None:
            raise NotAvailableError("the discovery agent is not installed on this server")
        answer = agent.ask(message, listener_id=listener_id, session_id=session_id or None)
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


__all__ = ["DiscoveryServicer"]
