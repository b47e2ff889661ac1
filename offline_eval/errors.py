"""Errors the offline evaluation harness raises on purpose."""

from __future__ import annotations

from recsys.errors import LinerError


class EvalError(LinerError):
    """An evaluation cannot run as asked (bad option, unusable dataset, unknown model)."""


class DatasetError(EvalError):
    """A dataset folder or adapter input is missing or malformed."""


class LeakageError(EvalError):
    """A test interaction is visible in training: every figure computed on it would be wrong."""


__all__ = ["DatasetError", "EvalError", "LeakageError"]
