"""EASE baseline (Steck 2019): closed-form item-item weights B = I - P / diag(P),
P = (X'X + λI)^-1.

The Gram matrix is dense, so EASE is fitted on the ``max_items`` most popular training items
(default 5,000; the inverse is cubic in it) and scores nothing outside them. λ defaults to 500,
the value Steck reports for data of this density; pass ``--model-option l2=…`` to change it.
"""

from __future__ import annotations

import logging

import numpy as np

from offline_eval.models.base import ModelSpec
from offline_eval.models.matrix import InteractionMatrix, ScoringRecommender

logger = logging.getLogger(__name__)


class EaseRecommender(ScoringRecommender):
    """Options: ``l2`` (λ, default 500), ``max_items`` (default 5000)."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self.l2 = float(spec.options.get("l2", 500.0))
        self.max_items = int(spec.options.get("max_items", 5000))

    def _fit_matrix(self, matrix: InteractionMatrix) -> None:
        x = matrix.binary().tocsc()
        counts = np.asarray(x.sum(axis=0)).ravel()
        order = np.argsort(-counts, kind="stable")
        vocab = order[: self.max_items]
        vocab = np.sort(vocab[counts[vocab] > 0])
        sub = x[:, vocab]
        gram = (sub.T @ sub).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += self.l2
        p = np.linalg.inv(gram)
        b = -p / np.diag(p)
        b[np.diag_indices_from(b)] = 0.0
        self._vocab = vocab
        self._b = b.astype(np.float32)
        logger.info("EASE fitted on %d items (lambda %.0f)", len(vocab), self.l2)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        x = self.matrix.binary()[rows][:, self._vocab]
        scores = np.full((len(rows), len(self.matrix.item_ids)), -np.inf)
        scores[:, self._vocab] = np.asarray(x @ self._b)
        return scores


__all__ = ["EaseRecommender"]
