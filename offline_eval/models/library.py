"""Baselines from a maintained library (Cornac), behind the harness's model interface.

Optional: ``pip install '.[baselines]'`` (pinned Cornac; it brings no torch of its own, SASRec
and VBPR run on the pinned CPU torch). Without Cornac these names are not registered, and
``liner eval`` says how to get them.

- ``cornac-ease``: Cornac's EASE, on the same most-popular item subset as our ``ease``
  (``max_items``, default 5,000), as a cross-check of our implementation.
- ``cornac-vbpr``: VBPR, a hybrid: BPR matrix factorisation plus a projection of each item's
  feature vector (tag TF-IDF reduced by SVD, plus audio descriptors where the dataset has them).
- ``cornac-sasrec``: SASRec, a sequential transformer over each listener's items in time order
  (undated pairs first, in a seeded random order); scored from the listener's last
  ``max_len`` items.

Every model sees only the training split and never returns an item the listener has in it.
Options (``--model-option cornac-vbpr.n_epochs=20``) are the Cornac constructor's arguments
named in :data:`OPTIONS`.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from offline_eval.models.base import ModelSpec, Slates, register_model
from offline_eval.splits import to_pairs

if TYPE_CHECKING:
    from offline_eval.datasets import EvalDataset
    from offline_eval.splits import Split

logger = logging.getLogger(__name__)

#: Constructor arguments each model accepts as options, with the harness's defaults.
OPTIONS: dict[str, dict[str, Any]] = {
    "ease": {"lamb": 500.0, "max_items": 5000},
    # batch 500, not Cornac's 100: every step updates every item's parameters with Adam, so
    # 100 made one HetRec fit take minutes of CPU (5 of them under --tune)
    "vbpr": {
        "k": 32,
        "k2": 32,
        "n_epochs": 20,
        "batch_size": 500,
        "learning_rate": 0.005,
        "lambda_w": 0.01,
    },
    # Cornac's SASRec trains one example per prefix of each listener's sequence, each encoded
    # over max_len positions: one batch of 512 cost 0.80 CPU-s at max_len 50 / 64 dims, 0.28
    # at 20 / 64, 0.14 at 20 / 32 (one thread); HetRec's ~80k training prefixes made a
    # 10-epoch fit at 50 / 64 over 20 CPU-minutes, so 20 positions and 5 epochs
    "sasrec": {
        "embedding_dim": 64,
        "n_epochs": 5,
        "max_len": 20,
        "learning_rate": 0.001,
        "n_sample": 512,
    },
}


def available() -> bool:
    """Whether the optional Cornac dependency is installed."""
    return importlib.util.find_spec("cornac") is not None


def _progress() -> bool:
    """Cornac's per-epoch progress bars, shown on a terminal (a long fit must not look hung)."""
    import sys

    return sys.stderr.isatty()


def item_features(items: pd.DataFrame, seed: int) -> np.ndarray:
    """Per item: tag TF-IDF reduced by SVD (32 dims), then audio descriptors if present."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = items["tags"].fillna("").astype(str).str.replace("|", " ", regex=False)
    docs = docs.where(docs.str.strip() != "", items["title"].astype(str))
    tfidf = TfidfVectorizer(min_df=2, max_features=20_000).fit_transform(docs)
    parts = [
        TruncatedSVD(min(32, max(tfidf.shape[1] - 1, 1)), random_state=seed).fit_transform(tfidf)
    ]
    audio = [c for c in items.columns if c.startswith("audio_")]
    if audio:
        x = items[audio].astype(float).to_numpy()
        parts.append(np.nan_to_num((x - np.nanmean(x, 0)) / (np.nanstd(x, 0) + 1e-9)))
    return np.hstack(parts).astype(np.float32)


class CornacRecommender:
    """A Cornac model as a harness :class:`~offline_eval.models.base.Recommender`."""

    kind = ""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.name = spec.name
        defaults = OPTIONS[self.kind]
        # --model-option values arrive as text: each takes its default's type
        given = {k: type(defaults[k])(v) if k in defaults else v for k, v in spec.options.items()}
        self.options = {**defaults, **given}
        self.model: Any = None
        self.train_set: Any = None
        self._seen: dict[int, np.ndarray] = {}
        self._history: dict[int, list[int]] = {}
        self._item_ids: np.ndarray = np.empty(0, dtype=object)

    def _args(self, *drop: str) -> dict[str, Any]:
        return {k: v for k, v in self.options.items() if k not in drop}

    def fit(self, train: EvalDataset, split: Split) -> None:
        """Fit on the training pairs (see the module docstring for each model)."""
        pairs = to_pairs(train.interactions)
        if self.kind == "ease":
            top = pairs["item_id"].value_counts().index[: int(self.options["max_items"])]
            pairs = pairs[pairs["item_id"].isin(set(top))]
        if self.kind == "sasrec":
            self._fit_sequential(pairs)
        else:
            self._fit_pairs(pairs, train.items)
        iid_map = self.train_set.iid_map
        self._item_ids = np.empty(len(iid_map), dtype=object)
        for item, idx in iid_map.items():
            self._item_ids[idx] = item
        logger.info("%s fitted on %d items", self.name, len(iid_map))

    def _fit_pairs(self, pairs: pd.DataFrame, items: pd.DataFrame) -> None:
        import cornac

        data = list(zip(pairs["user_id"], pairs["item_id"], np.ones(len(pairs)), strict=True))
        self.train_set = cornac.data.Dataset.build(data, fmt="UIR", seed=self.spec.seed)
        if self.kind == "ease":
            self.model = cornac.models.EASE(
                lamb=float(self.options["lamb"]), verbose=False, seed=self.spec.seed
            )
        else:
            feats = item_features(items, self.spec.seed)
            image = cornac.data.ImageModality(
                features=feats, ids=items["item_id"].astype(str).tolist(), normalized=True
            )
            image.build(id_map=self.train_set.iid_map)
            self.train_set.add_modalities(item_image=image)
            self.model = cornac.models.VBPR(
                **self._args(), verbose=_progress(), seed=self.spec.seed, use_gpu=False
            )
        self.model.fit(self.train_set)
        for u, (items_, _) in self.train_set.user_data.items():
            self._seen[u] = np.asarray(items_, dtype=np.int64)

    def _fit_sequential(self, pairs: pd.DataFrame) -> None:
        import cornac

        rng = np.random.default_rng(self.spec.seed)
        ts = pairs["timestamp"].to_numpy(dtype=np.float64)
        order = np.where(np.isnan(ts), -1e18 + rng.random(len(ts)) * 1e15, ts)
        frame = pairs.assign(_t=order).sort_values(["user_id", "_t"], kind="stable")
        frame["_rank"] = frame.groupby("user_id").cumcount()
        data = list(
            zip(frame["user_id"], frame["user_id"], frame["item_id"], frame["_rank"], strict=True)
        )
        self.train_set = cornac.data.SequentialDataset.build(data, fmt="USIT", seed=self.spec.seed)
        self.model = cornac.models.SASRec(
            **self._args(), device="cpu", verbose=_progress(), seed=self.spec.seed
        )
        self.model.fit(self.train_set)
        uid, iid = self.train_set.uid_map, self.train_set.iid_map
        for u, g in frame.groupby("user_id", sort=False)["item_id"]:
            rows = [iid[i] for i in g]
            self._history[uid[u]] = rows
            self._seen[uid[u]] = np.asarray(rows, dtype=np.int64)

    def _scores(self, uidx: int) -> np.ndarray:
        if self.kind == "sasrec":
            hist = self._history.get(uidx, [])[-int(self.options["max_len"]) :]
            out = self.model.score(uidx, hist)
        else:
            out = self.model.score(uidx)
        return np.asarray(out, dtype=np.float64).ravel()[: len(self._item_ids)]

    def recommend(self, user_ids: Sequence[str], k: int) -> Slates:
        """Top-``k`` unseen training items per user; users unknown to training get []."""
        if self.model is None:
            raise RuntimeError(f"{self.name}: call fit() before recommend()")
        out: Slates = {}
        uid_map = self.train_set.uid_map
        for u in user_ids:
            uidx = uid_map.get(u)
            if uidx is None:
                out[u] = []
                continue
            scores = self._scores(int(uidx)).copy()
            scores[~np.isfinite(scores)] = -np.inf
            seen = self._seen.get(int(uidx))
            if seen is not None and len(seen):
                scores[seen[seen < len(scores)]] = -np.inf
            top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
            top = top[np.argsort(-scores[top], kind="stable")]
            out[u] = [
                (str(self._item_ids[i]), float(scores[i])) for i in top if np.isfinite(scores[i])
            ]
        return out


class CornacEase(CornacRecommender):
    kind = "ease"


class CornacVbpr(CornacRecommender):
    kind = "vbpr"


class CornacSasrec(CornacRecommender):
    kind = "sasrec"


#: Registered names (only when Cornac is installed).
LIBRARY_MODELS: tuple[str, ...] = ("cornac-ease", "cornac-vbpr", "cornac-sasrec")

if available():
    register_model("cornac-ease", CornacEase, replace=True)
    register_model("cornac-vbpr", CornacVbpr, replace=True)
    register_model("cornac-sasrec", CornacSasrec, replace=True)

__all__ = [
    "LIBRARY_MODELS",
    "OPTIONS",
    "CornacEase",
    "CornacRecommender",
    "CornacSasrec",
    "CornacVbpr",
    "available",
    "item_features",
]
