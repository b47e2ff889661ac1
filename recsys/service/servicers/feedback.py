"""FeedbackService: batched, idempotent feedback events from authenticated senders.

Events are metered and paid, so who sent them matters: the auth interceptor has required a
feedback token (the app backend, for any listener), a listener token (for its own listener
only) or, on a demo server, allowed anonymous calls. Every event keeps its sender (the
principal's actor) and the store stamps its own receipt time; the event's ``at`` stays the
client's claim. A batch is checked whole before anything is written: one event for another
listener, or for a track the catalog does not hold, refuses the batch.
"""

from __future__ import annotations

from datetime import UTC, datetime

import grpc

from recsys.api.v1 import feedback_pb2 as pbf
from recsys.api.v1 import feedback_pb2_grpc as pbf_grpc
from recsys.domain import FeedbackEvent
from recsys.errors import UnknownReferenceError
from recsys.service import convert, requestlog
from recsys.service import validation as v
from recsys.service.auth import current_principal, require_own_listener
from recsys.service.servicers.deps import ServiceDeps
from recsys.store import Store


class FeedbackServicer(pbf_grpc.FeedbackServiceServicer):
    """Stores events; an event id already stored (or repeated in the batch) is a duplicate."""

    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps

    def LogEvents(  # noqa: N802
        self, request: pbf.LogEventsRequest, context: grpc.ServicerContext
    ) -> pbf.LogEventsResponse:
        v.bounded("events", request.events, v.MAX_BATCH, required=True)
        principal = current_principal()
        now = datetime.now(UTC)
        events = [
            convert.feedback_event(e, f"events[{i}]", now=now, sender=principal.actor)
            for i, e in enumerate(request.events)
        ]
        for i, event in enumerate(events):
            require_own_listener(principal, f"events[{i}].listener_id", event.listener_id)
        store = self._deps.require_store()
        check_tracks(store, events)
        accepted = store.add_events(events)
        duplicates = len(events) - accepted
        requestlog.annotate(events=len(events), accepted=accepted, sender=principal.actor)
        return pbf.LogEventsResponse(accepted=accepted, duplicates=duplicates)


def check_tracks(store: Store, events: list[FeedbackEvent]) -> None:
    """Refuse a batch with an event of a track the catalog does not hold.

    Raises:
        UnknownReferenceError: the first such event, naming its field.
    """
    unknown = store.unknown_ids("tracks", {e.track_id for e in events})
    if not unknown:
        return
    i, event = next((i, e) for i, e in enumerate(events) if e.track_id in unknown)
    raise UnknownReferenceError(
        field=f"events[{i}].track_id",
        value=event.track_id,
        kind="track",
        fix=(
            f"add the track to the catalog first (CatalogService.UpsertTracks or liner ingest), "
            f"or drop the event; {len(unknown)} unknown track id(s) in this batch"
        ),
    )


__all__ = ["FeedbackServicer", "check_tracks"]
