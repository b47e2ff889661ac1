"""Text-search baselines for the tag-query task: BM25 over item text (rank-bm25) and plain
text-embedding cosine search (the same sentence-transformers model as the catalog's text space).

Both only ever see a :class:`~offline_eval.tag_query.TagCorpus`, whose text comes from training
tags. Corpus embeddings are cached by content hash (``recsys.embeddings.text.VectorCache``) so a
second run on the same corpus embeds nothing.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from offline_eval.errors import EvalError
from offline_eval.models.base import ModelSpec, Slates
from offline_eval.tag_query import TagCorpus
from recsys.embeddings.text import (
    TextModel,
    VectorCache,
    embed_texts,
    embed_with_cache,
    load_text_model,
)

if TYPE_CHECKING:
    from offline_eval.datasets import EvalDataset
    from offline_eval.splits import Split

logger = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = Path("var/cache")
_TOKEN = re.compile(r"[a-z0-9]+")
_MEMO: dict[tuple[str, str], np.ndarray] = {}


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens (``post-rock`` → ``post``, ``rock``)."""
    return _TOKEN.findall(text.casefold())


def resolve_text_model(options: Mapping[str, Any]) -> tuple[TextModel, str]:
    """The text model named (or given) in ``options["text_model"]``, default all-MiniLM-L6-v2."""
    from recsys.settings import default_text_model

    given = options.get("text_model")
    if given is not None and not isinstance(given, str):
        return given, str(getattr(given, "name", type(given).__name__))
    name = given or default_text_model()
    return load_text_model(name), name


def corpus_vectors(
    corpus: TagCorpus, model: TextModel, model_name: str, cache_dir: Path | None
) -> np.ndarray:
    """Unit-norm embeddings of the corpus texts, cached on disk by content hash (and in memory
    for the process, so the agent and the text-embedding baseline embed once)."""
    digest = hashlib.sha256("\n".join(corpus.texts).encode()).hexdigest()
    key = (model_name, digest)
    if key not in _MEMO:
        if cache_dir is None:
            vectors = embed_texts(list(corpus.texts), model)
        else:
            tag = hashlib.sha256(model_name.encode()).hexdigest()[:16]
            cache = VectorCache(Path(cache_dir) / f"tag-query-text-{tag}.npz")
            vectors, fresh = embed_with_cache(list(corpus.texts), model, model_name, cache)
            if fresh:
                cache.save()
            logger.info("corpus embeddings: %d new, %d cached", fresh, len(corpus.texts) - fresh)
        _MEMO.clear()  # one corpus at a time is enough; keeps memory bounded
        _MEMO[key] = vectors
    return _MEMO[key]


def top_k(scores: np.ndarray, ids: Sequence[str], k: int) -> list[tuple[str, float]]:
    """The ``k`` best ids by score, ties broken by row order."""
    k = min(k, len(scores))
    if k <= 0:
        return []
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    order = part[np.lexsort((part, -scores[part]))]
    return [(ids[i], float(scores[i])) for i in order]


class _TextModelBase:
    """The harness's fit/recommend do not apply: these models answer text queries only."""

    name: str

    def fit(self, train: EvalDataset, split: Split) -> None:
        """Nothing to learn from interactions; :meth:`index` gets the corpus."""

    def recommend(self, user_ids: Sequence[str], k: int) -> Slates:
        """Text-search models have no listener slates."""
        raise EvalError(f"model {self.name!r} answers text queries only. Fix: --task tag-query")


class Bm25Search(_TextModelBase):
    """BM25 (Okapi, rank-bm25 defaults k1=1.5, b=0.75) over the item text."""

    def __init__(self, spec: ModelSpec | None = None) -> None:
        self.name = spec.name if spec else "bm25"
        self._ids: list[str] = []
        self._bm25: Any = None

    def index(self, corpus: TagCorpus) -> None:
        """Tokenize every item text."""
        from rank_bm25 import BM25Okapi

        self._ids = corpus.item_ids
        self._bm25 = BM25Okapi([tokenize(t) or ["∅"] for t in corpus.texts])

    def search(self, queries: Mapping[str, str], k: int) -> Slates:
        """BM25 scores of every item per query; items scoring 0 are not returned."""
        out: Slates = {}
        for qid, text in queries.items():
            scores = np.asarray(self._bm25.get_scores(tokenize(text)), dtype=np.float64)
            out[qid] = [(i, s) for i, s in top_k(scores, self._ids, k) if s > 0]
        return out


class EmbeddingSearch(_TextModelBase):
    """Exact cosine search of the query's embedding against the item-text embeddings."""

    def __init__(self, spec: ModelSpec | None = None) -> None:
        self.name = spec.name if spec else "text-embedding"
        self.options = dict(spec.options) if spec else {}
        self._ids: list[str] = []
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._model: TextModel | None = None

    def index(self, corpus: TagCorpus) -> None:
        """Embed the corpus (cached)."""
        self._model, model_name = resolve_text_model(self.options)
        cache = self.options.get("cache_dir", DEFAULT_CACHE_DIR)
        self._ids = corpus.item_ids
        self._vectors = corpus_vectors(corpus, self._model, model_name, cache and Path(cache))

    def search(self, queries: Mapping[str, str], k: int) -> Slates:
        """Top-``k`` items by cosine similarity."""
        assert self._model is not None, "index() first"
        qids = list(queries)
        q = embed_texts([queries[x] for x in qids], self._model)
        scores = q @ self._vectors.T if len(qids) else np.zeros((0, len(self._ids)))
        return {x: top_k(scores[r], self._ids, k) for r, x in enumerate(qids)}


__all__ = [
    "DEFAULT_CACHE_DIR",
    "Bm25Search",
    "EmbeddingSearch",
    "corpus_vectors",
    "resolve_text_model",
    "tokenize",
    "top_k",
]
