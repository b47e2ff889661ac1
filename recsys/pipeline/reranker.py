"""Rerankers: a LightGBM lambdarank model, and a transparent linear fallback.

Models live in the artifact directory as LightGBM text (``reranker/<model_id>.txt``) with
their feature list (``reranker/<model_id>.json``); no pickle.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from recsys.errors import ArtifactError
from recsys.pipeline.compiled_trees import CompiledTrees, UnsupportedModelError

logger = logging.getLogger(__name__)

RERANKER_DIR = "reranker"
PLAIN_SUFFIX = "-plain"
"""``<model_id>-plain`` is the reranker for plain requests (neither a query nor seeds), trained
on listener examples alone; ``<model_id>`` (query-aware) ranks the rest
(:meth:`recsys.pipeline.recommender.PipelineRecommender.scorer`)."""


class Scorer(Protocol):
    """Scores a feature matrix; one call per request."""

    model_id: str
    feature_names: tuple[str, ...]

    def score(self, features: np.ndarray) -> np.ndarray:
        """One score per row (higher is better)."""
        ...

    def explain(self, features: np.ndarray, top: int = 5) -> list[dict[str, float]]:
        """Per row, the ``top`` feature contributions by absolute value."""
        ...


def align(features: np.ndarray, have: Sequence[str], want: Sequence[str]) -> np.ndarray:
    """Reorder columns from ``have`` to ``want``; unknown columns are zero."""
    if tuple(have) == tuple(want):
        return features
    pos = {name: i for i, name in enumerate(have)}
    out = np.zeros((features.shape[0], len(want)), dtype=np.float32)
    for j, name in enumerate(want):
        i = pos.get(name)
        if i is not None:
            out[:, j] = features[:, i]
    return out


def _top_contributions(
    contrib: np.ndarray, names: Sequence[str], top: int
) -> list[dict[str, float]]:
    out = []
    for row in contrib:
        idx = np.argsort(-np.abs(row), kind="stable")[:top]
        out.append({names[i]: float(row[i]) for i in idx if row[i] != 0.0})
    return out


@dataclass
class LinearScorer:
    """A hand-weighted linear scorer: the fallback when no reranker has been trained.

    Weights favour taste similarity and the candidate sources' own ranks, so an untrained
    pipeline still ranks sensibly and can explain itself (contribution = weight × value).
    """

    weights: Mapping[str, float] = field(
        default_factory=lambda: {
            "sim_fused": 1.0,
            "hist_max_fused": 0.5,
            "hist_max_collab": 0.3,
            "seed_sim": 1.0,
            "query_sim": 1.5,
            "artist_affinity": 0.5,
            "genre_affinity": 0.2,
            "popularity": 0.02,
            "n_sources": 0.05,
        }
    )
    feature_names: tuple[str, ...] = ()
    model_id: str = "linear"

    def _w(self) -> np.ndarray:
        return np.asarray([self.weights.get(n, 0.0) for n in self.feature_names], np.float32)

    def score(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(features @ self._w(), dtype=np.float64)

    def explain(self, features: np.ndarray, top: int = 5) -> list[dict[str, float]]:
        return _top_contributions(features * self._w(), self.feature_names, top)


class SmoothedStop:
    """LightGBM callback: early stopping on the mean NDCG@10 of ``window`` consecutive rounds.

    One round's validation NDCG over a few hundred queries is noisy: on HetRec's test-period
    build a bump at round 22 stopped the boosting there (#18), where the same build with
    float32 text vectors ran to 91. The mean over a window moves with the trend, not a bump:
    training stops when it has not improved for ``patience`` rounds, and the kept round is the
    middle of the best window."""

    order = 30

    def __init__(self, window: int, patience: int) -> None:
        self.window, self.patience = window, patience
        self.values: list[float] = []
        self.best_mean = -np.inf
        self.best_round = 0

    def __call__(self, env: Any) -> None:
        import lightgbm as lgb

        score = next(
            r[2] for r in env.evaluation_result_list if r[0] == "valid_0" and r[1] == "ndcg@10"
        )
        self.values.append(float(score))
        done = env.iteration + 1  # rounds trained so far
        if done < self.window:
            return
        mean = float(np.mean(self.values[-self.window :]))
        if mean > self.best_mean:
            self.best_mean = mean
            self.best_round = done - self.window // 2
        elif done - (self.best_round + self.window // 2) >= self.patience:
            raise lgb.callback.EarlyStopException(self.best_round - 1, env.evaluation_result_list)


@dataclass
class LightGbmReranker:
    """A LightGBM lambdarank model over named features.

    Example:
        reranker = LightGbmReranker.fit(train, valid)
        reranker.save(artifact_dir, "default")
        scores = LightGbmReranker.load(artifact_dir, "default").score(features)
    """

    booster: Any
    feature_names: tuple[str, ...]
    model_id: str = "default"
    meta: dict[str, Any] = field(default_factory=dict)
    compiled: CompiledTrees | None = None

    def compile(self) -> LightGbmReranker:
        """Score with the compiled tree evaluator from now on (same predictions, faster);
        models it cannot handle keep LightGBM's predict."""
        try:
            self.compiled = CompiledTrees.from_booster(self.booster)
            self.compiled.predict(
                np.zeros((1, len(self.feature_names)))
            )  # jit now, not mid-request
        except UnsupportedModelError as exc:
            logger.warning("reranker %s stays on LightGBM predict: %s", self.model_id, exc)
        return self

    def score(self, features: np.ndarray) -> np.ndarray:
        if len(features) == 0:
            return np.zeros(0)
        if self.compiled is not None:
            return self.compiled.predict(features)
        return np.asarray(self.booster.predict(features, num_threads=1), dtype=np.float64)

    def explain(self, features: np.ndarray, top: int = 5) -> list[dict[str, float]]:
        if len(features) == 0:
            return []
        contrib = self.booster.predict(features, pred_contrib=True, num_threads=1)
        return _top_contributions(np.asarray(contrib)[:, :-1], self.feature_names, top)

    @classmethod
    def fit(
        cls,
        train: RankingData,
        valid: RankingData | None = None,
        *,
        model_id: str = "default",
        num_boost_round: int = 400,
        early_stopping_rounds: int = 50,
        smooth: int = 1,
        params: Mapping[str, Any] | None = None,
        seed: int = 0,
    ) -> LightGbmReranker:
        """Train with lambdarank; early stopping on NDCG@10 of ``valid`` when given and
        ``early_stopping_rounds`` > 0 (0: all ``num_boost_round`` rounds are kept, ``valid``
        is only reported). ``smooth`` > 1: the stop and the kept round follow the mean of
        ``smooth`` consecutive rounds' NDCG@10 (:class:`SmoothedStop`), not one round's."""
        import lightgbm as lgb

        config: dict[str, Any] = {
            "objective": "lambdarank",
            "metric": "ndcg",
            "eval_at": [10],
            "learning_rate": 0.05,
            "num_leaves": 31,
            "min_data_in_leaf": 50,
            "feature_fraction": 0.9,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "lambdarank_truncation_level": 20,
            "num_threads": 1,
            "deterministic": True,
            "force_row_wise": True,
            "seed": seed,
            "verbose": -1,
        }
        config.update(params or {})
        names = list(train.feature_names)
        dtrain = lgb.Dataset(train.features, train.labels, group=train.groups, feature_name=names)
        sets = [dtrain]
        callbacks: list[Any] = []
        curve: dict[str, Any] = {}
        stop: SmoothedStop | None = None
        if valid is not None and len(valid.groups):
            dvalid = lgb.Dataset(
                align(valid.features, valid.feature_names, names),
                valid.labels,
                group=valid.groups,
                reference=dtrain,
            )
            sets = [dvalid]
            callbacks.append(lgb.record_evaluation(curve))
            if early_stopping_rounds > 0 and smooth > 1:
                stop = SmoothedStop(smooth, early_stopping_rounds)
                callbacks.append(stop)
            elif early_stopping_rounds > 0:
                callbacks.append(lgb.early_stopping(early_stopping_rounds, verbose=False))
        booster = lgb.train(
            config, dtrain, num_boost_round=num_boost_round, valid_sets=sets, callbacks=callbacks
        )
        best = dict(booster.best_score.get("valid_0", {})) if valid is not None else {}
        best_iteration = int(booster.best_iteration or booster.current_iteration())
        if stop is not None and stop.best_round:
            best_iteration = stop.best_round
            best = {"ndcg@10": curve["valid_0"]["ndcg@10"][best_iteration - 1]}
            booster.best_iteration = best_iteration  # also when the rounds ran out first
        meta = {
            "best_iteration": best_iteration,
            "valid": {k: float(v) for k, v in best.items()},
            "n_train_rows": len(train.labels),
            "n_train_queries": len(train.groups),
        }
        ndcg = curve.get("valid_0", {}).get("ndcg@10")
        if ndcg:  # every 10th round's validation NDCG@10, to see how sharp the optimum is
            meta["valid_curve"] = [round(float(v), 4) for v in ndcg[9::10]]
        logger.info("trained reranker %s: %s", model_id, meta)
        return cls(booster=booster, feature_names=tuple(names), model_id=model_id, meta=meta)

    @classmethod
    def average(
        cls, members: Sequence[LightGbmReranker], *, model_id: str | None = None
    ) -> LightGbmReranker:
        """One model whose score is the mean of ``members``' scores (bagging): their trees,
        each cut at its member's best iteration, in one LightGBM booster with every leaf value
        divided by the number of members. Serving loads, compiles and explains it like any
        other model; its cost per row is the members' trees together."""
        import lightgbm as lgb

        if not members:
            raise ValueError("average() needs at least one model")
        names = members[0].feature_names
        if any(m.feature_names != names for m in members):
            raise ValueError("average(): the members were trained on different features")
        text = average_model_text(
            [
                m.booster.model_to_string(num_iteration=m.meta.get("best_iteration") or None)
                for m in members
            ]
        )
        booster = lgb.Booster(model_str=text)
        meta = {
            "best_iteration": int(booster.current_iteration()),
            "members": [dict(m.meta) for m in members],
            "n_train_rows": members[0].meta.get("n_train_rows"),
            "n_train_queries": members[0].meta.get("n_train_queries"),
        }
        return cls(
            booster=booster,
            feature_names=names,
            model_id=model_id or members[0].model_id,
            meta=meta,
        )

    def save(self, artifact_dir: Path, model_id: str | None = None) -> Path:
        """Write ``reranker/<model_id>.txt`` and ``.json``; returns the model path."""
        model_id = model_id or self.model_id
        folder = Path(artifact_dir) / RERANKER_DIR
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{model_id}.txt"
        self.booster.save_model(str(path), num_iteration=self.meta.get("best_iteration") or None)
        info = {"model_id": model_id, "feature_names": list(self.feature_names), **self.meta}
        (folder / f"{model_id}.json").write_text(json.dumps(info, indent=2, sort_keys=True))
        return path

    @classmethod
    def load(
        cls, artifact_dir: Path, model_id: str = "default", *, compiled: bool = True
    ) -> LightGbmReranker:
        """Load a model saved by :meth:`save` (compiled for serving unless ``compiled=False``)."""
        import lightgbm as lgb

        folder = Path(artifact_dir) / RERANKER_DIR
        path, info_path = folder / f"{model_id}.txt", folder / f"{model_id}.json"
        if not path.exists() or not info_path.exists():
            raise ArtifactError(
                f"reranker model '{model_id}' not found in {folder}; run `liner build` or pick "
                "an existing reranker_model_id"
            )
        try:
            booster = lgb.Booster(model_file=str(path))
            info = json.loads(info_path.read_text())
        except (lgb.basic.LightGBMError, ValueError) as exc:
            raise ArtifactError(f"cannot read reranker model {path}: {exc}") from exc
        names = tuple(info.pop("feature_names"))
        model = cls(booster=booster, feature_names=names, model_id=model_id, meta=info)
        return model.compile() if compiled else model

    @staticmethod
    def available(artifact_dir: Path) -> list[str]:
        """Model ids saved in ``artifact_dir``."""
        folder = Path(artifact_dir) / RERANKER_DIR
        return sorted(p.stem for p in folder.glob("*.txt")) if folder.exists() else []


_SCALED_KEYS = ("leaf_value=", "internal_value=")


def average_model_text(models: Sequence[str]) -> str:
    """LightGBM model texts (one output, same features) as one model text predicting their
    mean: the first model's header and tail, every model's trees renumbered, leaf and
    internal values divided by the number of models. LightGBM rewrites the tree sizes when it
    loads and saves the result."""
    k = len(models)
    head, trees = "", list[str]()
    tail = ""
    for i, text in enumerate(models):
        before, sep, after = text.partition("\nTree=")
        body, end, rest = after.partition("end of trees")
        if not sep or not end:
            raise ValueError("not a LightGBM model text (no trees)")
        if "num_tree_per_iteration=1\n" not in before:
            raise ValueError("average_model_text: only single-output models can be averaged")
        if i == 0:
            head = "\n".join(
                line for line in before.splitlines() if not line.startswith("tree_sizes=")
            )
            tail = rest
        for block in ("Tree=" + body).split("\nTree="):
            block = block.strip()
            if not block:
                continue
            lines = block.splitlines()
            out = [f"Tree={len(trees)}"]
            for line in lines[1:]:
                key = next((p for p in _SCALED_KEYS if line.startswith(p)), None)
                if key is not None:
                    values = [float(v) / k for v in line[len(key) :].split()]
                    line = key + " ".join(repr(v) for v in values)
                out.append(line)
            trees.append("\n".join(out))
    return head + "\n\n" + "\n\n\n".join(trees) + "\n\n\nend of trees" + tail


@dataclass(frozen=True, kw_only=True, eq=False)
class RankingData:
    """Grouped learning-to-rank data: one group of rows per (listener, cut-off)."""

    features: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    feature_names: tuple[str, ...]


__all__ = [
    "PLAIN_SUFFIX",
    "RERANKER_DIR",
    "LightGbmReranker",
    "LinearScorer",
    "RankingData",
    "Scorer",
    "align",
]
