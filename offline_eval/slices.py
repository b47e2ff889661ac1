"""Per-slice results: accuracy by listener activity and by item popularity."""

from __future__ import annotations

import numpy as np

from offline_eval.metrics.context import MetricContext
from offline_eval.metrics.scorecard import Scorecard

BUCKETS: tuple[str, ...] = ("low", "mid", "high")


def _terciles(values: np.ndarray) -> np.ndarray:
    """Bucket index 0/1/2 by tercile (ties stay together)."""
    if len(values) == 0:
        return np.zeros(0, dtype=int)
    lo, hi = np.quantile(values, [1 / 3, 2 / 3])
    return np.where(values <= lo, 0, np.where(values <= hi, 1, 2))


def activity_slices(ctx: MetricContext, card: Scorecard) -> dict[str, dict[str, float]]:
    """ndcg@k and recall@k by the listener's training activity (tercile of training pairs)."""
    bucket = _terciles(ctx.activity)
    out: dict[str, dict[str, float]] = {}
    for b, label in enumerate(BUCKETS):
        mask = bucket == b
        row = {"listeners": float(mask.sum())}
        for metric in (f"ndcg@{ctx.k}", f"recall@{ctx.k}"):
            row[metric] = (
                float(np.nanmean(card.per_user[metric].to_numpy()[mask]))
                if mask.any()
                else float("nan")
            )
        out[label] = row
    return out


def popularity_slices(ctx: MetricContext, card: Scorecard) -> dict[str, dict[str, float]]:
    """Recall@k of held-out pairs by the item's training popularity (head 20% / mid / tail).

    Head holds the most popular items covering 20% of training interactions (as for APLT);
    mid and tail split the remaining items with any training listener at their median; items
    without training listeners are in the tail.
    """
    rel = ctx.relevance.tocoo()
    hit = np.asarray(card.exposure.tocsr()[rel.row, rel.col]).ravel() > 0
    pop = ctx.popularity
    positive = pop[ctx.long_tail & (pop > 0)]
    cut = float(np.median(positive)) if positive.size else 0.0
    item_bucket = np.where(~ctx.long_tail, 0, np.where(pop > cut, 1, 2))
    labels = ("head", "mid", "tail")
    out: dict[str, dict[str, float]] = {}
    pair_bucket = item_bucket[rel.col]
    for b, label in enumerate(labels):
        mask = pair_bucket == b
        n = int(mask.sum())
        out[label] = {
            "test_pairs": float(n),
            f"recall@{ctx.k}": float(hit[mask].mean()) if n else float("nan"),
        }
    return out


__all__ = ["BUCKETS", "activity_slices", "popularity_slices"]
