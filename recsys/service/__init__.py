"""The gRPC service: server, servicers, security, limits, metrics and a Python client."""

from recsys.service.client import LinerClient
from recsys.service.metrics import ServiceMetrics
from recsys.service.server import SERVICE_NAMES, LinerServer
from recsys.service.servicers import ServiceDeps
from recsys.service.state import LoadedArtifacts, ServingState, verify_artifacts

__all__ = [
    "SERVICE_NAMES",
    "LinerClient",
    "LinerServer",
    "LoadedArtifacts",
    "ServiceDeps",
    "ServiceMetrics",
    "ServingState",
    "verify_artifacts",
]
