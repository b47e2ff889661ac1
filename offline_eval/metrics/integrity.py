"""Integrity figures per slate: leakage of flagged items and completeness of AI labels."""

from __future__ import annotations

import numpy as np

from offline_eval.metrics.context import MetricContext


def integrity_leakage(ctx: MetricContext, cols: np.ndarray) -> np.ndarray:
    """Share of slate slots (out of k) holding items the dataset flags (quarantine, spam,
    imitation). An empty slot leaks nothing."""
    mask = cols >= 0
    flagged = np.where(mask, ctx.flagged[np.where(mask, cols, 0)], False)
    return flagged.sum(axis=1) / ctx.k


def label_completeness(ctx: MetricContext, cols: np.ndarray) -> np.ndarray:
    """Share of slate items whose AI-involvement label is disclosed (not ``UNDISCLOSED``)."""
    mask = cols >= 0
    disclosed = np.where(mask, ctx.disclosed[np.where(mask, cols, 0)], False)
    n = mask.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, disclosed.sum(axis=1) / np.maximum(n, 1), np.nan)


__all__ = ["integrity_leakage", "label_completeness"]
