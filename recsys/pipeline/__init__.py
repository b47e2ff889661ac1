"""The recommendation pipeline: candidates → hard filters → features → LightGBM reranker →
artist-first policy → slate (+ slate log)."""

from recsys.pipeline.api import (
    Recommendation,
    RecommendedItem,
    Recommender,
    RecommendRequest,
    RequestFilters,
)
from recsys.pipeline.catalog import CatalogSnapshot
from recsys.pipeline.loader import catalog_from_store, load_recommender
from recsys.pipeline.recommender import PipelineRecommender
from recsys.pipeline.reranker import LightGbmReranker, LinearScorer, RankingData
from recsys.pipeline.slate_log import SlateLogger

__all__ = [
    "CatalogSnapshot",
    "LightGbmReranker",
    "LinearScorer",
    "PipelineRecommender",
    "RankingData",
    "RecommendRequest",
    "Recommendation",
    "RecommendedItem",
    "Recommender",
    "RequestFilters",
    "SlateLogger",
    "catalog_from_store",
    "load_recommender",
]
