"""RightsService: the consent ledger, metering reports and quarantine release.

The auth interceptor has already required the ``rights`` or ``admin`` role; the caller's
identity is written into every ledger entry and quarantine decision.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import grpc

from recsys.api.v1 import rights_pb2 as pbg
from recsys.api.v1 import rights_pb2_grpc as pbg_grpc
from recsys.domain import ConsentAction, ConsentEntry
from recsys.errors import NotFoundError
from recsys.integrity.quarantine import release_track
from recsys.service import convert, requestlog
from recsys.service import validation as v
from recsys.service.auth import current_principal
from recsys.service.errors import NotAvailableError
from recsys.service.servicers.deps import ServiceDeps


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
            at=datetime.now(UTC),
        )
        self._deps.require_store().append_consent([entry])
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
        report = self._deps.metering(self._deps.require_store(), holder or None)
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


__all__ = ["RightsServicer"]
