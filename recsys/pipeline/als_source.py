"""The build's implicit ALS as a served candidate source and reranker feature.

The collaborative space (``vectors/collab``) is normalised and mixed into the fused space, which
serves similarity, not the ALS preference score itself. :class:`AlsScorer` scores every track
with the listener's ALS vector, folded in at request time from their current history against
the build's item factors (``vectors/collab_als.npy``) with the implicit-feedback normal
equations (Hu, Koren & Volinsky 2008), so a listener whose history changed since the build,
or who is new, gets the same kind of score as one the build saw:

``u = (YᵀY + Y_hᵀ (C_h − I) Y_h + λI)⁻¹ Y_hᵀ C_h 1``,  ``score = Y u``

with ``Y`` the item factors, ``h`` the history rows and ``C_h = 1 + α·log 2`` (one play each).
Per request this is one ``f × f`` solve and one catalog-length product (17k × 64 on HetRec).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recsys.pipeline.context import ListenerContext
from recsys.pipeline.item_graph import load_graphs

if TYPE_CHECKING:
    from recsys.embeddings.config import AlsConfig
    from recsys.pipeline.candidates import ExternalScorer

ALS_FILE = "vectors/collab_als.npy"


@dataclass
class AlsScorer:
    """Fold-in ALS scores as an :class:`~recsys.pipeline.candidates.ExternalScorer`."""

    item_factors: np.ndarray
    regularization: float = 0.05
    alpha: float = 10.0
    name: str = "als"
    _gram: np.ndarray = field(init=False, repr=False)
    _played: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        y = np.asarray(self.item_factors, dtype=np.float64)
        self._gram = y.T @ y
        self._played = np.any(self.item_factors != 0, axis=1)

    def user_vector(self, rows: np.ndarray) -> np.ndarray:
        """The folded-in listener vector for history ``rows``."""
        y = np.asarray(self.item_factors[rows], dtype=np.float64)
        c = 1.0 + self.alpha * np.log(2.0)
        f = self._gram.shape[0]
        a = self._gram + (c - 1.0) * (y.T @ y) + self.regularization * np.eye(f)
        return np.linalg.solve(a, c * y.sum(axis=0))

    def score_all(self, ctx: ListenerContext) -> np.ndarray:
        """Scores for every catalog row (0 for tracks without ALS factors)."""
        n = len(self.item_factors)
        rows = ctx.history_rows[ctx.history_rows < n]
        rows = rows[self._played[rows]]
        if len(rows) == 0:
            return np.zeros(n, np.float32)
        scores = self.item_factors @ self.user_vector(rows).astype(np.float32)
        return np.where(self._played, scores, 0.0).astype(np.float32)


def load_als(
    directory: Path, n_tracks: int, regularization: float, alpha: float
) -> list[AlsScorer]:
    """The build's ALS item factors as a scorer (none when absent or of another catalog)."""
    path = directory / ALS_FILE
    if not path.is_file():
        return []
    factors = np.load(path, allow_pickle=False)
    if factors.ndim != 2 or len(factors) != n_tracks:
        return []
    return [AlsScorer(factors.astype(np.float32), regularization=regularization, alpha=alpha)]


def collaborative_scorers(directory: Path, n_tracks: int, als: AlsConfig) -> list[ExternalScorer]:
    """The item graphs and the ALS scorer an artifact directory holds, in the order the
    reranker was trained with (the build's reranker step and serving both load them here)."""
    return [
        *load_graphs(directory, n_tracks),
        *load_als(directory, n_tracks, als.regularization, als.alpha),
    ]


__all__ = ["ALS_FILE", "AlsScorer", "collaborative_scorers", "load_als"]
