"""The one mapping from Liner Notes exceptions to gRPC status codes."""

from __future__ import annotations

import logging

import grpc

from recsys.errors import (
    ArtifactError,
    CatalogError,
    ConfigError,
    ConsentError,
    LinerError,
    NotFoundError,
    PermissionDeniedError,
    StoreError,
    ValidationError,
)
from recsys.service.errors import (
    DeadlineError,
    NotAvailableError,
    NotServingError,
    OverloadedError,
    RequestError,
    UnauthenticatedError,
)

logger = logging.getLogger(__name__)

# Most specific first: the first matching class wins (ValidationError is a CatalogError).
STATUS_BY_ERROR: tuple[tuple[type[LinerError], grpc.StatusCode], ...] = (
    (RequestError, grpc.StatusCode.INVALID_ARGUMENT),
    (ValidationError, grpc.StatusCode.INVALID_ARGUMENT),
    (NotFoundError, grpc.StatusCode.NOT_FOUND),
    (UnauthenticatedError, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED),
    (OverloadedError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (NotServingError, grpc.StatusCode.UNAVAILABLE),
    (StoreError, grpc.StatusCode.UNAVAILABLE),
    (DeadlineError, grpc.StatusCode.DEADLINE_EXCEEDED),
    (NotAvailableError, grpc.StatusCode.UNIMPLEMENTED),
    (ConsentError, grpc.StatusCode.FAILED_PRECONDITION),
    (ArtifactError, grpc.StatusCode.FAILED_PRECONDITION),
    (ConfigError, grpc.StatusCode.FAILED_PRECONDITION),
    (CatalogError, grpc.StatusCode.INVALID_ARGUMENT),
)


def status_for(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """The status code and client-facing message for an exception.

    Unexpected exceptions become INTERNAL with a generic message: their text may hold paths or
    data the client must not see, so it goes to the log only.
    """
    for error_type, code in STATUS_BY_ERROR:
        if isinstance(exc, error_type):
            return code, str(exc)
    if isinstance(exc, LinerError):
        return grpc.StatusCode.INTERNAL, str(exc)
    logger.exception("unexpected error in a call", exc_info=exc)
    return grpc.StatusCode.INTERNAL, "internal error; see the server log"


__all__ = ["STATUS_BY_ERROR", "status_for"]
