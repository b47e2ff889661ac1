from __future__ import annotations

import pytest

from offline_eval.datasets import EvalDataset
from offline_eval.errors import EvalError
from offline_eval.models import (
    BASELINES,
    ModelSpec,
    PopularityRecommender,
    create_model,
    register_model,
)
from offline_eval.splits import Split, leave_last_n_split
from tests.offline_eval.conftest import checkerboard

PERSONALISED = ["itemknn", "als", "ease"]
OPTIONS = {"als": {"factors": 8, "iterations": 20, "regularization": 0.01}}


def diagonal_split(ds: EvalDataset) -> Split:
    """Withhold item i{u} from user u{u} (the diagonal): every item stays known to others."""
    inter = ds.interactions
    diagonal = inter["user_id"].str[1:] == inter["item_id"].str[1:]
    return Split(kind="diagonal", train=inter[~diagonal], test=inter[diagonal], description="")


def fitted(name: str, ds: EvalDataset) -> tuple[object, Split]:
    split = diagonal_split(ds)
    model = create_model(name, seed=1, options=OPTIONS.get(name, {}))
    model.fit(ds.with_interactions(split.train), split)
    return model, split


@pytest.mark.parametrize("name", BASELINES)
class TestRecommenderContract:
    """Every baseline: k respected, best first, never a training item, unknown users empty."""

    def test_slates_are_valid(self, name: str) -> None:
        ds = checkerboard()
        model, split = fitted(name, ds)
        users = sorted(split.test["user_id"].unique())
        slates = model.recommend([*users, "nobody"], 5)  # type: ignore[attr-defined]
        assert slates["nobody"] == []
        seen = split.train.groupby("user_id")["item_id"].apply(set)
        for user in users:
            slate = slates[user]
            assert 0 < len(slate) <= 5
            scores = [s for _, s in slate]
            assert scores == sorted(scores, reverse=True)
            assert not {i for i, _ in slate} & seen[user]
            assert len({i for i, _ in slate}) == len(slate)


@pytest.mark.parametrize("name", PERSONALISED)
def test_checkerboard_model_finds_withheld_items(name: str) -> None:
    model, split = fitted(name, checkerboard())
    truth = dict(zip(split.test["user_id"], split.test["item_id"], strict=True))
    slates = model.recommend(list(truth), 1)  # type: ignore[attr-defined]
    recall = sum(slates[u][0][0] == item for u, item in truth.items() if slates[u]) / len(truth)
    assert recall >= 0.95


def test_popularity_ranks_by_listener_count() -> None:
    ds = checkerboard()
    inter = ds.interactions
    extra = inter[inter["item_id"].isin(["i2"])].assign(user_id=lambda f: f["user_id"] + "x")
    ds2 = ds.with_interactions(__import__("pandas").concat([inter, extra]))
    split = leave_last_n_split(ds2.interactions, n=1)
    model = PopularityRecommender(ModelSpec(name="popularity", base="popularity"))
    model.fit(ds2.with_interactions(split.train), split)
    # u1 (odd user) has never seen the most popular item i2
    assert model.recommend(["u1"], 1)["u1"][0][0] == "i2"


def test_registry_variants_and_errors() -> None:
    calls: list[ModelSpec] = []

    def factory(spec: ModelSpec) -> PopularityRecommender:
        calls.append(spec)
        return PopularityRecommender(spec)

    register_model("test-fake", factory, replace=True)
    model = create_model("test-fake:boost", seed=4)
    assert model.name == "test-fake:boost"
    assert calls[-1].base == "test-fake" and calls[-1].variant == "boost" and calls[-1].seed == 4
    with pytest.raises(EvalError, match="unknown model"):
        create_model("no-such-model")
    with pytest.raises(EvalError, match="':'"):
        register_model("a:b", factory)
