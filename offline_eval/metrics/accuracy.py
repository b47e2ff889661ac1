"""Accuracy at K per listener, computed by ranx (not hand-written)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from offline_eval.metrics.context import MetricContext
from offline_eval.models.base import Slates

ACCURACY_METRICS: tuple[str, ...] = ("ndcg", "recall", "map", "mrr", "hit_rate")


def accuracy_per_user(ctx: MetricContext, slates: Slates) -> pd.DataFrame:
    """ndcg@k, recall@k, map@k, mrr@k and hit_rate@k per test user (binary relevance).

    Users with an empty slate score 0. Ranks follow the slate order exactly (ranx gets strictly
    decreasing scores, so ties in model scores cannot reorder it).
    """
    from ranx import Qrels, Run, evaluate

    k = ctx.k
    names = [f"{m}@{k}" for m in ACCURACY_METRICS]
    out = pd.DataFrame(0.0, index=ctx.users, columns=names)
    rel = ctx.relevance
    qrels: dict[str, dict[str, int]] = {}
    run: dict[str, dict[str, float]] = {}
    for r, user in enumerate(ctx.users):
        slate = slates.get(user, [])[:k]
        truth = ctx.item_ids[rel.indices[rel.indptr[r] : rel.indptr[r + 1]]]
        if not slate or len(truth) == 0:
            continue
        qrels[user] = {str(i): 1 for i in truth}
        run[user] = {item: float(k - pos) for pos, (item, _) in enumerate(slate)}
    if not run:
        return out
    with warnings.catch_warnings():
        # numba's type-safety notice inside ranx; the casts are of small non-negative ints
        warnings.simplefilter("ignore")
        scores = evaluate(Qrels(qrels), Run(run), names, return_mean=False, make_comparable=True)
    ids = list(Qrels(qrels).keys())
    for name in names:
        out.loc[ids, name] = np.asarray(scores[name], dtype=np.float64)
    return out


__all__ = ["ACCURACY_METRICS", "accuracy_per_user"]
