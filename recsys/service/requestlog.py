"""One structured JSON log line per request, with its request id.

Servicers add fields to the current request's line with :func:`annotate`; the
:class:`~recsys.service.calls.CallInterceptor` writes it when the call ends.
"""

from __future__ import annotations

import contextvars
import json
import logging
from typing import Any

logger = logging.getLogger(__name__)

_fields: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "liner_request_fields", default=None
)


def begin(request_id: str, method: str) -> contextvars.Token[dict[str, Any] | None]:
    """Start collecting fields for a request (called by the interceptor)."""
    return _fields.set({"request_id": request_id, "method": method})


def request_id() -> str:
    """The id of the request running in this thread ('' outside a request)."""
    fields = _fields.get()
    return str(fields["request_id"]) if fields else ""


def annotate(**fields: Any) -> None:
    """Add fields to the current request's log line (ignored outside a request)."""
    current = _fields.get()
    if current is not None:
        current.update(fields)


def enabled() -> bool:
    """Whether request lines are written (INFO enabled for this logger): when not, the
    interceptor skips building the line."""
    return logger.isEnabledFor(logging.INFO)


def finish(token: contextvars.Token[dict[str, Any] | None], **fields: Any) -> dict[str, Any]:
    """Write the line at INFO and stop collecting; returns what was logged."""
    line = _fields.get() or {}
    line.update(fields)
    _fields.reset(token)
    if logger.isEnabledFor(logging.INFO):
        logger.info("%s", json.dumps(line, sort_keys=True, default=str))
    return line


def discard(token: contextvars.Token[dict[str, Any] | None]) -> None:
    """Stop collecting without writing (request lines are off)."""
    _fields.reset(token)


__all__ = ["annotate", "begin", "discard", "enabled", "finish", "request_id"]
