"""Collaborative embeddings: implicit ALS over listening events, for listeners and tracks.

Events become one confidence per (listener, track): positive events add their weight times
the event type's default weight (:data:`recsys.domain.POSITIVE_EVENT_WEIGHTS`); skips and
dislikes add nothing. ALS then fits on ``1 + alpha · log1p(strength)`` (Hu, Koren & Volinsky).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.domain import POSITIVE_EVENT_WEIGHTS
from recsys.embeddings.config import AlsConfig

logger = logging.getLogger(__name__)


def interaction_strengths(events: pd.DataFrame) -> pd.DataFrame:
    """Aggregate an events frame (``listener_id``, ``track_id``, optional ``event_type`` and
    ``weight``) into ``listener_id, track_id, strength`` over positive events."""
    if events.empty:
        return pd.DataFrame({"listener_id": [], "track_id": [], "strength": []})
    kinds = events["event_type"].astype(str) if "event_type" in events else "play"
    type_w = pd.Series(kinds).map({str(k): v for k, v in POSITIVE_EVENT_WEIGHTS.items()})
    weight = events["weight"].astype(float) if "weight" in events else 1.0
    frame = pd.DataFrame(
        {
            "listener_id": events["listener_id"].astype(str).to_numpy(),
            "track_id": events["track_id"].astype(str).to_numpy(),
            "strength": (type_w.fillna(0.0).to_numpy() * np.asarray(weight)),
        }
    )
    frame = frame[frame["strength"] > 0]
    return frame.groupby(["listener_id", "track_id"], as_index=False, sort=True)["strength"].sum()


def fit_als(
    events: pd.DataFrame,
    config: AlsConfig | None = None,
    *,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fit implicit ALS on an events frame (a pure function over a frame).

    Returns:
        ``(user_ids, user_factors, item_ids, item_factors)``: sorted ids with float32 factor
        rows. Only listeners and tracks with at least one positive event appear.
    """
    config = config or AlsConfig()
    from implicit.als import AlternatingLeastSquares

    pairs = interaction_strengths(events)
    users, u_idx = np.unique(pairs["listener_id"].to_numpy(dtype=str), return_inverse=True)
    items, i_idx = np.unique(pairs["track_id"].to_numpy(dtype=str), return_inverse=True)
    if len(users) == 0 or len(items) == 0:
        empty = np.zeros((0, config.factors), dtype=np.float32)
        return users, empty, items, empty
    conf = 1.0 + config.alpha * np.log1p(pairs["strength"].to_numpy(dtype=np.float64))
    matrix = sp.csr_matrix(
        (conf.astype(np.float32), (u_idx, i_idx)), shape=(len(users), len(items))
    )
    from threadpoolctl import threadpool_limits

    # ALS runs its own loops; a BLAS thread pool underneath only oversubscribes the cores.
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=config.factors,
            regularization=config.regularization,
            iterations=config.iterations,
            num_threads=config.threads,
            random_state=seed,
        )
        model.fit(matrix, show_progress=False)
    logger.info("ALS: %d listeners × %d tracks, %d pairs", len(users), len(items), len(pairs))
    return (
        users,
        np.asarray(model.user_factors, dtype=np.float32),
        items,
        np.asarray(model.item_factors, dtype=np.float32),
    )


def listener_counts(events: pd.DataFrame) -> pd.Series:
    """Distinct listeners with a positive event, per track id."""
    pairs = interaction_strengths(events)
    return pairs.groupby("track_id")["listener_id"].nunique()


__all__ = ["fit_als", "interaction_strengths", "listener_counts"]
