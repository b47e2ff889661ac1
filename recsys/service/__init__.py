"""The gRPC service: server, servicers, security, limits, metrics and a Python client.

The names below are imported on first use, so ``recsys.service.client`` (and a command that
only calls a running service, like ``liner agent``) does not load the server, the pipeline and
the integrity screens.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recsys.service.client import LinerClient
    from recsys.service.metrics import ServiceMetrics
    from recsys.service.server import SERVICE_NAMES, LinerServer
    from recsys.service.servicers import ServiceDeps
    from recsys.service.state import LoadedArtifacts, ServingState, verify_artifacts
    from recsys.service.tokens import ListenerTokens, mint_listener_token

_WHERE = {
    "SERVICE_NAMES": "recsys.service.server",
    "LinerClient": "recsys.service.client",
    "LinerServer": "recsys.service.server",
    "ListenerTokens": "recsys.service.tokens",
    "LoadedArtifacts": "recsys.service.state",
    "ServiceDeps": "recsys.service.servicers",
    "ServiceMetrics": "recsys.service.metrics",
    "ServingState": "recsys.service.state",
    "mint_listener_token": "recsys.service.tokens",
    "verify_artifacts": "recsys.service.state",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'recsys.service' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


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
