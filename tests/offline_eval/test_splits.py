from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from offline_eval.errors import EvalError, LeakageError
from offline_eval.splits import (
    check_no_leakage,
    leave_last_n_split,
    make_split,
    temporal_split,
    to_pairs,
    user_kfold_split,
)
from tests.offline_eval.conftest import checkerboard


def frame(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]).assign(weight=1.0)


def test_temporal_split_known_answer() -> None:
    inter = frame(
        [
            ("a", "1", 1),
            ("a", "2", 2),
            ("a", "3", 9),
            ("b", "1", 3),
            ("b", "4", 10),
            ("c", "5", 11),
            ("a", "6", np.nan),
        ]
    )
    split = temporal_split(inter, test_fraction=0.34)
    # dated times 1,2,3,9,10,11: the 66% quantile is 9 + 0.3 = 9.3, so 10 and 11 are test
    assert set(map(tuple, split.test[["user_id", "item_id"]].to_numpy())) == {("b", "4")}
    # c has no training history and is dropped; the undated pair stays in training
    assert ("a", "6") in set(map(tuple, split.train[["user_id", "item_id"]].to_numpy()))
    assert split.cutoff == pytest.approx(9.3)
    assert "undated" in split.description


def test_temporal_split_merges_repeat_events_into_first_time() -> None:
    inter = frame([("a", "1", 1), ("a", "1", 20), ("a", "2", 2), ("a", "3", 30), ("b", "2", 3)])
    pairs = to_pairs(inter)
    assert pairs.loc[pairs["item_id"] == "1", "weight"].item() == 2.0
    split = temporal_split(inter, test_fraction=0.25)
    assert list(split.test["item_id"]) == ["3"]  # the replay of item 1 at t=20 is not "new"


def test_temporal_split_refuses_undated_data() -> None:
    with pytest.raises(EvalError, match="timestamps"):
        temporal_split(frame([("a", "1", np.nan), ("a", "2", np.nan)]))


def test_leave_last_n_takes_latest_items() -> None:
    split = leave_last_n_split(checkerboard().interactions, n=2)
    per_user = split.test.groupby("user_id")["item_id"].apply(set)
    assert per_user["u0"] == {"i20", "i22"}
    assert per_user["u1"] == {"i21", "i23"}
    assert len(split.test) == 2 * 24


def test_leave_last_n_without_times_is_seeded_random() -> None:
    inter = checkerboard().interactions.assign(timestamp=np.nan)
    a = leave_last_n_split(inter, n=1, seed=1)
    b = leave_last_n_split(inter, n=1, seed=1)
    c = leave_last_n_split(inter, n=1, seed=2)
    pd.testing.assert_frame_equal(a.test, b.test)
    assert not a.test.equals(c.test)
    assert "at random" in a.description


def test_user_kfold_folds_partition_users() -> None:
    inter = checkerboard().interactions
    test_users = [
        set(user_kfold_split(inter, k=4, fold=f, seed=3).test["user_id"]) for f in range(4)
    ]
    assert set().union(*test_users) == {f"u{u}" for u in range(24)}
    assert sum(len(s) for s in test_users) == 24  # disjoint
    split = user_kfold_split(inter, k=4, fold=0, holdout_fraction=0.25, seed=3)
    assert split.test.groupby("user_id").size().eq(3).all()  # 25% of 12 pairs


def test_user_kfold_rejects_bad_fold() -> None:
    with pytest.raises(EvalError, match="fold"):
        user_kfold_split(checkerboard().interactions, k=3, fold=3)


def test_leakage_check_catches_planted_leak() -> None:
    split = make_split(checkerboard().interactions, "leave-last-n")
    check_no_leakage(split.train, split.test)
    leaked = pd.concat([split.train, split.test.iloc[[5]]])
    with pytest.raises(LeakageError, match="1 test"):
        check_no_leakage(leaked, split.test)


def test_leakage_check_catches_training_after_cutoff() -> None:
    split = make_split(checkerboard().interactions, "temporal")
    late = split.train.assign(timestamp=split.train["timestamp"].max())
    late.loc[late.index[0], "timestamp"] = (split.cutoff or 0) + 1
    with pytest.raises(LeakageError, match="cut-off"):
        check_no_leakage(late, split.test, cutoff=split.cutoff)


@pytest.mark.parametrize("kind", ["temporal", "leave-last-n", "user-kfold"])
def test_every_split_is_leak_free_and_seeded(kind: str) -> None:
    inter = checkerboard().interactions
    a, b = make_split(inter, kind, seed=5), make_split(inter, kind, seed=5)
    pd.testing.assert_frame_equal(a.test, b.test)
    check_no_leakage(a.train, a.test, cutoff=a.cutoff)
    assert set(a.test["user_id"]) <= set(a.train["user_id"])
