"""The one mapping from Liner Notes exceptions to gRPC status codes, and what a client may read.

Whose fault it is decides the code: the caller's data (INVALID_ARGUMENT, FAILED_PRECONDITION,
NOT_FOUND; retrying unchanged cannot help), the caller's credentials (UNAUTHENTICATED,
PERMISSION_DENIED) or the server's state (UNAVAILABLE, RESOURCE_EXHAUSTED; worth a retry).

No message leaves the server with a file system path in it: a store failure's detail goes to
the server log under the request id and the client gets a generic message with that id, and
every other message has absolute paths and the server's configured paths replaced.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import grpc

from recsys.errors import (
    ArtifactError,
    CatalogError,
    ConfigError,
    ConsentError,
    ConstraintError,
    LinerError,
    NotFoundError,
    PermissionDeniedError,
    StoreError,
    UnknownReferenceError,
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

# Most specific first: the first matching class wins (ValidationError is a CatalogError,
# ConstraintError a StoreError).
STATUS_BY_ERROR: tuple[tuple[type[LinerError], grpc.StatusCode], ...] = (
    (RequestError, grpc.StatusCode.INVALID_ARGUMENT),
    (ValidationError, grpc.StatusCode.INVALID_ARGUMENT),
    (UnknownReferenceError, grpc.StatusCode.FAILED_PRECONDITION),
    (NotFoundError, grpc.StatusCode.NOT_FOUND),
    (UnauthenticatedError, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED),
    (OverloadedError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (NotServingError, grpc.StatusCode.UNAVAILABLE),
    (ConstraintError, grpc.StatusCode.FAILED_PRECONDITION),
    (StoreError, grpc.StatusCode.UNAVAILABLE),
    (DeadlineError, grpc.StatusCode.DEADLINE_EXCEEDED),
    (NotAvailableError, grpc.StatusCode.UNIMPLEMENTED),
    (ConsentError, grpc.StatusCode.FAILED_PRECONDITION),
    (ArtifactError, grpc.StatusCode.FAILED_PRECONDITION),
    (ConfigError, grpc.StatusCode.FAILED_PRECONDITION),
    (CatalogError, grpc.StatusCode.INVALID_ARGUMENT),
)

# An absolute POSIX path (/var/x, ~/x) or a Windows one (C:\x), not preceded by a word
# character (so "a/b" and "1/2" stay) and not a gRPC method name (/linernotes.v1.X/Y); a
# sentence's ':' or '.' after it is kept.
_ABSOLUTE_PATH = re.compile(
    r"(?<![\w.:/\\-])(?:~?/(?!linernotes\.v1\.|grpc\.)|[A-Za-z]:\\)"
    r"[^\s'\"(),;`\]]+?(?=[:.]?(?:[\s'\"(),;`\]]|$))"  # a trailing ':' or '.' stays
)
PATH_PLACEHOLDER = "<path>"


class MessageRedactor:
    """Removes file system paths from messages sent to clients.

    Args:
        known_paths: paths the server was configured with (store, artifacts, experiments),
            removed as given, including relative ones the pattern cannot recognise. A bare
            name without a separator (``experiments``) is left alone: it is also a word.
    """

    def __init__(self, known_paths: Iterable[str] = ()) -> None:
        paths = {p for p in known_paths if len(p) > 2 and ("/" in p or "\\" in p)}
        self._known = sorted(paths, key=len, reverse=True)

    def __call__(self, message: str) -> str:
        for path in self._known:
            message = message.replace(path, PATH_PLACEHOLDER)
        return _ABSOLUTE_PATH.sub(PATH_PLACEHOLDER, message)


_NO_PATHS = MessageRedactor()


def status_for(
    exc: BaseException, request_id: str = "", redact: MessageRedactor = _NO_PATHS
) -> tuple[grpc.StatusCode, str]:
    """The status code and client-facing message for an exception.

    Unexpected exceptions become INTERNAL and store failures UNAVAILABLE, each with a generic
    message and the request id: their text may hold paths or data the client must not see, so
    it goes to the log only. A constraint the written data broke is FAILED_PRECONDITION.
    """
    ref = f" (request id {request_id})" if request_id else ""
    for error_type, code in STATUS_BY_ERROR:
        if isinstance(exc, error_type):
            if error_type is StoreError:
                logger.error("store error%s: %s", ref, exc)
                return code, (
                    f"the store could not complete the call; nothing of it was written. "
                    f"Retry later; the server log has the details{ref}"
                )
            if error_type is ConstraintError:
                logger.warning("constraint refused a write%s: %s", ref, exc)
                return code, (
                    "the write breaks a rule of the store (a reference to something that does "
                    "not exist, or an append-only record) and was rolled back; retrying it "
                    f"unchanged cannot succeed. Fix the data; the server log has the details{ref}"
                )
            return code, redact(str(exc))
    if isinstance(exc, LinerError):
        logger.error("unmapped error%s: %s", ref, exc)
        return grpc.StatusCode.INTERNAL, redact(str(exc))
    logger.exception("unexpected error in a call%s", ref, exc_info=exc)
    return grpc.StatusCode.INTERNAL, f"internal error; see the server log{ref}"


__all__ = ["PATH_PLACEHOLDER", "STATUS_BY_ERROR", "MessageRedactor", "status_for"]
