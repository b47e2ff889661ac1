"""Item-kNN baseline: cosine similarity between items' listener sets, top neighbours kept."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from offline_eval.models.base import ModelSpec
from offline_eval.models.matrix import InteractionMatrix, ScoringRecommender


def prune_rows(sim: sp.csr_matrix, neighbours: int) -> sp.csr_matrix:
    """Keep the ``neighbours`` largest entries of each row of a sparse similarity matrix."""
    sim = sim.tocsr()
    indptr, indices, data = sim.indptr, sim.indices, sim.data
    keep = np.zeros(len(data), dtype=bool)
    for r in range(sim.shape[0]):
        lo, hi = indptr[r], indptr[r + 1]
        if hi - lo <= neighbours:
            keep[lo:hi] = True
        else:
            top = np.argpartition(-data[lo:hi], neighbours - 1)[:neighbours]
            keep[lo + top] = True
    rows = np.repeat(np.arange(sim.shape[0]), np.diff(indptr))
    return sp.csr_matrix((data[keep], (rows[keep], indices[keep])), shape=sim.shape)


class ItemKnnRecommender(ScoringRecommender):
    """Score(u, i) = sum over the user's items j of cos(j, i), with each item's top-N neighbours.

    Options: ``neighbours`` (default 100), ``shrink`` (default 10).
    """

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self.neighbours = int(spec.options.get("neighbours", 100))
        self.shrink = float(spec.options.get("shrink", 10.0))

    def _fit_matrix(self, matrix: InteractionMatrix) -> None:
        x = matrix.binary().tocsc()
        norms = np.sqrt(np.asarray(x.sum(axis=0)).ravel())
        sim = (x.T @ x).tocoo()
        # shrinkage damps cosine 1.0 between items that share a single listener
        sim.data = sim.data / (norms[sim.row] * norms[sim.col] + self.shrink)
        sim = sim.tocsr()
        sim.setdiag(0.0)
        sim.eliminate_zeros()
        # row j holds item j's nearest neighbours: each item a user has votes for its own
        self._sim = prune_rows(sim, self.neighbours)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        x = self.matrix.binary()[rows]
        scores = np.asarray((x @ self._sim).todense())
        return np.where(scores > 0, scores, -np.inf)


__all__ = ["ItemKnnRecommender", "prune_rows"]
