"""RightsService: the consent ledger, metering reports, quarantine release/confirmation and
decisions on disputed AI declarations.

The auth interceptor has already required the ``rights`` or ``admin`` role; the caller's
identity is written into every ledger entry, quarantine decision and dispute decision. A
consent change is in force from the moment the store appends it (its ledger position),
whatever time the caller states for it; a stated time ahead of the service clock is refused.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc

from recsys.api.v1 import rights_pb2 as pbg
from recsys.api.v1 import rights_pb2_grpc as pbg_grpc
from recsys.domain import AiInvolvement, ConsentAction, ConsentEntry, future_dated
from recsys.errors import NotFoundError
from recsys.integrity.allocation import decimal_to_micro
from recsys.integrity.disputes import resolve_dispute
from recsys.integrity.quarantine import confirm_quarantine, release_track
from recsys.service import convert, requestlog
from recsys.service import validation as v
from recsys.service.auth import current_principal
from recsys.service.errors import NotAvailableError, RequestError
from recsys.service.servicers.deps import ServiceDeps


def service_clock() -> datetime:
    """The service's clock (UTC); tests patch it."""
    return datetime.now(UTC)


def stated_time(request: pbg.ConsentChangeRequest, now: datetime, skew: timedelta) -> datetime:
    """The effective time a consent change states, ``now`` when unset.

    Raises:
        RequestError: the stated time is later than ``now`` plus ``skew``.
    """
    if not request.HasField("effective_at"):
        return now
    at = v.timestamp("effective_at", request.effective_at)
    if future_dated(at, now, skew):
        raise RequestError(
            "effective_at",
            f"{at.isoformat()} is in the future (later than the service clock plus "
            f"{skew.total_seconds():g} s of clock skew). Fix: give the time the change took "
            "effect, now or earlier, or leave it unset for now",
        )
    return at


class RightsServicer(pbg_grpc.RightsServiceServicer):
    """Consent changes are appended, never edited; they apply on the next request."""

    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps

    def _change(self, request: pbg.ConsentChangeRequest, action: ConsentAction) -> pbg.ConsentEntry:
        entry = ConsentEntry(
            entry_id=uuid.uuid4().hex,
            rights_holder_id=v.identifier("rights_holder_id", request.rights_holder_id),
            scope=convert.consent_scope(request),
            action=action,
            actor=current_principal().actor,
            reason=v.text("reason", request.reason, v.MAX_REASON_CHARS),
            at=stated_time(request, service_clock(), self._deps.consent_skew),
        )
        # The store assigns the ledger position and receipt time inside its write transaction.
        appended = self._deps.require_store().append_consent([entry])
        entry = appended[0] if appended else entry
        self._deps.metrics.consent_changes.labels(action.value).inc()
        requestlog.annotate(
            rights_holder_id=entry.rights_holder_id, scope=entry.scope.value, action=action.value
        )
        return convert.consent_entry_pb(entry)

    def GrantConsent(  # noqa: N802
        self, request: pbg.ConsentChangeRequest, context: grpc.ServicerContext
    ) -> pbg.ConsentEntry:
        return self._change(request, ConsentAction.GRANT)

    def RevokeConsent(  # noqa: N802
        self, request: pbg.ConsentChangeRequest, context: grpc.ServicerContext
    ) -> pbg.ConsentEntry:
        return self._change(request, ConsentAction.REVOKE)

    def ConsentHistory(  # noqa: N802
        self, request: pbg.ConsentHistoryRequest, context: grpc.ServicerContext
    ) -> pbg.ConsentHistoryResponse:
        holder = v.identifier("rights_holder_id", request.rights_holder_id, required=False)
        entries = self._deps.require_store().consent_ledger(holder or None)
        return pbg.ConsentHistoryResponse(entries=[convert.consent_entry_pb(e) for e in entries])

    def MeteringReport(  # noqa: N802
        self, request: pbg.MeteringReportRequest, context: grpc.ServicerContext
    ) -> pbg.MeteringReportResponse:
        holder = v.identifier("rights_holder_id", request.rights_holder_id, required=False)
        if self._deps.metering is None:
            raise NotAvailableError("metering reports are not installed on this server")
        store = self._deps.require_store()
        if request.pool:
            try:
                decimal_to_micro(request.pool)
            except (ValueError, ArithmeticError) as exc:
                raise RequestError(
                    "pool",
                    f"{request.pool[:40]!r} is not an amount. Fix: a non-negative decimal "
                    "with at most 6 places, e.g. 10000.00",
                ) from exc
            report = self._deps.metering(store, holder or None, request.pool)
        else:
            report = self._deps.metering(store, holder or None)
        return convert.metering_pb(report)

    def ReleaseQuarantine(  # noqa: N802
        self, request: pbg.ReleaseQuarantineRequest, context: grpc.ServicerContext
    ) -> pbg.ReleaseQuarantineResponse:
        track_id = v.identifier("track_id", request.track_id)
        reason = v.text("reason", request.reason, v.MAX_REASON_CHARS, required=True)
        store = self._deps.require_store()
        if store.get_track(track_id) is None:
            raise NotFoundError(f"track_id: no track {track_id!r}")
        if track_id not in store.quarantined_ids():
            return pbg.ReleaseQuarantineResponse(track_id=track_id, released=False)
        release_track(store, track_id, actor=current_principal().actor, reason=reason)
        self._deps.metrics.quarantine_releases.inc()
        requestlog.annotate(track_id=track_id, released=True)
        return pbg.ReleaseQuarantineResponse(track_id=track_id, released=True)

    def ConfirmQuarantine(  # noqa: N802
        self, request: pbg.ConfirmQuarantineRequest, context: grpc.ServicerContext
    ) -> pbg.ConfirmQuarantineResponse:
        track_id = v.identifier("track_id", request.track_id)
        reason = v.text("reason", request.reason, v.MAX_REASON_CHARS, required=True)
        store = self._deps.require_store()
        if store.get_track(track_id) is None:
            raise NotFoundError(f"track_id: no track {track_id!r}")
        record = confirm_quarantine(store, track_id, current_principal().actor, reason)
        requestlog.annotate(track_id=track_id, confirmed=record is not None)
        return pbg.ConfirmQuarantineResponse(track_id=track_id, confirmed=record is not None)

    def ResolveDispute(  # noqa: N802
        self, request: pbg.ResolveDisputeRequest, context: grpc.ServicerContext
    ) -> pbg.ResolveDisputeResponse:
        track_id = v.identifier("track_id", request.track_id)
        label = v.enum_value("label", request.label, convert.INVOLVEMENT)
        if label is AiInvolvement.UNDISCLOSED:
            raise RequestError("label", "decide NONE, ASSISTED or GENERATED, not UNDISCLOSED")
        reason = v.text("reason", request.reason, v.MAX_REASON_CHARS, required=True)
        store = self._deps.require_store()
        track = store.get_track(track_id)
        if track is None:
            raise NotFoundError(f"track_id: no track {track_id!r}")
        resolved = track_id in store.disputed_ids()
        if resolved:
            resolve_dispute(
                store, track_id, label=label, actor=current_principal().actor, reason=reason
            )
            track = store.get_track(track_id) or track
        requestlog.annotate(track_id=track_id, resolved=resolved)
        return pbg.ResolveDisputeResponse(
            track_id=track_id,
            resolved=resolved,
            ai_label=convert.ai_label_pb(track.provenance),
        )

    def ListQuarantine(  # noqa: N802
        self, request: pbg.ListQuarantineRequest, context: grpc.ServicerContext
    ) -> pbg.ListQuarantineResponse:
        holder = v.identifier("rights_holder_id", request.rights_holder_id, required=False)
        limit = request.limit or 100
        if not 1 <= limit <= MAX_QUARANTINE_LISTED:
            raise RequestError("limit", f"must be between 1 and {MAX_QUARANTINE_LISTED}")
        store = self._deps.require_store()
        held = store.quarantined_ids()
        tracks: list[pbg.QuarantinedTrack] = []
        for track_id in held:
            track = store.get_track(track_id)
            if track is None:
                continue
            if holder:
                artists = (store.get_artist(a) for a in track.artist_ids)
                if not any(a is not None and a.rights_holder_id == holder for a in artists):
                    continue
            decided = [r for r in store.quarantine_history(track_id) if r.quarantined]
            last = decided[-1] if decided else None
            tracks.append(
                pbg.QuarantinedTrack(
                    track_id=track_id,
                    title=track.title,
                    reasons=list(last.reasons) if last else [],
                    evidence=dict(last.evidence) if last else {},
                    actor=last.actor if last else "",
                    at=convert.timestamp(last.at) if last else None,
                    artist_ids=list(track.artist_ids),
                )
            )
        tracks.sort(key=lambda t: (-t.at.seconds, t.track_id))
        requestlog.annotate(listed=min(len(tracks), limit))
        return pbg.ListQuarantineResponse(tracks=tracks[:limit], total=len(held))


MAX_QUARANTINE_LISTED = 500


__all__ = ["MAX_QUARANTINE_LISTED", "RightsServicer"]
