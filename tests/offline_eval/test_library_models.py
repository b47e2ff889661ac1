"""Cornac baselines (optional extra): registered behind the harness interface, trained on the
training side only, unseen items of the right taste group on a checkerboard world."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pytest

from offline_eval.datasets.base import EvalDataset, finalize_interactions, finalize_items
from offline_eval.models import available_models, create_model
from offline_eval.splits import make_split

pytest.importorskip("cornac")

FAST: dict[str, dict[str, Any]] = {
    "cornac-ease": {"lamb": "10"},  # as --model-option gives it: text
    "cornac-vbpr": {"n_epochs": 15, "k": 8, "k2": 8, "learning_rate": 0.05},
    # one epoch: only its contract is checked (a CPU epoch costs seconds even on a toy world)
    "cornac-sasrec": {"n_epochs": 1, "embedding_dim": 8, "max_len": 10, "n_sample": 8},
}


def _checkerboard() -> EvalDataset:
    rng = np.random.default_rng(0)
    items = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(40)],
            "title": [f"Item {i}" for i in range(40)],
            "tags": ["even|calm" if i % 2 == 0 else "odd|loud" for i in range(40)],
        }
    )
    rows = []
    for u in range(60):
        liked = [i for i in range(40) if i % 2 == u % 2]
        for n, i in enumerate(rng.choice(liked, size=10, replace=False)):
            rows.append({"user_id": f"u{u}", "item_id": f"i{i}", "timestamp": 1e9 + u + n * 1e4})
    return EvalDataset(
        name="checkerboard",
        items=finalize_items(items),
        interactions=finalize_interactions(pd.DataFrame(rows)),
    )


@pytest.mark.parametrize("name", sorted(FAST))
def test_library_model_recommends_unseen_items(name: str) -> None:
    assert name in available_models()
    ds = _checkerboard()
    split = make_split(ds.interactions, "user-kfold", k=5, fold=0)
    model = create_model(name, options=FAST[name])
    model.fit(dataclasses.replace(ds, interactions=split.train), split)
    users = sorted(split.test["user_id"].unique())
    slates = model.recommend([*users, "nobody"], 5)
    assert slates["nobody"] == []
    seen = split.train.groupby("user_id")["item_id"].agg(set)
    right = total = 0
    for u in users:
        assert len(slates[u]) == 5
        assert not {i for i, _ in slates[u]} & seen.get(u, set())
        right += sum(int(i[1:]) % 2 == int(u[1:]) % 2 for i, _ in slates[u])
        total += 5
    if name != "cornac-sasrec":  # the sequential model is only checked for its contract
        assert right / total >= 0.7
