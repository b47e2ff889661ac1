"""Content → collaborative projection, so tracks with no plays land near the right neighbours.

A ridge regression from a track's content vector (reduced text + audio) to its ALS factors,
fitted on tracks that have enough plays *and* whose rights holders grant ``ai_training``;
applied to every track that lacks a usable collaborative vector.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from recsys.errors import ArtifactError, ConfigError

logger = logging.getLogger(__name__)


class ContentProjection:
    """Ridge regression ``y ≈ (x - x_mean) W + y_mean``, closed form with numpy.

    Example:
        >>> proj = ContentProjection.fit(content[train], collab[train], alpha=1.0)
        >>> cold_vectors = proj.predict(content[cold])
    """

    def __init__(self, *, weights: np.ndarray, x_mean: np.ndarray, y_mean: np.ndarray) -> None:
        self.weights = np.asarray(weights, dtype=np.float32)
        self.x_mean = np.asarray(x_mean, dtype=np.float32)
        self.y_mean = np.asarray(y_mean, dtype=np.float32)

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, *, alpha: float = 1.0) -> ContentProjection:
        """Fit on ``n × d`` content rows and ``n × f`` targets.

        Raises:
            ConfigError: with fewer than two rows (nothing to learn from; grant ai_training
                or add listening data).
        """
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if len(x) < 2 or len(x) != len(y):
            raise ConfigError(
                f"cannot fit the content projection on {len(x)} tracks: it needs at least two "
                "tracks with plays whose rights holders grant ai_training"
            )
        x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
        xc, yc = x - x_mean, y - y_mean
        gram = xc.T @ xc + alpha * np.eye(x.shape[1])
        weights = np.linalg.solve(gram, xc.T @ yc)
        return cls(weights=weights, x_mean=x_mean, y_mean=y_mean)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Projected rows (float32)."""
        out = (np.asarray(x, dtype=np.float32) - self.x_mean) @ self.weights + self.y_mean
        return out.astype(np.float32)

    def save(self, path: Path) -> None:
        """Write an ``.npz`` (no pickle)."""
        with Path(path).open("wb") as f:
            np.savez(f, weights=self.weights, x_mean=self.x_mean, y_mean=self.y_mean)

    @classmethod
    def load(cls, path: Path) -> ContentProjection:
        """Read a file written by :meth:`save`."""
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(weights=data["weights"], x_mean=data["x_mean"], y_mean=data["y_mean"])
        except (OSError, KeyError, ValueError) as exc:
            raise ArtifactError(f"cannot read content projection {path}: {exc}") from exc


__all__ = ["ContentProjection"]
