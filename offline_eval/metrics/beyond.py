"""Beyond-accuracy metrics per listener: novelty, intra-list diversity, popularity bias."""

from __future__ import annotations

import numpy as np

from offline_eval.metrics.context import MetricContext


def novelty(ctx: MetricContext, cols: np.ndarray) -> np.ndarray:
    """Mean self-information ``-log2 p(i)`` of slate items, p = (listeners + 1) / (users + 1)."""
    p = (ctx.popularity + 1.0) / (ctx.n_train_users + 1.0)
    info = -np.log2(p)
    return _slate_mean(info, cols)


def average_popularity(ctx: MetricContext, cols: np.ndarray) -> np.ndarray:
    """ARP: mean number of training listeners of the slate items."""
    return _slate_mean(ctx.popularity, cols)


def long_tail_share(ctx: MetricContext, cols: np.ndarray) -> np.ndarray:
    """APLT: share of slate items outside the short head."""
    return _slate_mean(ctx.long_tail.astype(np.float64), cols)


def intra_list_diversity(ctx: MetricContext, cols: np.ndarray) -> np.ndarray:
    """ILD: mean pairwise cosine distance between slate items' vectors (tags + audio).

    Items without any feature are left out; a slate with fewer than two featured items is NaN.
    """
    out = np.full(cols.shape[0], np.nan)
    if ctx.features is None:
        return out
    has = np.asarray(ctx.features.getnnz(axis=1) > 0)
    for r in range(cols.shape[0]):
        c = cols[r][cols[r] >= 0]
        c = c[has[c]]
        n = len(c)
        if n < 2:
            continue
        f = ctx.features[c]
        sim = (f @ f.T).toarray()
        out[r] = 1.0 - (sim.sum() - np.trace(sim)) / (n * (n - 1))
    return out


def _slate_mean(values: np.ndarray, cols: np.ndarray) -> np.ndarray:
    mask = cols >= 0
    vals = np.where(mask, values[np.where(mask, cols, 0)], 0.0)
    n = mask.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, vals.sum(axis=1) / np.maximum(n, 1), np.nan)


__all__ = ["average_popularity", "intra_list_diversity", "long_tail_share", "novelty"]
