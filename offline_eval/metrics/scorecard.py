"""One model's metrics, kept per listener so any resample of listeners can be re-scored.

Every metric is a function of a weight per test listener (1 for the plain figure, bootstrap
counts for a resample): per-listener means, ratios of per-listener sums, or catalog-level
figures of the weighted exposure (coverage, Gini). That keeps bootstrap intervals and paired
comparisons exact for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from offline_eval.metrics.accuracy import accuracy_per_user
from offline_eval.metrics.beyond import (
    average_popularity,
    intra_list_diversity,
    long_tail_share,
    novelty,
)
from offline_eval.metrics.context import MetricContext
from offline_eval.metrics.fairness import (
    artist_matrix,
    exposure_matrix,
    gini,
    group_exposure,
    group_relevance,
)
from offline_eval.metrics.integrity import integrity_leakage, label_completeness
from offline_eval.models.base import Slates

_CHUNK = 64


@dataclass(frozen=True, kw_only=True)
class Scorecard:
    """A model's per-listener metric inputs.

    Attributes:
        per_user: users x metrics, NaN where undefined (means over defined users).
        exposure: users x items position-weighted exposure.
        artist_exposure: users x artists exposure.
        group_exp: users x groups exposure; ``total_exp`` users' total exposure.
        emerging_exp: users' exposure to emerging human artists.
        group_rel: users x groups relevant test items.
        groups: provider group names.
    """

    per_user: pd.DataFrame
    exposure: sp.csr_matrix
    artist_exposure: sp.csr_matrix
    group_exp: np.ndarray
    total_exp: np.ndarray
    emerging_exp: np.ndarray
    group_rel: np.ndarray
    groups: tuple[str, ...]
    n_items: int

    @property
    def mean_metrics(self) -> list[str]:
        """Names of the per-listener mean metrics."""
        return list(self.per_user.columns)

    def evaluate(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """All metrics for each row of ``weights`` (resamples x users)."""
        w = np.atleast_2d(weights).astype(np.float64)
        out: dict[str, np.ndarray] = {}
        values = self.per_user.to_numpy(dtype=np.float64)
        defined = ~np.isnan(values)
        num = w @ np.where(defined, values, 0.0)
        den = w @ defined.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = num / den
        for j, name in enumerate(self.per_user.columns):
            out[name] = means[:, j]
        total = w @ self.total_exp
        gexp = w @ self.group_exp
        grel = w @ self.group_rel
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = gexp / total[:, None]
            rel_shares = grel / grel.sum(axis=1, keepdims=True)
            for j, g in enumerate(self.groups):
                out[f"{g}_exposure_share"] = shares[:, j]
                out[f"{g}_exposure_vs_relevance"] = shares[:, j] / rel_shares[:, j]
            out["emerging_exposure_share"] = (w @ self.emerging_exp) / total
        coverage = np.empty(w.shape[0])
        artist_gini = np.empty(w.shape[0])
        for start in range(0, w.shape[0], _CHUNK):
            chunk = w[start : start + _CHUNK]
            item_exp = np.asarray(self.exposure.T @ chunk.T).T
            coverage[start : start + _CHUNK] = (item_exp > 0).sum(axis=1) / self.n_items
            art_exp = np.asarray(self.artist_exposure.T @ chunk.T).T
            artist_gini[start : start + _CHUNK] = gini(art_exp)
        out["coverage"] = coverage
        out["artist_exposure_gini"] = artist_gini
        # a group with no relevant test items has no exposure-vs-relevance ratio
        return {m: np.where(np.isfinite(v), v, np.nan) for m, v in out.items()}


def score_slates(ctx: MetricContext, slates: Slates) -> Scorecard:
    """Turn a model's slates for ``ctx.users`` into a :class:`Scorecard`."""
    ranks, cols = ctx.slate_matrix(slates)
    per_user = accuracy_per_user(ctx, slates)
    per_user["novelty"] = novelty(ctx, cols)
    per_user["intra_list_diversity"] = intra_list_diversity(ctx, cols)
    per_user["arp"] = average_popularity(ctx, cols)
    per_user["aplt"] = long_tail_share(ctx, cols)
    per_user["label_completeness"] = label_completeness(ctx, cols)
    if ctx.has_integrity_truth:
        per_user[f"integrity_leakage@{ctx.k}"] = integrity_leakage(ctx, cols)
    exposure = exposure_matrix(ranks)
    emerging = np.asarray(exposure @ ctx.emerging.astype(np.float64)).ravel()
    return Scorecard(
        per_user=per_user,
        exposure=exposure.tocsc(),
        artist_exposure=(exposure @ artist_matrix(ctx)).tocsc(),
        group_exp=group_exposure(ctx, exposure),
        total_exp=np.asarray(exposure.sum(axis=1)).ravel(),
        emerging_exp=emerging,
        group_rel=group_relevance(ctx),
        groups=ctx.groups,
        n_items=len(ctx.item_ids),
    )


__all__ = ["Scorecard", "score_slates"]
