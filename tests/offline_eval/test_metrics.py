"""Known-answer tests for every metric on a hand-built catalog of 6 items and 2 listeners."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from offline_eval.datasets import EvalDataset, finalize_interactions, finalize_items
from offline_eval.metrics import MetricContext, gini, score_slates

ITEMS = pd.DataFrame(
    {
        "item_id": ["a", "b", "c", "d", "e", "f"],
        "title": list("abcdef"),
        "artist_id": ["x", "x", "y", "z", "w", "v"],
        "tags": ["rock", "rock", "jazz", "rock|jazz", "", "pop"],
        "ai_involvement": ["NONE", "NONE", "ASSISTED", "GENERATED", "UNDISCLOSED", "NONE"],
        "integrity_flag": [False, False, False, True, False, False],
    }
)
# training popularity: a 3 listeners, b 2, c 1, d 1, e 0, f 1
TRAIN = finalize_interactions(
    pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3", "u2", "u3", "u3", "u1", "u4"],
            "item_id": ["a", "a", "a", "b", "b", "c", "d", "f"],
        }
    )
)
TEST = finalize_interactions(
    pd.DataFrame({"user_id": ["u1", "u1", "u2"], "item_id": ["b", "c", "d"]})
)
SLATES = {
    "u1": [("c", 3.0), ("e", 2.0), ("b", 1.0)],  # hits at ranks 1 and 3
    "u2": [("e", 2.0), ("f", 1.0), ("c", 0.5)],  # no hit
}


@pytest.fixture(scope="module")
def ctx() -> MetricContext:
    ds = EvalDataset(
        name="tiny", items=finalize_items(ITEMS), interactions=TRAIN, has_integrity_truth=True
    )
    return MetricContext.build(ds, TRAIN, TEST, k=3)


@pytest.fixture(scope="module")
def values(ctx: MetricContext) -> dict[str, float]:
    card = score_slates(ctx, SLATES)
    return {m: float(v[0]) for m, v in card.evaluate(np.ones((1, 2))).items()}


def test_ndcg_from_ranx_matches_hand_computation(values: dict[str, float]) -> None:
    dcg = 1 / math.log2(2) + 1 / math.log2(4)
    idcg = 1 / math.log2(2) + 1 / math.log2(3)
    assert values["ndcg@3"] == pytest.approx((dcg / idcg + 0.0) / 2)


def test_other_accuracy_metrics(values: dict[str, float]) -> None:
    assert values["recall@3"] == pytest.approx((2 / 2 + 0) / 2)
    assert values["hit_rate@3"] == pytest.approx(0.5)
    assert values["mrr@3"] == pytest.approx(0.5)
    assert values["map@3"] == pytest.approx(((1 / 1 + 2 / 3) / 2) / 2)


def test_beyond_accuracy(values: dict[str, float]) -> None:
    n = 4  # training listeners
    info = {
        i: -math.log2((p + 1) / (n + 1)) for i, p in zip("abcdef", [3, 2, 1, 1, 0, 1], strict=True)
    }
    u1 = (info["c"] + info["e"] + info["b"]) / 3
    u2 = (info["e"] + info["f"] + info["c"]) / 3
    assert values["novelty"] == pytest.approx((u1 + u2) / 2)
    assert values["arp"] == pytest.approx(((1 + 0 + 2) / 3 + (0 + 1 + 1) / 3) / 2)
    # head = items covering 20% of 8 training pairs: a (3/8) alone; everything else is tail
    assert values["aplt"] == pytest.approx(1.0)
    assert values["coverage"] == pytest.approx(4 / 6)  # b, c, e, f


def test_intra_list_diversity_on_tags(values: dict[str, float]) -> None:
    # e has no features and is left out: u1 pair (c jazz, b rock) is distance 1;
    # u2 pair (f pop, c jazz) is distance 1
    assert values["intra_list_diversity"] == pytest.approx(1.0)


def test_exposure_shares_and_relevance(values: dict[str, float]) -> None:
    w = [1 / math.log2(r + 1) for r in (1, 2, 3)]
    total = 2 * sum(w)
    human = w[2] + w[1]  # u1: b at 3; u2: f at 2
    assisted = w[0] + w[2]  # c at 1 (u1) and at 3 (u2)
    assert values["human_exposure_share"] == pytest.approx(human / total)
    assert values["ai_assisted_exposure_share"] == pytest.approx(assisted / total)
    assert values["ai_generated_exposure_share"] == pytest.approx(0.0)
    # relevant test items: b human, c assisted, d generated -> 1/3 each
    assert values["human_exposure_vs_relevance"] == pytest.approx((human / total) / (1 / 3))
    # emerging human artists: played artists x3, y1, z1, v1 -> median 1 -> v (item f) only
    assert values["emerging_exposure_share"] == pytest.approx(w[1] / total)


def test_integrity_and_labels(values: dict[str, float]) -> None:
    assert values["integrity_leakage@3"] == pytest.approx(0.0)  # d (flagged) never shown
    assert values["label_completeness"] == pytest.approx((2 / 3 + 2 / 3) / 2)  # e undisclosed


def test_integrity_leakage_counts_flagged_items(ctx: MetricContext) -> None:
    card = score_slates(ctx, {"u1": [("d", 1.0)], "u2": []})
    assert card.per_user["integrity_leakage@3"].tolist() == pytest.approx([1 / 3, 0.0])


def test_gini_known_answers() -> None:
    assert gini(np.array([[1.0, 1.0, 1.0, 1.0]]))[0] == pytest.approx(0.0)
    assert gini(np.array([[0.0, 0.0, 0.0, 1.0]]))[0] == pytest.approx(0.75)
    assert np.isnan(gini(np.array([[0.0, 0.0]]))[0])


def test_artist_gini_on_slates(values: dict[str, float]) -> None:
    w = [1 / math.log2(r + 1) for r in (1, 2, 3)]
    # artists x(b) w3, y(c) w1+w3, w(e) w2+w1, v(f) w2, z 0
    exposure = np.array([[w[2], w[0] + w[2], w[1] + w[0], w[1], 0.0]])
    assert values["artist_exposure_gini"] == pytest.approx(gini(exposure)[0])
