"""Provider fairness: position-weighted exposure by provenance group and artist.

Exposure of the item at 1-based rank r is ``1 / log2(r + 1)`` (the DCG discount), so the top
slot counts 1.0 and the tenth 0.29.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from offline_eval.metrics.context import MetricContext


def exposure_matrix(ranks: sp.csr_matrix) -> sp.csr_matrix:
    """Users x items position-weighted exposure from a matrix of 1-based ranks."""
    out = ranks.copy().astype(np.float64)
    out.data = 1.0 / np.log2(out.data + 1.0)
    return out


def group_exposure(ctx: MetricContext, exposure: sp.csr_matrix) -> np.ndarray:
    """Users x groups exposure (columns follow ``ctx.groups``)."""
    onehot = sp.csr_matrix(
        (np.ones(len(ctx.group_codes)), (np.arange(len(ctx.group_codes)), ctx.group_codes)),
        shape=(len(ctx.group_codes), len(ctx.groups)),
    )
    return np.asarray((exposure @ onehot).todense())


def group_relevance(ctx: MetricContext) -> np.ndarray:
    """Users x groups count of relevant test items."""
    dense = np.zeros((ctx.relevance.shape[0], len(ctx.groups)))
    coo = ctx.relevance.tocoo()
    np.add.at(dense, (coo.row, ctx.group_codes[coo.col]), coo.data)
    return dense


def artist_matrix(ctx: MetricContext) -> sp.csr_matrix:
    """Items x artists indicator."""
    n = len(ctx.artist_codes)
    return sp.csr_matrix((np.ones(n), (np.arange(n), ctx.artist_codes)), shape=(n, ctx.n_artists))


def gini(values: np.ndarray) -> np.ndarray:
    """Gini coefficient of each row (0 = equal exposure, → 1 = all on one); NaN when all zero.

    Example:
        >>> float(gini(np.array([[0.0, 0.0, 0.0, 1.0]]))[0])
        0.75
    """
    x = np.sort(np.atleast_2d(values), axis=1)
    n = x.shape[1]
    total = x.sum(axis=1)
    idx = np.arange(1, n + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = (2.0 * (x * idx).sum(axis=1)) / (n * total) - (n + 1.0) / n
    return np.where(total > 0, g, np.nan)


__all__ = ["artist_matrix", "exposure_matrix", "gini", "group_exposure", "group_relevance"]
