"""An ensemble of the pipeline and the baselines as the harness model ``liner-ensemble``.

This is NOT what ``liner build`` serves (the served pipeline is the model ``liner``, see
:mod:`offline_eval.models.liner`); it measures what the extra sources would add. Importing this
module registers the model (the harness imports it as a plug-in). The model
sees only the harness's training split. It is built as a superset of the baselines: EASE,
implicit ALS and item-kNN are fitted on the training pairs and plugged in both as candidate
sources and as features, next to the embedding-space sources and features, and LightGBM
lambdarank learns how to combine them.

Training the reranker without leakage needs a second level of hold-out: each training
listener's pairs are split again (the latest 20% when dated, else a random 20%); the
first-stage models and spaces are fitted on the remaining 80%, the reranker learns to find the
held-out 20% (early stopping on 10% of listeners), and then the first stage is refitted on all
training pairs for serving.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from offline_eval.models.als import AlsRecommender
from offline_eval.models.base import ModelSpec, Slates, register_model
from offline_eval.models.ease import EaseRecommender
from offline_eval.models.itemknn import ItemKnnRecommender
from offline_eval.models.matrix import ScoringRecommender
from recsys.domain import Listener
from recsys.params import PolicyParams
from recsys.pipeline.api import RecommendRequest
from recsys.pipeline.candidates import CandidateSource, default_sources
from recsys.pipeline.context import ListenerContext, build_context
from recsys.pipeline.eval_world import EvalWorld, build_eval_world, tracks_from_items
from recsys.pipeline.features import FeatureBuilder, feature_names
from recsys.pipeline.policy import ArtistFirstPolicy
from recsys.pipeline.reranker import LightGbmReranker, LinearScorer, RankingData, Scorer, align
from recsys.pipeline.training import ExampleBuilder, stack_groups

if TYPE_CHECKING:
    from offline_eval.datasets import EvalDataset
    from offline_eval.splits import Split

logger = logging.getLogger(__name__)

_BATCH = 256


class MatrixScorer:
    """A fitted harness baseline as an :class:`ExternalScorer`, with batched prefetch."""

    def __init__(self, name: str, model: ScoringRecommender) -> None:
        self.name = name
        self.model = model
        self._cache: dict[str, np.ndarray] = {}

    def prefetch(self, user_ids: Sequence[str]) -> None:
        """Score a batch of users at once (replaces the cache)."""
        m = self.model.matrix
        known = [u for u in user_ids if u in m.user_index]
        self._cache = {}
        if not known:
            return
        scores = self.model._score(np.asarray([m.user_index[u] for u in known]))
        for u, row in zip(known, scores, strict=True):
            self._cache[u] = _finite(row)

    def score_all(self, ctx: ListenerContext) -> np.ndarray:
        uid = ctx.listener.listener_id
        if uid not in self._cache:
            self.prefetch([uid])
        return self._cache.get(uid, np.zeros(len(self.model.matrix.item_ids), np.float32))


def _finite(row: np.ndarray) -> np.ndarray:
    ok = np.isfinite(row)
    floor = float(row[ok].min()) - 1.0 if ok.any() else 0.0
    return np.where(ok, row, floor).astype(np.float32)


def _pairs(interactions: pd.DataFrame) -> pd.DataFrame:
    return interactions.groupby(["user_id", "item_id"], sort=True, as_index=False).agg(
        weight=("weight", "sum"), timestamp=("timestamp", "min")
    )


def _holdout(pairs: pd.DataFrame, fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per listener, the latest ``fraction`` of dated pairs (random for undated) held out."""
    rng = np.random.default_rng(seed)
    key = pairs["timestamp"].fillna(-np.inf).to_numpy() + rng.random(len(pairs)) * 1e-3
    undated = pairs["timestamp"].isna().to_numpy()
    key[undated] = rng.random(int(undated.sum()))
    frame = pairs.assign(_k=key)
    frame["_r"] = frame.groupby("user_id")["_k"].rank(method="first", ascending=False)
    frame["_n"] = frame.groupby("user_id")["_k"].transform("size")
    held = (frame["_r"] <= np.floor(frame["_n"] * fraction)) & (frame["_n"] >= 3)
    cols = ["user_id", "item_id", "weight", "timestamp"]
    return frame.loc[~held, cols], frame.loc[held, cols]


class LinerEvalModel:
    """The pipeline plus EASE, ALS and item-kNN sources as a harness model (not served).

    Options: ``rerank`` (``lgbm`` default, or ``linear``), ``holdout`` (0.2),
    ``max_negatives`` (200), ``policy`` (``on`` default; ``off`` ranks by the reranker score
    alone, to measure what the artist-first policy costs in accuracy).
    """

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.params = spec.params or PolicyParams()
        self.holdout = float(spec.options.get("holdout", 0.2))
        self.rerank = str(spec.options.get("rerank", "lgbm"))
        self.max_negatives = int(spec.options.get("max_negatives", 200))
        self.policy_on = str(spec.options.get("policy", "on")) != "off"
        self.world: EvalWorld | None = None
        self.scorer: Scorer | None = None
        self.reranker_meta: dict[str, Any] = {}
        self.training_data: tuple[RankingData, RankingData] | None = None

    def _stage1(self, train: EvalDataset, split: Split, pairs: pd.DataFrame) -> EvalWorld:
        sub = dataclasses.replace(train, interactions=pairs)
        models: dict[str, ScoringRecommender] = {}
        for name, cls in (("ease", EaseRecommender), ("als", AlsRecommender)):
            models[name] = cls(self._base_spec(name))
        models["itemknn"] = ItemKnnRecommender(self._base_spec("itemknn"))
        for model in models.values():
            model.fit(sub, split)
        scorers = [MatrixScorer(name, m) for name, m in models.items()]
        # The ALS baseline's item factors become the collaborative space.
        collab = np.asarray(getattr(models["als"], "_items"))  # noqa: B009
        return build_eval_world(
            items=train.items,
            pairs=pairs,
            tracks=self._tracks,
            collab=collab,
            scorers=scorers,
            seed=self.spec.seed,
        )

    def _base_spec(self, name: str) -> ModelSpec:
        return ModelSpec(name=name, base=name, seed=self.spec.seed, threads=self.spec.threads)

    def _sources(self, world: EvalWorld) -> list[CandidateSource]:
        return default_sources(world.spaces, world.catalog, world.scorers)

    def _contexts(
        self, world: EvalWorld, user_ids: Sequence[str], k: int = 10
    ) -> list[ListenerContext]:
        for s in world.scorers:
            if isinstance(s, MatrixScorer):
                s.prefetch(user_ids)
        out = []
        for u in user_ids:
            req = RecommendRequest(listener_id=u, k=k, params=self.params, variant=self.name)
            out.append(
                build_context(
                    req,
                    listener=Listener(listener_id=u),
                    events=world.history.get(u, []),
                    catalog=world.catalog,
                    spaces=world.spaces,
                    max_history=10_000,
                )
            )
        return out

    def fit(self, train: EvalDataset, split: Split) -> None:
        """Fit first-stage models and spaces, then the reranker (see the module docstring)."""
        self._tracks = tracks_from_items(train.items)
        pairs = _pairs(train.interactions)
        if self.rerank == "lgbm":
            self.scorer = self._fit_reranker(train, split, pairs)
        self.world = self._stage1(train, split, pairs)
        if self.scorer is None:
            names = feature_names(tuple(s.name for s in self._sources(self.world)))
            self.scorer = LinearScorer(feature_names=names)

    def _fit_reranker(
        self, train: EvalDataset, split: Split, pairs: pd.DataFrame
    ) -> LightGbmReranker | None:
        hist, held = _holdout(pairs, self.holdout, self.spec.seed)
        world = self._stage1(train, split, hist)
        sources = self._sources(world)
        builder = ExampleBuilder(
            sources,
            FeatureBuilder(world.spaces, world.catalog, tuple(s.name for s in sources)),
            max_negatives=self.max_negatives,
        )
        rng = np.random.default_rng(self.spec.seed)
        users = np.asarray(sorted(held["user_id"].astype(str).unique()))
        valid_mask = rng.random(len(users)) < 0.1
        positives = held.groupby("user_id")["item_id"].agg(list)
        data = []
        for subset in (users[~valid_mask], users[valid_mask]):
            groups = []
            for start in range(0, len(subset), _BATCH):
                batch = list(subset[start : start + _BATCH])
                for ctx in self._contexts(world, batch):
                    pos = world.catalog.rows(positives[ctx.listener.listener_id])
                    groups.append(builder.group(ctx, pos, rng))
            data.append(stack_groups(groups, builder.features.names))
        self.training_data = (data[0], data[1])
        reranker = LightGbmReranker.fit(data[0], data[1], model_id="harness", seed=self.spec.seed)
        self.reranker_meta = reranker.meta
        return reranker

    def recommend(self, user_ids: Sequence[str], k: int) -> Slates:
        """Top-``k`` unseen items per user through the full pipeline."""
        world, scorer = self.world, self.scorer
        if world is None or scorer is None:
            raise RuntimeError(f"{self.name}: call fit() before recommend()")
        sources = self._sources(world)
        builder = ExampleBuilder(
            sources, FeatureBuilder(world.spaces, world.catalog, tuple(s.name for s in sources))
        )
        policy = ArtistFirstPolicy(world.catalog, world.spaces)
        out: Slates = {}
        for start in range(0, len(user_ids), _BATCH):
            batch = list(user_ids[start : start + _BATCH])
            for ctx in self._contexts(world, batch, k):
                cands = builder.candidates(ctx)
                feats = builder.features.build(ctx, cands)
                scores = scorer.score(align(feats, builder.features.names, scorer.feature_names))
                if self.policy_on:
                    slate = policy.select(ctx, cands, scores)
                    picks, final = slate.picks, slate.scores
                else:
                    picks = np.argsort(-scores, kind="stable")[:k]
                    final = scores[picks]
                ids = world.catalog.track_ids[cands.rows[picks]]
                out[ctx.listener.listener_id] = [
                    (str(t), float(s)) for t, s in zip(ids, final, strict=True)
                ]
        return out


register_model("liner-ensemble", LinerEvalModel, replace=True)

__all__ = ["LinerEvalModel", "MatrixScorer"]
