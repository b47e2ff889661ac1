"""AdminService: atomic artifact and experiment reloads."""

from __future__ import annotations

from pathlib import Path

import grpc

from recsys.api.v1 import admin_pb2 as pba
from recsys.api.v1 import admin_pb2_grpc as pba_grpc
from recsys.service import convert, requestlog
from recsys.service import validation as v
from recsys.service.servicers.deps import ServiceDeps


class AdminServicer(pba_grpc.AdminServiceServicer):
    """A failed reload leaves the previous artifacts serving."""

    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps

    def ReloadArtifacts(  # noqa: N802
        self, request: pba.ReloadArtifactsRequest, context: grpc.ServicerContext
    ) -> pba.ReloadArtifactsResponse:
        raw = v.text("artifact_dir", request.artifact_dir, 4096)
        # Counted in liner_artifact_reloads by the state's on_load, as are followed reloads.
        loaded = self._deps.state.reload_requested(Path(raw) if raw else None)
        requestlog.annotate(artifacts=loaded.version, load_ms=round(loaded.load_ms, 1))
        return pba.ReloadArtifactsResponse(
            artifact_dir=str(loaded.artifact_dir),
            version=loaded.version,
            loaded_at=convert.timestamp(loaded.loaded_at),
            load_ms=loaded.load_ms,
        )

    def ReloadExperiments(  # noqa: N802
        self, request: pba.ReloadExperimentsRequest, context: grpc.ServicerContext
    ) -> pba.ReloadExperimentsResponse:
        names = self._deps.state.load_experiments()
        requestlog.annotate(experiments=names)
        return pba.ReloadExperimentsResponse(experiments=names)


__all__ = ["AdminServicer"]
