"""``--task tag-query``: the discovery agent and text-search baselines answer tag queries.

On HetRec Last.fm 2K the latest 20% of listener–tag assignments are held out; each query is a
tag's text with at least 5 held-out items (at most 300 tags, seeded), and its relevant items are
those tagged with it in the hold-out. Every model searches item text built from training tags
only (checked by :func:`~offline_eval.tag_query.check_no_tag_leakage`).

``--task tag-query-validation`` does the same inside the training period (the last 20% of the
training assignments are the hold-out): tune knobs there, never on the test queries.

Example:
    liner eval --task tag-query --dataset hetrec-lastfm-2k --data-root ../shared/datasets \
        --out eval-tags --models agent,bm25,text-embedding
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from offline_eval.datasets import EvalDataset
from offline_eval.errors import EvalError
from offline_eval.models.base import Recommender, Slates, register_model
from offline_eval.splits import Split
from offline_eval.tag_query import (
    TagCorpus,
    TagQueries,
    TextSearchModel,
    build_corpus,
    check_no_tag_leakage,
    hold_out,
    make_queries,
    tag_assignments,
)
from offline_eval.tasks import TaskData, register_task
from offline_eval.text_search import Bm25Search, EmbeddingSearch

logger = logging.getLogger(__name__)

TAG_QUERY_MODELS: tuple[str, ...] = ("agent", "bm25", "text-embedding")


class TagQueryTask:
    """Tag text in, ranked items out; see the module docstring.

    Args:
        validation: hold out the end of the training period instead of the test period.
        test_fraction: share of assignments (or pairs) held out.
        min_relevant: a tag becomes a query with at least this many held-out items.
        max_queries: at most this many queries (seeded sample).
        seed: seed of the query sample (and of the pair hold-out when there are no times).
    """

    name = "tag-query"

    def __init__(
        self,
        *,
        validation: bool = False,
        test_fraction: float = 0.2,
        min_relevant: int = 5,
        max_queries: int = 300,
        seed: int = 0,
    ) -> None:
        self.validation = validation
        self.test_fraction = test_fraction
        self.min_relevant = min_relevant
        self.max_queries = max_queries
        self.seed = seed
        self.corpus: TagCorpus | None = None
        self.queries: TagQueries | None = None

    def build(self, dataset: EvalDataset, split: Split) -> TaskData:
        """Hold out tag assignments, build leak-free item text and the queries.

        The interaction split is not used: relevance comes from the tag hold-out, and the
        popularity the metrics (and the agent) see counts only plays dated before the cut-off.
        """
        assignments, genres = tag_assignments(dataset)
        if assignments.empty:
            raise EvalError(f"{dataset.name}: no item carries a tag. Fix: use data with tags")
        train_tags, test_tags, kind, cutoff = hold_out(
            assignments, test_fraction=self.test_fraction, seed=self.seed
        )
        if self.validation:
            train_tags, test_tags, kind, cutoff = hold_out(
                train_tags, test_fraction=self.test_fraction, seed=self.seed + 1
            )
            kind += "-validation"
        plays = dataset.interactions
        if cutoff is not None:
            stamps = plays["timestamp"].to_numpy(dtype=np.float64)
            plays = plays[~(stamps >= cutoff)]
        items = dataset.items["item_id"].astype(str)
        listeners = plays.groupby("item_id")["user_id"].nunique()
        popularity = items.map(listeners).fillna(0).to_numpy(dtype=np.float64)
        corpus = build_corpus(dataset, train_tags, genres, popularity)
        check_no_tag_leakage(corpus, train_tags, test_tags)
        queries = make_queries(
            train_tags,
            test_tags,
            min_relevant=self.min_relevant,
            max_queries=self.max_queries,
            seed=self.seed,
            exclude_known=cutoff is None,
        )
        self.corpus, self.queries = corpus, queries
        when = (
            f"assignments from {pd.Timestamp(cutoff, unit='s'):%Y-%m-%d} on"
            if cutoff is not None
            else f"a seeded random {self.test_fraction:.0%} of (tag, item) pairs"
        )
        description = (
            f"{kind}: {len(test_tags):,} of {len(train_tags) + len(test_tags):,} listener–tag "
            "assignments held "
            f"out ({when}); {len(queries.text)} tag queries with ≥ {self.min_relevant} held-out "
            f"items (seed {self.seed}); item text from training tags only (leakage-checked)"
        )
        logger.info("%s", description)
        test = pd.DataFrame(
            [(q, i) for q, rel in sorted(queries.relevant.items()) for i in sorted(rel)],
            columns=["user_id", "item_id"],
        )
        return TaskData(
            train=plays,
            test=test,
            description=f"tag-query: query = a tag's text; relevant = items given that tag in "
            f"the hold-out. {description}",
            split_kind=kind,
            split_description=description,
            models=TAG_QUERY_MODELS,
            control="bm25",
        )

    def run(self, model: Recommender, query_ids: Sequence[str], k: int) -> Slates:
        """Index the corpus and ask the model every query; known items are left out."""
        if self.corpus is None or self.queries is None:
            raise EvalError("build() the tag-query task before run()")
        if not isinstance(model, TextSearchModel):
            raise EvalError(
                f"model {model.name!r} cannot answer text queries. Fix: --models "
                + ",".join(TAG_QUERY_MODELS)
            )
        model.index(self.corpus)
        known = self.queries.known
        extra = max((len(known.get(q, ())) for q in query_ids), default=0)
        slates = model.search({q: self.queries.text[q] for q in query_ids}, k + extra)
        return {
            q: [(i, s) for i, s in slates.get(q, []) if i not in known.get(q, ())][:k]
            for q in query_ids
        }


register_task("tag-query", TagQueryTask)
register_task("tag-query-validation", lambda: TagQueryTask(validation=True))
register_model("bm25", Bm25Search)
register_model("text-embedding", EmbeddingSearch)

__all__ = ["TAG_QUERY_MODELS", "TagQueryTask"]
