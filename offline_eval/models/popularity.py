"""Most-popular baseline: items ranked by how many training listeners they have."""

from __future__ import annotations

import numpy as np

from offline_eval.models.matrix import InteractionMatrix, ScoringRecommender


class PopularityRecommender(ScoringRecommender):
    """Recommends the items with the most distinct training listeners (ties: catalog order)."""

    def _fit_matrix(self, matrix: InteractionMatrix) -> None:
        counts = np.asarray(matrix.binary().sum(axis=0)).ravel()
        # items nobody played are never recommended: -inf keeps them out of every slate
        self._scores = np.where(counts > 0, counts, -np.inf).astype(np.float32)  # exact counts

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self._scores, (len(rows), self._scores.shape[0]))


__all__ = ["PopularityRecommender"]
