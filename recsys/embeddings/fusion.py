"""Fusion of text, audio and collaborative vectors into one space, and the PCA reducer.

``fuse`` concatenates ``sqrt(w_m) ×`` each L2-normalised modality and normalises the result, so
the inner product of two fused vectors is the weighted mean of the per-modality cosines
(renormalised when a modality is missing on one side). Listener vectors use the same recipe on
the listener's ALS factors and the mean text and audio of what they played, so listener →
track and track → track share one index.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from recsys.errors import ArtifactError


def normalise_rows(x: np.ndarray) -> np.ndarray:
    """L2-normalise rows; zero rows stay zero."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def fuse(parts: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """Weighted concatenation of normalised modality blocks, L2-normalised (pure function).

    Args:
        parts: modality name -> ``n × d_m`` rows (zero rows where the modality is missing).
        weights: modality name -> non-negative weight; modalities with weight 0 are dropped.
    """
    blocks = [
        np.sqrt(float(weights.get(name, 0.0))) * normalise_rows(x)
        for name, x in sorted(parts.items())
        if weights.get(name, 0.0) > 0
    ]
    if not blocks:
        raise ValueError("fusion needs at least one modality with a positive weight")
    return normalise_rows(np.concatenate(blocks, axis=1))


class PcaReducer:
    """Standardise (optionally) and project onto the top principal components.

    Fitted only on rows the build may learn from (tracks whose rights holders grant
    ``ai_training``); applied to every row.
    """

    def __init__(self, *, mean: np.ndarray, scale: np.ndarray, components: np.ndarray) -> None:
        self.mean = np.asarray(mean, dtype=np.float32)
        self.scale = np.asarray(scale, dtype=np.float32)
        self.components = np.asarray(components, dtype=np.float32)

    @property
    def dim(self) -> int:
        """Output dimensions."""
        return int(self.components.shape[1])

    @classmethod
    def fit(cls, x: np.ndarray, dim: int, *, standardise: bool = False) -> PcaReducer:
        """Fit on ``n × d`` rows, keeping at most ``dim`` components."""
        x = np.asarray(x, dtype=np.float64)
        mean = x.mean(axis=0) if len(x) else np.zeros(x.shape[1])
        scale = x.std(axis=0) if standardise and len(x) else np.ones(x.shape[1])
        scale = np.where(scale > 1e-8, scale, 1.0)
        z = (x - mean) / scale
        if len(x) >= 2:
            keep = max(1, min(dim, x.shape[1], len(x) - 1))
            _, _, vt = np.linalg.svd(z, full_matrices=False)
            components = vt[:keep].T
        else:
            # Nothing we may learn from: a fixed, data-independent truncation.
            components = np.eye(x.shape[1])[:, : min(dim, x.shape[1])]
        return cls(mean=mean, scale=scale, components=components)

    def transform(self, x: np.ndarray, *, keep_zero_rows: bool = True) -> np.ndarray:
        """Projected rows; all-zero input rows (missing modality) stay zero."""
        x = np.asarray(x, dtype=np.float32)
        out = ((x - self.mean) / self.scale) @ self.components
        if keep_zero_rows:
            out[~np.any(x, axis=1)] = 0.0
        return out.astype(np.float32)

    def save(self, path: Path) -> None:
        """Write an ``.npz`` (no pickle)."""
        with Path(path).open("wb") as f:
            np.savez(f, mean=self.mean, scale=self.scale, components=self.components)

    @classmethod
    def load(cls, path: Path) -> PcaReducer:
        """Read a file written by :meth:`save`."""
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(mean=data["mean"], scale=data["scale"], components=data["components"])
        except (OSError, KeyError, ValueError) as exc:
            raise ArtifactError(f"cannot read PCA reducer {path}: {exc}") from exc


__all__ = ["PcaReducer", "fuse", "normalise_rows"]
