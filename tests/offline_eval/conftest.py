"""Tiny generated datasets for the offline_eval tests (no real data is copied)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from offline_eval.datasets import EvalDataset, finalize_interactions, finalize_items


def checkerboard(n_users: int = 24, n_items: int = 24) -> EvalDataset:
    """Even users play every even item, odd users every odd item (implicit's checkerboard).

    Times increase with the item index, so each user's last item is their highest one.
    """
    rows = [
        {"user_id": f"u{u}", "item_id": f"i{i}", "weight": 1.0 + (u + i) % 3, "timestamp": 1000 + i}
        for u in range(n_users)
        for i in range(n_items)
        if (u + i) % 2 == 0
    ]
    groups = ["NONE", "ASSISTED", "GENERATED", "NONE"]
    items = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(n_items)],
            "title": [f"track {i}" for i in range(n_items)],
            "artist_id": [f"a{i // 2}" for i in range(n_items)],
            "tags": ["even|pop" if i % 2 == 0 else "odd|jazz" for i in range(n_items)],
            "ai_involvement": [groups[i % 4] for i in range(n_items)],
            "audio_energy": np.linspace(0, 1, n_items),
        }
    )
    return EvalDataset(
        name="checkerboard",
        items=finalize_items(items),
        interactions=finalize_interactions(pd.DataFrame(rows)),
    )


@pytest.fixture
def board() -> EvalDataset:
    return checkerboard()
