"""Content → collaborative projection, so tracks with no plays land near the right neighbours.

Fitted on tracks that have enough plays *and* whose rights holders grant ``ai_training``;
applied to every track that lacks a usable collaborative vector. Two mappings:

- :class:`KnnProjection` (default): the similarity-weighted mean of the ALS factors of the
  track's ``k`` nearest fitted tracks in content space. On HetRec Last.fm, where content
  (artist names, tags, audio for a quarter of the artists) relates to co-listening only
  locally, it retrieves held-out artists' co-listening neighbours as well as plain content kNN,
  where the linear map barely beats random (``python -m benchmarks.modalities``).
- :class:`ContentProjection`: a ridge regression, the cheaper global linear map.

:func:`select_projection` picks between them (and their parameter) per catalog, by how well
each places held-out warm tracks among their ALS neighbours; :func:`load_projection` reads
either from its ``.npz``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from recsys.embeddings.config import ProjectionConfig
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


class KnnProjection:
    """Similarity-weighted mean of the targets of the ``k`` nearest fitted rows (cosine).

    Example:
        >>> proj = KnnProjection.fit(content[train], als_factors[train], neighbours=20)
        >>> cold_vectors = proj.predict(content[cold])
    """

    def __init__(self, *, keys: np.ndarray, targets: np.ndarray, neighbours: int) -> None:
        self.keys = np.ascontiguousarray(keys, dtype=np.float32)
        self.targets = np.asarray(targets, dtype=np.float32)
        self.neighbours = int(neighbours)

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, *, neighbours: int = 20) -> KnnProjection:
        """Keep the unit content rows ``x`` and their targets ``y`` (raw ALS factors).

        Raises:
            ConfigError: with fewer than two rows (grant ai_training or add listening data).
        """
        if len(x) < 2 or len(x) != len(y):
            raise ConfigError(
                f"cannot fit the content projection on {len(x)} tracks: it needs at least two "
                "tracks with plays whose rights holders grant ai_training"
            )
        return cls(keys=_unit(x), targets=y, neighbours=neighbours)

    def predict(self, x: np.ndarray, *, batch: int = 4096) -> np.ndarray:
        """Projected rows (float32); rows with no positively similar neighbour are zero."""
        import faiss

        index = faiss.IndexFlatIP(self.keys.shape[1])
        index.add(self.keys)
        k = min(self.neighbours, len(self.keys))
        q = _unit(x)
        out = np.zeros((len(q), self.targets.shape[1]), dtype=np.float32)
        for s in range(0, len(q), batch):
            sims, rows = index.search(np.ascontiguousarray(q[s : s + batch]), k)
            w = np.clip(sims, 0.0, None)
            w /= np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
            out[s : s + batch] = np.einsum("qk,qkf->qf", w, self.targets[rows])
        return out

    def save(self, path: Path) -> None:
        """Write an ``.npz`` (no pickle)."""
        with Path(path).open("wb") as f:
            np.savez(f, keys=self.keys, targets=self.targets, neighbours=self.neighbours)

    @classmethod
    def load(cls, path: Path) -> KnnProjection:
        """Read a file written by :meth:`save`."""
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(
                    keys=data["keys"], targets=data["targets"], neighbours=int(data["neighbours"])
                )
        except (OSError, KeyError, ValueError) as exc:
            raise ArtifactError(f"cannot read content projection {path}: {exc}") from exc


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


Projection = ContentProjection | KnnProjection
CANDIDATES: tuple[tuple[str, float], ...] = (
    *(("knn", k) for k in (5, 10, 20, 50)),
    *(("ridge", a) for a in (0.1, 1.0, 10.0, 100.0)),
)
"""``(method, parameter)`` pairs :func:`select_projection` tries: neighbours k or ridge alpha."""


def _make(method: str, param: float, x: np.ndarray, y: np.ndarray) -> Projection:
    if method == "ridge":
        return ContentProjection.fit(x, y, alpha=param)
    return KnnProjection.fit(x, y, neighbours=int(param))


def select_projection(
    x: np.ndarray,
    y: np.ndarray,
    *,
    candidates: tuple[tuple[str, float], ...] = CANDIDATES,
    holdout: int = 300,
    neighbours: int = 20,
    seed: int = 0,
) -> tuple[Projection, dict[str, float]]:
    """Choose the mapping by validation, then refit it on every row.

    Holds out up to ``holdout`` rows (at most a fifth), fits each candidate on the rest, and
    scores it by how many of a held row's ``neighbours`` nearest fitted rows by cosine of the
    *true* target the predicted target retrieves (mean precision).

    Returns:
        The chosen mapping fitted on all rows, and ``{"knn:20": precision, ...}``.

    Raises:
        ConfigError: with fewer than two rows.
    """
    n = len(x)
    n_held = min(holdout, n // 5)
    if n_held < 2 or n - n_held <= neighbours:
        method, param = candidates[0] if candidates else ("knn", 20)
        return _make(method, param, x, y), {}
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    held, rest = order[:n_held], order[n_held:]
    space = _unit(y[rest])
    k = min(neighbours, len(rest))
    truth = np.argpartition(-(_unit(y[held]) @ space.T), k, axis=1)[:, :k]
    scores: dict[str, float] = {}
    for method, param in candidates:
        pred = _make(method, param, x[rest], y[rest]).predict(x[held])
        found = np.argpartition(-(_unit(pred) @ space.T), k, axis=1)[:, :k]
        hits = [len(np.intersect1d(f, t)) for f, t in zip(found, truth, strict=True)]
        scores[f"{method}:{param:g}"] = float(np.mean(hits)) / k
    best = max(scores, key=lambda c: scores[c])
    name, value = best.split(":")
    logger.info("content projection: %s chosen (%s)", best, scores)
    return _make(name, float(value), x, y), scores


def fit_projection(
    content: np.ndarray, targets: np.ndarray, config: ProjectionConfig, *, seed: int = 0
) -> Projection:
    """The configured mapping fitted on ``content`` rows and raw ALS targets."""
    if config.method == "ridge":
        return ContentProjection.fit(content, targets, alpha=config.ridge_alpha)
    if config.method == "knn":
        return KnnProjection.fit(content, targets, neighbours=config.neighbours)
    return select_projection(content, targets, seed=seed)[0]


def load_projection(path: Path) -> Projection:
    """Read either projection from the ``.npz`` its ``save`` wrote."""
    try:
        with np.load(path, allow_pickle=False) as data:
            knn = "keys" in data.files
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot read content projection {path}: {exc}") from exc
    return KnnProjection.load(path) if knn else ContentProjection.load(path)


__all__ = [
    "CANDIDATES",
    "ContentProjection",
    "KnnProjection",
    "Projection",
    "fit_projection",
    "load_projection",
    "select_projection",
]
