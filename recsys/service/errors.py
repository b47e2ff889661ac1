"""Errors the service layer raises on top of :mod:`recsys.errors`; ``status.py`` maps them."""

from __future__ import annotations

from recsys.errors import LinerError


class RequestError(LinerError):
    """A request field is invalid (INVALID_ARGUMENT); the message names the field.

    Attributes:
        field: dotted path of the offending field (``filters.genres[3]``).
        problem: what is wrong with it.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class NotServingError(LinerError):
    """The server has no artifacts loaded yet, or is shutting down (UNAVAILABLE)."""


class UnauthenticatedError(LinerError):
    """The call needs a bearer token and has none or an unknown one (UNAUTHENTICATED)."""


class OverloadedError(LinerError):
    """Too many calls in flight (RESOURCE_EXHAUSTED); retry with backoff."""


class DeadlineError(LinerError):
    """The caller's deadline passed or it cancelled before the work was done."""


class NotAvailableError(LinerError):
    """The feature is not part of this server (UNIMPLEMENTED), e.g. no agent installed."""


__all__ = [
    "DeadlineError",
    "NotAvailableError",
    "NotServingError",
    "OverloadedError",
    "RequestError",
    "UnauthenticatedError",
]
