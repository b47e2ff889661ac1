"""Train/test splits: global temporal, leave-last-N per listener, random listener hold-out.

Every split works on (listener, item) pairs: events of the same pair are merged (weights
summed, time = the pair's FIRST event), because the harness asks models to find items a listener
has not met yet. A pair is therefore in train or in test, never both, and
:func:`check_no_leakage` fails loudly if that ever breaks. Test listeners without any training
history are dropped (counted in the description): no baseline can personalise for them.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from offline_eval.errors import EvalError, LeakageError

logger = logging.getLogger(__name__)

SplitKind = Literal["temporal", "leave-last-n", "user-kfold"]
SPLIT_KINDS: tuple[str, ...] = ("temporal", "leave-last-n", "user-kfold")


@dataclass(frozen=True, kw_only=True)
class Split:
    """One train/test split.

    Attributes:
        kind: ``temporal``, ``leave-last-n`` or ``user-kfold``.
        train: training pairs (``user_id``, ``item_id``, ``weight``, ``timestamp``).
        test: held-out pairs, same columns; every test user has training history.
        description: one sentence for the report (parameters, sizes, what was dropped).
        cutoff: the temporal cut-off (Unix seconds) for ``temporal``.
        fold: the fold index for ``user-kfold``.
    """

    kind: str
    train: pd.DataFrame
    test: pd.DataFrame
    description: str
    cutoff: float | None = None
    fold: int | None = None


def to_pairs(interactions: pd.DataFrame) -> pd.DataFrame:
    """Merge events into (user, item) pairs: summed weight, first timestamp."""
    grouped = interactions.groupby(["user_id", "item_id"], sort=True, as_index=False)
    return grouped.agg(weight=("weight", "sum"), timestamp=("timestamp", "min"))


def check_no_leakage(
    train: pd.DataFrame, test: pd.DataFrame, *, cutoff: float | None = None
) -> None:
    """Fail loudly when a test interaction is visible in training.

    Args:
        train: training interactions (``user_id``, ``item_id``, optionally ``timestamp``).
        test: test interactions.
        cutoff: for temporal splits, no training interaction may be at or after it.

    Raises:
        LeakageError: naming how many pairs leak and a few examples.
    """
    keys_train = pd.MultiIndex.from_frame(train[["user_id", "item_id"]].astype(str))
    keys_test = pd.MultiIndex.from_frame(test[["user_id", "item_id"]].astype(str))
    leaked = keys_test[keys_test.isin(keys_train)]
    if len(leaked):
        examples = ", ".join(f"({u}, {i})" for u, i in list(leaked[:3]))
        raise LeakageError(
            f"{len(leaked)} test (user, item) pairs also appear in training, e.g. {examples}. "
            "Fix: split on (user, item) pairs so each pair is in one side only"
        )
    if cutoff is not None and "timestamp" in train.columns:
        late = train["timestamp"].to_numpy(dtype=np.float64) >= cutoff
        if late.any():
            raise LeakageError(
                f"{int(late.sum())} training interactions are at or after the temporal cut-off "
                f"{cutoff:.0f}. Fix: train only on interactions before the cut-off"
            )


def _finish(
    kind: str,
    train: pd.DataFrame,
    test: pd.DataFrame,
    detail: str,
    *,
    cutoff: float | None = None,
    fold: int | None = None,
) -> Split:
    known = set(train["user_id"])
    cold = ~test["user_id"].isin(known)
    test = test[~cold].reset_index(drop=True)
    train = train.reset_index(drop=True)
    if test.empty:
        raise EvalError(f"the {kind} split left no test interactions. Fix: try another --split")
    description = (
        f"{kind}: {detail}; {len(train):,} train pairs, {len(test):,} test pairs for "
        f"{test['user_id'].nunique():,} listeners ({int(cold.sum()):,} test pairs of listeners "
        "without training history dropped)"
    )
    split = Split(
        kind=kind, train=train, test=test, description=description, cutoff=cutoff, fold=fold
    )
    check_no_leakage(split.train, split.test, cutoff=split.cutoff)
    return split


def temporal_split(interactions: pd.DataFrame, *, test_fraction: float = 0.2) -> Split:
    """Global temporal split: dated pairs at or after the cut-off are the test set.

    The cut-off is the ``1 - test_fraction`` quantile of dated pair times. Undated pairs are
    kept in training (they cannot be placed in time).

    Raises:
        EvalError: when no interaction has a time.
    """
    pairs = to_pairs(interactions)
    ts = pairs["timestamp"].to_numpy(dtype=np.float64)
    dated = ~np.isnan(ts)
    if not dated.any():
        raise EvalError(
            "the temporal split needs interaction timestamps and this dataset has none. "
            "Fix: use --split leave-last-n or --split user-kfold"
        )
    cutoff = float(np.quantile(ts[dated], 1.0 - test_fraction))
    is_test = dated & (ts >= cutoff)
    if is_test.all() or not is_test.any():
        raise EvalError("the temporal cut-off leaves one side empty. Fix: use another split")
    when = pd.Timestamp(cutoff, unit="s", tz="UTC").strftime("%Y-%m-%d")
    detail = f"cut-off {when} (the {1 - test_fraction:.0%} quantile of dated pairs)"
    if not dated.all():
        detail += f", {int((~dated).sum()):,} undated pairs kept in training"
    return _finish("temporal", pairs[~is_test], pairs[is_test], detail, cutoff=cutoff)


def leave_last_n_split(interactions: pd.DataFrame, *, n: int = 1, seed: int = 0) -> Split:
    """Hold out each listener's last ``n`` pairs (listeners with more than ``n`` pairs).

    Undated pairs count as older than dated ones; ties (and wholly undated data) are ordered
    by a seeded random draw, which makes this leave-N-out at random when there are no times.
    """
    pairs = to_pairs(interactions)
    rng = np.random.default_rng(seed)
    order = pairs.assign(
        _t=pairs["timestamp"].fillna(-np.inf), _r=rng.random(len(pairs))
    ).sort_values(["user_id", "_t", "_r"])
    rank_from_end = order.groupby("user_id").cumcount(ascending=False)
    size = order.groupby("user_id")["item_id"].transform("size")
    is_test = (rank_from_end < n) & (size > n)
    order = order.drop(columns=["_t", "_r"])
    timed = "by time" if pairs["timestamp"].notna().any() else "at random (no times)"
    detail = f"last {n} pair(s) per listener {timed}, seed {seed}"
    return _finish("leave-last-n", order[~is_test], order[is_test], detail)


def user_kfold_split(
    interactions: pd.DataFrame,
    *,
    k: int = 5,
    fold: int = 0,
    holdout_fraction: float = 0.2,
    seed: int = 0,
) -> Split:
    """Random listener hold-out: fold ``fold`` of ``k`` listener folds is the test group.

    Each test listener keeps ``1 - holdout_fraction`` of their pairs in training as history
    (at least one) and the rest, at least one, is the test set; listeners with one pair stay
    in training.

    Raises:
        EvalError: when ``fold`` is not in ``range(k)``.
    """
    if not 0 <= fold < k:
        raise EvalError(f"fold {fold} is not in 0..{k - 1}. Fix: pass --fold below --folds")
    pairs = to_pairs(interactions)
    rng = np.random.default_rng(seed)
    users = np.array(sorted(pairs["user_id"].unique()))
    assignment = pd.Series(rng.permutation(len(users)) % k, index=users)
    in_fold = pairs["user_id"].map(assignment).eq(fold).to_numpy()
    shuffled = pairs.assign(_r=rng.random(len(pairs)), _f=in_fold).sort_values(["user_id", "_r"])
    size = shuffled.groupby("user_id")["item_id"].transform("size")
    rank = shuffled.groupby("user_id").cumcount()
    n_test = np.maximum(1, np.floor(size * holdout_fraction)).astype(int)
    is_test = shuffled["_f"] & (size > 1) & (rank < n_test)
    shuffled = shuffled.drop(columns=["_r", "_f"])
    detail = (
        f"fold {fold} of {k} listener folds, {holdout_fraction:.0%} of each held out, seed {seed}"
    )
    return _finish("user-kfold", shuffled[~is_test], shuffled[is_test], detail, fold=fold)


def degenerate_times(interactions: pd.DataFrame) -> str | None:
    """Why the interaction times cannot order a temporal split, or None when they can.

    Synthetic or placeholder times look like this: every dated pair at one instant, or most
    listeners starting at the very same second (a generator's or an import's fixed start).
    """
    ts = interactions["timestamp"].to_numpy(dtype=np.float64)
    dated = ~np.isnan(ts)
    if not dated.any():
        return None
    if np.unique(ts[dated]).size < 2:
        return "every dated interaction has the same time"
    firsts = interactions.loc[dated, ["user_id", "timestamp"]].groupby("user_id")["timestamp"].min()
    if len(firsts) >= 10:
        share = float(firsts.value_counts().iloc[0]) / len(firsts)
        if share >= 0.5:
            return (
                f"{share:.0%} of listeners' first interactions are at the same instant "
                "(synthetic or placeholder times)"
            )
    return None


def make_split(
    interactions: pd.DataFrame,
    kind: str | None = None,
    *,
    seed: int = 0,
    n: int = 1,
    k: int = 5,
    fold: int = 0,
    test_fraction: float = 0.2,
) -> Split:
    """Build a split by name; ``None`` picks ``temporal`` when times exist and are not
    degenerate (:func:`degenerate_times`), else ``user-kfold`` (saying why in the description).

    Raises:
        EvalError: for an unknown kind.
    """
    if kind is None:
        dated = bool(interactions["timestamp"].notna().any())
        why_not = degenerate_times(interactions) if dated else None
        if why_not is not None:
            split = user_kfold_split(interactions, k=k, fold=fold, seed=seed)
            note = (
                f"user-kfold chosen instead of temporal: {why_not}. "
                "Fix: pass --split temporal to force it"
            )
            return dataclasses.replace(split, description=f"{note}; {split.description}")
        kind = "temporal" if dated else "user-kfold"
    if kind == "temporal":
        return temporal_split(interactions, test_fraction=test_fraction)
    if kind == "leave-last-n":
        return leave_last_n_split(interactions, n=n, seed=seed)
    if kind == "user-kfold":
        return user_kfold_split(interactions, k=k, fold=fold, seed=seed)
    raise EvalError(f"unknown split {kind!r}. Fix: use one of {list(SPLIT_KINDS)}")


__all__ = [
    "SPLIT_KINDS",
    "Split",
    "SplitKind",
    "check_no_leakage",
    "degenerate_times",
    "leave_last_n_split",
    "make_split",
    "temporal_split",
    "to_pairs",
    "user_kfold_split",
]
