"""The harness model ``liner``: registered, trained on the training side only, and on a
checkerboard world it finds the withheld items."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from offline_eval.datasets.base import EvalDataset, finalize_interactions, finalize_items
from offline_eval.models import available_models, create_model
from offline_eval.splits import make_split


def _checkerboard() -> EvalDataset:
    # Two taste groups: even users play even items, odd users play odd items.
    rng = np.random.default_rng(0)
    items = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(60)],
            "title": [f"Item {i}" for i in range(60)],
            "tags": ["even|calm" if i % 2 == 0 else "odd|loud" for i in range(60)],
            "ai_involvement": "NONE",
        }
    )
    rows = []
    for u in range(80):
        liked = [i for i in range(60) if i % 2 == u % 2]
        for i in rng.choice(liked, size=12, replace=False):
            rows.append({"user_id": f"u{u}", "item_id": f"i{i}", "weight": 1.0})
    return EvalDataset(
        name="checkerboard",
        items=finalize_items(items),
        interactions=finalize_interactions(pd.DataFrame(rows)),
    )


def test_liner_is_registered_and_recommends_unseen_items_of_the_right_group() -> None:
    assert "liner" in available_models()
    ds = _checkerboard()
    split = make_split(ds.interactions, "user-kfold", k=5, fold=0)
    train = dataclasses.replace(ds, interactions=split.train)
    model = create_model("liner:test", options={"max_negatives": 30})
    assert model.name == "liner:test"
    model.fit(train, split)
    users = sorted(split.test["user_id"].unique())
    slates = model.recommend(users, 5)
    seen = split.train.groupby("user_id")["item_id"].agg(set)
    right = total = 0
    for u in users:
        assert len(slates[u]) == 5
        assert not {i for i, _ in slates[u]} & seen.get(u, set())
        parity = int(u[1:]) % 2
        right += sum(int(i[1:]) % 2 == parity for i, _ in slates[u])
        total += 5
    assert right / total >= 0.8
