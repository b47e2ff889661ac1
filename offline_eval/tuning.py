"""``liner eval --tune``: each model's main hyper-parameters chosen on a validation split carved
from the training data (never from the test listeners), then the chosen setting is refitted on
the whole training split and evaluated on test.

The validation split is the evaluation's own split kind applied to the training pairs (a
temporal cut-off inside the training period, or held-out training listeners). Every model gets
the same budget: at most :data:`BUDGET` settings from a small documented grid
(:data:`GRIDS`), tried in order, scored by mean NDCG@k on the validation listeners. The served
pipeline ``liner`` is tuned on the same budget over the request parameters that trade accuracy
without weakening an artist-first rule (:data:`LINER_GRID`; one build serves every setting);
a model with no grid is evaluated with its defaults and the report says so.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from offline_eval.metrics import MetricContext, score_slates
from offline_eval.models import create_model
from offline_eval.splits import make_split

if TYPE_CHECKING:
    from offline_eval.datasets import EvalDataset
    from offline_eval.splits import Split
    from recsys.params import PolicyParams

logger = logging.getLogger(__name__)

#: Settings tried per model (at most this many).
BUDGET = 4

#: Validation listeners scored per setting, at most (a seeded sample, the same for every
#: model): a 200k-item catalog's validation split holds thousands, and the served pipeline
#: answers each one as a request.
MAX_VALIDATION_LISTENERS = 1000

#: The grid per model: option -> values (the first value of each is the default).
GRIDS: dict[str, dict[str, list[Any]]] = {
    "itemknn": {"neighbours": [100, 50, 200], "shrink": [10.0, 50.0]},
    "als": {"alpha": [2.0, 0.5], "factors": [64, 128]},
    "ease": {"l2": [500.0, 100.0, 2000.0, 5000.0]},
    "cornac-ease": {"lamb": [500.0, 100.0, 2000.0, 5000.0]},
    "cornac-vbpr": {"learning_rate": [0.005, 0.02], "k": [32, 16]},
    "cornac-sasrec": {"learning_rate": [0.001, 0.005], "embedding_dim": [64, 32]},
}

#: The served pipeline's grid: request parameters that trade accuracy without weakening an
#: artist-first rule (the human-artist boost, AI-generated cap, emerging-artist slot and
#: per-artist limit stay at the defaults DESIGN.md requires; the report shows what they cost).
LINER_GRID: dict[str, list[Any]] = {
    "mmr_lambda": [0.85, 0.95, 1.0],
}


def settings_for(base: str) -> list[dict[str, Any]]:
    """The settings tried for ``base``, defaults first, at most :data:`BUDGET`."""
    grid = LINER_GRID if base == "liner" else GRIDS.get(base, {})
    if not grid:
        return [{}]
    keys = list(grid)
    combos = [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*grid.values())]
    return combos[:BUDGET]


def validation_split(train: EvalDataset, split: Split, seed: int) -> Split:
    """The evaluation's split kind applied inside the training pairs, its test side limited
    to :data:`MAX_VALIDATION_LISTENERS` listeners (seeded sample)."""
    inner = make_split(train.interactions, split.kind, seed=seed)
    users = inner.test["user_id"].unique()
    if len(users) <= MAX_VALIDATION_LISTENERS:
        return inner
    kept = np.random.default_rng(seed).choice(users, MAX_VALIDATION_LISTENERS, replace=False)
    test = inner.test[inner.test["user_id"].isin(set(kept.tolist()))].reset_index(drop=True)
    return dataclasses.replace(
        inner,
        test=test,
        description=f"{inner.description}; {MAX_VALIDATION_LISTENERS:,} of its "
        f"{len(users):,} test listeners scored (seeded sample)",
    )


def tune_model(
    name: str,
    train: EvalDataset,
    split: Split,
    *,
    k: int,
    seed: int,
    threads: int,
    options: Mapping[str, Any],
    params: PolicyParams | None,
) -> dict[str, Any]:
    """Try each setting on the validation split; returns the chosen setting and the curve.

    Returns:
        ``{"chosen": {...}, "curve": [{"setting": {...}, "ndcg": x, "fit_s": s}], "grid": ...,
        "validation": description}``; ``chosen`` is ``{}`` when the model has no grid.
    """
    base = name.partition(":")[0]
    settings = settings_for(base)
    if settings == [{}]:
        return {"chosen": {}, "curve": [], "note": "no grid: evaluated with its defaults"}
    inner = validation_split(train, split, seed)
    inner_ds = train.tags_visible(inner).with_interactions(inner.train)
    ctx = MetricContext.build(train, inner.train, inner.test, k)
    curve: list[dict[str, Any]] = []
    if base == "liner":
        curve = _tune_policy(
            name, settings, inner_ds, inner, ctx, k, seed, threads, options, params
        )
    for setting in settings if base != "liner" else []:
        opts = dict(options)
        opts.update(setting)
        model = create_model(name, params=params, seed=seed, threads=threads, options=opts)
        t0 = time.perf_counter()
        try:
            model.fit(inner_ds, inner)
            card = score_slates(ctx, model.recommend(list(ctx.users), k))
        finally:
            getattr(model, "close", lambda: None)()
        ndcg = float(card.per_user[f"ndcg@{k}"].mean())
        spent = round(time.perf_counter() - t0, 1)
        curve.append({"setting": setting, "ndcg": round(ndcg, 6), "fit_s": spent})
        logger.info("tune %s %s: validation ndcg@%d %.4f", name, setting, k, ndcg)
    best = max(curve, key=lambda c: float(c["ndcg"]))
    return {
        "chosen": best["setting"],
        "curve": curve,
        "validation": inner.description,
        "grid": LINER_GRID if base == "liner" else GRIDS[base],
    }


def _tune_policy(
    name: str,
    settings: list[dict[str, Any]],
    inner_ds: EvalDataset,
    inner: Split,
    ctx: MetricContext,
    k: int,
    seed: int,
    threads: int,
    options: Mapping[str, Any],
    params: PolicyParams | None,
) -> list[dict[str, Any]]:
    """The served pipeline's settings are request parameters, not build inputs: one build on
    the validation split serves every setting (``fit_s`` is the build's time plus that
    setting's slates)."""
    from recsys.params import PolicyParams

    model = create_model(name, params=params, seed=seed, threads=threads, options=options)
    curve: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    try:
        model.fit(inner_ds, inner)
        for setting in settings:
            model.params = (params or PolicyParams()).model_copy(update=setting)  # type: ignore[attr-defined]
            card = score_slates(ctx, model.recommend(list(ctx.users), k))
            ndcg = float(card.per_user[f"ndcg@{k}"].mean())
            spent = round(time.perf_counter() - t0, 1)
            t0 = time.perf_counter()
            curve.append({"setting": setting, "ndcg": round(ndcg, 6), "fit_s": spent})
            logger.info("tune %s %s: validation ndcg@%d %.4f", name, setting, k, ndcg)
    finally:
        getattr(model, "close", lambda: None)()
    return curve


__all__ = [
    "BUDGET",
    "GRIDS",
    "LINER_GRID",
    "MAX_VALIDATION_LISTENERS",
    "settings_for",
    "tune_model",
    "validation_split",
]
