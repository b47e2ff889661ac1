"""ExperimentService: a listener's variant assignment."""

from __future__ import annotations

import grpc

from recsys.api.v1 import experiments_pb2 as pbx
from recsys.api.v1 import experiments_pb2_grpc as pbx_grpc
from recsys.service import convert
from recsys.service import validation as v
from recsys.service.servicers.deps import ServiceDeps


class ExperimentServicer(pbx_grpc.ExperimentServiceServicer):
    """Answers with the same assignment ``Recommend`` uses."""

    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps

    def GetAssignment(  # noqa: N802
        self, request: pbx.GetAssignmentRequest, context: grpc.ServicerContext
    ) -> pbx.Assignment:
        listener_id = v.identifier("listener_id", request.listener_id)
        return convert.assignment_pb(listener_id, self._deps.state.assign(listener_id))


__all__ = ["ExperimentServicer"]
