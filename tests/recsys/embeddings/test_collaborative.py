"""Implicit ALS on events: the checkerboard known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.embeddings.collaborative import fit_als, interaction_strengths
from recsys.embeddings.config import AlsConfig


def checkerboard(n_users: int = 40, n_items: int = 30) -> pd.DataFrame:
    """Every user plays every item of the same parity, except the withheld diagonal."""
    rows = [
        {"listener_id": f"u{u:02d}", "track_id": f"t{i:02d}", "event_type": "play", "weight": 1.0}
        for u in range(n_users)
        for i in range(n_items)
        if u % 2 == i % 2 and u % n_items != i
    ]
    return pd.DataFrame(rows)


def test_als_recovers_the_withheld_parity_items() -> None:
    events = checkerboard()
    users, uf, items, itf = fit_als(
        events, AlsConfig(factors=4, regularization=0.01, iterations=20), seed=0
    )
    assert len(users) == 40 and len(items) == 30
    item_row = {t: i for i, t in enumerate(items)}
    hits = 0
    for u, name in enumerate(users):
        k = int(name[1:])
        withheld = item_row[f"t{k % 30:02d}"]
        scores = itf @ uf[u]
        same = [item_row[f"t{i:02d}"] for i in range(30) if i % 2 == k % 2]
        other = [item_row[f"t{i:02d}"] for i in range(30) if i % 2 != k % 2]
        hits += scores[withheld] > scores[other].max()
        assert scores[same].mean() > scores[other].mean()
    assert hits >= 38


def test_skips_and_dislikes_carry_no_weight() -> None:
    events = pd.DataFrame(
        {
            "listener_id": ["u", "u", "u", "u"],
            "track_id": ["a", "a", "b", "c"],
            "event_type": ["play", "like", "skip", "dislike"],
            "weight": [2.0, 1.0, 5.0, 5.0],
        }
    )
    strengths = interaction_strengths(events)
    assert strengths.to_dict("records") == [{"listener_id": "u", "track_id": "a", "strength": 5.0}]


def test_no_events_gives_empty_factors() -> None:
    empty = pd.DataFrame({"listener_id": [], "track_id": [], "event_type": [], "weight": []})
    users, uf, items, itf = fit_als(empty)
    assert len(users) == 0 and uf.shape[0] == 0 and itf.shape[0] == 0
    assert np.asarray(items).size == 0
