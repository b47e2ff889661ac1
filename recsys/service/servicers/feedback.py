"""FeedbackService: batched, idempotent feedback events."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc

from recsys.api.v1 import feedback_pb2 as pbf
from recsys.api.v1 import feedback_pb2_grpc as pbf_grpc
from recsys.service import convert, requestlog
from recsys.service import validation as v
from recsys.service.servicers.deps import ServiceDeps


class FeedbackServicer(pbf_grpc.FeedbackServiceServicer):
    """Stores events; an event id already stored (or repeated in the batch) is a duplicate."""

    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps

    def LogEvents(  # noqa: N802
        self, request: pbf.LogEventsRequest, context: grpc.ServicerContext
    ) -> pbf.LogEventsResponse:
        v.bounded("events", request.events, v.MAX_BATCH, required=True)
        now = datetime.now(UTC)
        events = [
            convert.feedback_event(e, f"events[{i}]", now=now) for i, e in enumerate(request.events)
        ]
        store = self._deps.require_store()
        accepted = store.add_events(events)
        duplicates = len(events) - accepted
        requestlog.annotate(events=len(events), accepted=accepted)
        return pbf.LogEventsResponse(accepted=accepted, duplicates=duplicates)


__all__ = ["FeedbackServicer"]
