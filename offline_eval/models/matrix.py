"""The user-item matrix the baselines share, and a base class for models that score the whole
catalog for a batch of users."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from offline_eval.models.base import ModelSpec, Slates

if TYPE_CHECKING:
    from offline_eval.datasets import EvalDataset
    from offline_eval.splits import Split

_BATCH = 256
_BATCH_CELLS = 8_000_000
"""Users per scoring batch shrink so a batch's dense scores stay near this many cells (a
200k-item catalog scores 40 users at a time, not 256 x 200k float64 = 400 MB)."""


@dataclass(frozen=True, kw_only=True)
class InteractionMatrix:
    """Training pairs as a users x items CSR matrix over the whole catalog.

    Attributes:
        user_ids: row ids.
        item_ids: column ids (the catalog, in ``items`` order).
        weights: raw summed weights (e.g. play counts).
        user_index: user id -> row.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    weights: sp.csr_matrix
    user_index: dict[str, int]

    @classmethod
    def build(cls, interactions: pd.DataFrame, item_ids: Sequence[str]) -> InteractionMatrix:
        """Build from interactions (``user_id``, ``item_id``, ``weight``) and the catalog ids."""
        items = np.asarray(item_ids, dtype=object)
        item_pos = pd.Index(items)
        users = np.asarray(sorted(interactions["user_id"].astype(str).unique()), dtype=object)
        rows = pd.Index(users).get_indexer(interactions["user_id"].astype(str))
        cols = item_pos.get_indexer(interactions["item_id"].astype(str))
        keep = cols >= 0
        data = interactions["weight"].to_numpy(dtype=np.float64)[keep]
        matrix = sp.csr_matrix(
            (data, (rows[keep], cols[keep])), shape=(len(users), len(items)), dtype=np.float64
        )
        matrix.sum_duplicates()
        return cls(
            user_ids=users,
            item_ids=items,
            weights=matrix,
            user_index={u: i for i, u in enumerate(users)},
        )

    def binary(self) -> sp.csr_matrix:
        """1 where the user interacted with the item."""
        out = self.weights.copy()
        out.data = np.ones_like(out.data)
        return out

    def log_scaled(self) -> sp.csr_matrix:
        """``1 + log1p(weight)``: damps heavy play counts, keeps every interaction positive."""
        out = self.weights.copy()
        out.data = 1.0 + np.log1p(np.maximum(out.data, 0.0))
        return out


def top_k_rows(scores: np.ndarray, seen: sp.csr_matrix, k: int) -> list[list[tuple[int, float]]]:
    """Best ``k`` finite-scored columns per row, excluding ``seen`` (same shape, nonzero = seen)."""
    scores = np.array(scores, dtype=np.result_type(scores.dtype, np.float32), copy=True)
    coo = seen.tocoo()
    scores[coo.row, coo.col] = -np.inf
    k_eff = min(k, scores.shape[1])
    part = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff]
    out: list[list[tuple[int, float]]] = []
    for r in range(scores.shape[0]):
        cand = part[r]
        vals = scores[r, cand]
        order = np.lexsort((cand, -vals))
        out.append([(int(cand[j]), float(vals[j])) for j in order if np.isfinite(vals[j])])
    return out


class ScoringRecommender:
    """Base for models that score every catalog item for a batch of users.

    Subclasses implement :meth:`_fit_matrix` and :meth:`_score`; this class handles ids, seen
    items and batching. Unknown users get an empty list.
    """

    name: str = "scoring"

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self._matrix: InteractionMatrix | None = None

    @property
    def matrix(self) -> InteractionMatrix:
        """The training matrix (after ``fit``)."""
        if self._matrix is None:
            raise RuntimeError(f"{self.name}: call fit() before recommend()")
        return self._matrix

    def fit(self, train: EvalDataset, split: Split) -> None:
        """Build the training matrix over the catalog and fit the model on it."""
        self._matrix = InteractionMatrix.build(train.interactions, train.items["item_id"])
        self._fit_matrix(self._matrix)

    def recommend(self, user_ids: Sequence[str], k: int) -> Slates:
        """Top-``k`` unseen items per known user, best first."""
        m = self.matrix
        out: Slates = {u: [] for u in user_ids}
        rows = [(u, m.user_index[u]) for u in user_ids if u in m.user_index]
        size = max(1, min(_BATCH, _BATCH_CELLS // max(len(m.item_ids), 1)))
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            idx = np.array([r for _, r in batch], dtype=np.int64)
            scores = self._score(idx)
            for (user, _), best in zip(batch, top_k_rows(scores, m.weights[idx], k), strict=True):
                out[user] = [(str(m.item_ids[c]), s) for c, s in best]
        return out

    def _fit_matrix(self, matrix: InteractionMatrix) -> None:
        raise NotImplementedError

    def _score(self, rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError


__all__ = ["InteractionMatrix", "ScoringRecommender", "top_k_rows"]
