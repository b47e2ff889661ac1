"""RecommendationService: ranked, labelled slates."""

from __future__ import annotations

import grpc

from recsys.api.v1 import recommendation_pb2 as pbr
from recsys.api.v1 import recommendation_pb2_grpc as pbr_grpc
from recsys.service import convert, requestlog
from recsys.service import validation as v
from recsys.service.calls import REQUEST_ID_HEADER
from recsys.service.servicers.deps import ServiceDeps, ensure_active


class RecommendationServicer(pbr_grpc.RecommendationServiceServicer):
    """Validates, resolves the listener's variant, runs the pipeline, converts the slate.

    The caller's deadline is checked between stages, so work stops once nobody waits for it.
    """

    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps

    def Recommend(  # noqa: N802
        self, request: pbr.RecommendRequest, context: grpc.ServicerContext
    ) -> pbr.RecommendResponse:
        listener_id = v.identifier("listener_id", request.listener_id)
        loaded = self._deps.state.current()
        assignment = self._deps.state.assign(listener_id)
        domain = convert.recommend_request(
            request, request_id=requestlog.request_id(), assignment=assignment
        )
        if domain.request_id != requestlog.request_id():
            context.set_trailing_metadata(((REQUEST_ID_HEADER, domain.request_id),))
        ensure_active(context)
        recommendation = loaded.recommender.recommend(domain)
        ensure_active(context)
        self._deps.metrics.observe_slate(recommendation)
        self._deps.metrics.observe_exposures(assignment.exposures)
        requestlog.annotate(
            request_id=domain.request_id,
            listener_id=listener_id,
            variant=recommendation.variant,
            surface=domain.surface,
            k=domain.k,
            items=len(recommendation.items),
            artifacts=loaded.version,
        )
        return convert.recommendation_pb(recommendation)


__all__ = ["RecommendationServicer"]
