"""The gRPC service: server, servicers, security, limits, metrics and a Python client."""

from recsys.service.client import LinerClient
from recsys.service.metrics import ServiceMetrics
from recsys.service.server import SERVICE_NAMES, LinerServer
from recsys.service.servicers import ServiceDeps
from recsys.service.state import LoadedArtifacts, ServingState, verify_artifacts
from recsys.service.tokens import ListenerTokens, mint_listener_token

__all__ = [
    "SERVICE_NAMES",
    "LinerClient",
    "LinerServer",
    "ListenerTokens",
    "LoadedArtifacts",
    "ServiceDeps",
    "ServiceMetrics",
    "ServingState",
    "mint_listener_token",
    "verify_artifacts",
]
