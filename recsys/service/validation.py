"""Request limits and field checks; every failure names the field (INVALID_ARGUMENT)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from recsys.domain.limits import (
    MAX_ID_CHARS,
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
    id_problem,
    text_problem,
)
from recsys.service.errors import RequestError

MAX_K = 200
"""Largest slate a caller may ask for."""
DEFAULT_K = 10
"""Slate size when the request leaves ``k`` at 0."""
MAX_QUERY_CHARS = 512
MAX_MESSAGE_CHARS = 2000
MAX_REASON_CHARS = MAX_NAME_CHARS
MAX_CONTEXT_TRACKS = 100
MAX_GENRES = 50
MAX_EXCLUDED_TRACKS = 500
MAX_TAGS = 100
MAX_CREDITS = 50
MAX_BATCH = 1000
"""Largest batch of events, tracks or artists in one call."""

T = TypeVar("T")


def text(field: str, value: str, max_chars: int, *, required: bool = False) -> str:
    """A free-text field: bounded length, no control characters except newline and tab
    (:func:`recsys.domain.limits.text_problem`, the rule ingest applies too)."""
    if required and not value.strip():
        raise RequestError(field, "is required")
    problem = text_problem(value, max_chars)
    if problem is not None:
        raise RequestError(field, problem)
    return value


def identifier(field: str, value: str, *, required: bool = True) -> str:
    """An id: non-blank when required, at most 128 characters, no control characters."""
    if not value:
        if required:
            raise RequestError(field, "is required")
        return value
    problem = id_problem(value)
    if problem is not None:
        raise RequestError(field, problem)
    return value


def request_id(field: str, value: str) -> str:
    """A caller-chosen request id (may be empty): an :func:`identifier` of visible ASCII only,
    because it is echoed back as the ``x-request-id`` trailer, and metadata is ASCII."""
    identifier(field, value, required=False)
    if value and not all(33 <= ord(ch) <= 126 for ch in value):
        raise RequestError(
            field,
            "must be visible ASCII (letters, digits, punctuation; no spaces), because it is "
            "echoed in the x-request-id trailer; a UUID is a good choice",
        )
    return value


def timestamp(field: str, value: Any) -> datetime:
    """A protobuf ``Timestamp`` as an aware UTC datetime.

    Raises:
        RequestError: the seconds or nanos are outside what a timestamp may hold
            (0001-01-01 to 9999-12-31).
    """
    try:
        return value.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise RequestError(
            field,
            f"is out of range (seconds={value.seconds}, nanos={value.nanos}); a timestamp "
            "must lie between 0001-01-01 and 9999-12-31 UTC with 0 <= nanos < 1e9",
        ) from exc


def identifiers(field: str, values: Sequence[str], max_items: int) -> tuple[str, ...]:
    """A list of ids, each checked, at most ``max_items``."""
    bounded(field, values, max_items)
    return tuple(identifier(f"{field}[{i}]", v) for i, v in enumerate(values))


def bounded(field: str, values: Sequence[T], max_items: int, *, required: bool = False) -> None:
    """A repeated field's size is within ``1..max_items`` (or ``0..`` when optional)."""
    if required and not values:
        raise RequestError(field, "must not be empty")
    if len(values) > max_items:
        raise RequestError(field, f"has {len(values)} items; the limit is {max_items}")


def slate_size(field: str, k: int) -> int:
    """``k`` within 1..MAX_K; 0 means the default."""
    if k == 0:
        return DEFAULT_K
    if k < 0 or k > MAX_K:
        raise RequestError(field, f"must be between 1 and {MAX_K} (got {k})")
    return k


def finite(field: str, value: float, *, low: float, high: float) -> float:
    """A finite number within ``[low, high]``."""
    if not math.isfinite(value) or not low <= value <= high:
        raise RequestError(field, f"must be a number between {low} and {high} (got {value})")
    return value


def enum_value(field: str, value: int, mapping: Mapping[int, T], *, allow_unset: bool = False) -> T:
    """Map a protobuf enum number to its domain value; unknown numbers are refused."""
    if value in mapping:
        return mapping[value]
    if value == 0 and not allow_unset:
        raise RequestError(field, "is required (UNSPECIFIED given)")
    raise RequestError(field, f"has an unknown value {value}")


__all__ = [
    "DEFAULT_K",
    "MAX_BATCH",
    "MAX_CONTEXT_TRACKS",
    "MAX_CREDITS",
    "MAX_EXCLUDED_TRACKS",
    "MAX_GENRES",
    "MAX_ID_CHARS",
    "MAX_K",
    "MAX_MESSAGE_CHARS",
    "MAX_QUERY_CHARS",
    "MAX_REASON_CHARS",
    "MAX_TAGS",
    "MAX_TEXT_CHARS",
    "bounded",
    "enum_value",
    "finite",
    "identifier",
    "identifiers",
    "request_id",
    "slate_size",
    "text",
    "timestamp",
]
