"""Harness plugin (``offline_eval.models.base.PLUGIN_MODULES``; it lives beside the harness so
the product never imports the harness): registers the ``tag-query``
task with its text-search baselines, and the discovery agent as model ``agent``.

Example:
    liner eval --task tag-query --dataset hetrec-lastfm-2k --data-root ../shared/datasets \
        --out eval-tags --models agent,bm25,text-embedding
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent.dataset_backend import DatasetBackend
from agent.discovery import DiscoveryAgent
from offline_eval.models.base import ModelSpec, Slates, register_model
from offline_eval.tag_query import TagCorpus
from offline_eval.tag_task import TagQueryTask
from offline_eval.text_search import (
    DEFAULT_CACHE_DIR,
    EmbeddingSearch,
    corpus_vectors,
    resolve_text_model,
)
from recsys.embeddings.text import VectorCache, embed_with_cache

logger = logging.getLogger(__name__)

#: The agent answers at most this many tracks per turn (its rank tool's limit).
AGENT_MAX_K = 100


class AgentSearch(EmbeddingSearch):
    """The discovery agent (default rule planner) over a :class:`DatasetBackend` built from the
    tag-query corpus: it maps query words onto the catalog's tag vocabulary, searches, filters
    and ranks, exactly as it answers a listener."""

    def __init__(self, spec: ModelSpec | None = None) -> None:
        super().__init__(spec)
        self.name = spec.name if spec else "agent"
        self.agent: DiscoveryAgent | None = None
        self.backend: DatasetBackend | None = None

    def index(self, corpus: TagCorpus) -> None:
        """Build the backend (item vectors and vocabulary embeddings are cached on disk)."""
        model, model_name = resolve_text_model(self.options)
        cache_opt: Any = self.options.get("cache_dir", DEFAULT_CACHE_DIR)
        cache_dir = Path(cache_opt) if cache_opt else None
        vectors = corpus_vectors(corpus, model, model_name, cache_dir)
        self.backend = DatasetBackend(
            corpus.items,
            texts=corpus.texts,
            tags=corpus.tags,
            genres=corpus.genres,
            vectors=vectors,
            text_model=model,
            popularity=corpus.popularity,
            artists=corpus.artists,
            consent=corpus.consent,
        )
        vocab = sorted({v for v in self.backend.tag_vocabulary() if v})
        if cache_dir is not None and vocab:
            tag = hashlib.sha256(model_name.encode()).hexdigest()[:16]
            cache = VectorCache(cache_dir / f"tag-query-terms-{tag}.npz")
            term_vectors, fresh = embed_with_cache(vocab, model, model_name, cache)
            if fresh:
                cache.save()
            self.backend.preload_terms(vocab, term_vectors)
        self.agent = DiscoveryAgent(self.backend)

    def search(self, queries: Mapping[str, str], k: int) -> Slates:
        """One agent turn per query (no listener, a fresh session each)."""
        assert self.agent is not None, "index() first"
        out: Slates = {}
        for qid, text in queries.items():
            answer = self.agent.ask(text, k=min(k, AGENT_MAX_K))
            out[qid] = [(i.track.track_id, i.score) for i in answer.items]
        return out


register_model("agent", AgentSearch)

__all__ = ["AGENT_MAX_K", "AgentSearch", "TagQueryTask"]
