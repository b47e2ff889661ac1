"""Metrics: accuracy (ranx), beyond-accuracy, provider fairness and integrity, per listener."""

from __future__ import annotations

from offline_eval.metrics.accuracy import ACCURACY_METRICS, accuracy_per_user
from offline_eval.metrics.beyond import (
    average_popularity,
    intra_list_diversity,
    long_tail_share,
    novelty,
)
from offline_eval.metrics.context import MetricContext, item_features
from offline_eval.metrics.fairness import exposure_matrix, gini, group_exposure
from offline_eval.metrics.integrity import integrity_leakage, label_completeness
from offline_eval.metrics.scorecard import Scorecard, score_slates

__all__ = [
    "ACCURACY_METRICS",
    "MetricContext",
    "Scorecard",
    "accuracy_per_user",
    "average_popularity",
    "exposure_matrix",
    "gini",
    "group_exposure",
    "integrity_leakage",
    "intra_list_diversity",
    "item_features",
    "label_completeness",
    "long_tail_share",
    "novelty",
    "score_slates",
]
