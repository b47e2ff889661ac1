"""Implicit ALS baseline (Hu, Koren & Volinsky 2008) via ``implicit``'s CPU solver.

Confidence is ``alpha * (1 + log1p(weight))`` so heavy play counts do not swamp the rest.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from offline_eval.models.base import ModelSpec
from offline_eval.models.matrix import InteractionMatrix, ScoringRecommender


class AlsRecommender(ScoringRecommender):
    """Options: ``factors`` (64), ``regularization`` (0.05), ``iterations`` (15), ``alpha`` (2)."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        opts = spec.options
        self.factors = int(opts.get("factors", 64))
        self.regularization = float(opts.get("regularization", 0.05))
        self.iterations = int(opts.get("iterations", 15))
        self.alpha = float(opts.get("alpha", 2.0))

    def _fit_matrix(self, matrix: InteractionMatrix) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        conf = (matrix.log_scaled() * self.alpha).astype(np.float32).tocsr()
        # implicit parallelises itself; a BLAS thread pool underneath it only oversubscribes
        # (and implicit warns about one when the model is created outside this limit)
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                iterations=self.iterations,
                random_state=self.spec.seed,
                num_threads=max(1, self.spec.threads),
                calculate_training_loss=False,
            )
            model.fit(conf, show_progress=False)
        self._users = np.asarray(model.user_factors, dtype=np.float32)
        self._items = np.asarray(model.item_factors, dtype=np.float32)
        played = np.asarray(matrix.binary().sum(axis=0)).ravel() > 0
        self._played = played

    def _score(self, rows: np.ndarray) -> np.ndarray:
        scores = (self._users[rows] @ self._items.T).astype(np.float64)
        # items no training listener played have untrained (random) factors
        scores[:, ~self._played] = -np.inf
        return scores


__all__ = ["AlsRecommender"]
