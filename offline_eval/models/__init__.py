"""Models evaluated by the harness: the common interface, the registry and the baselines."""

from __future__ import annotations

from offline_eval.models.als import AlsRecommender
from offline_eval.models.base import (
    ENTRY_POINT_GROUP,
    PLUGIN_MODULES,
    ModelFactory,
    ModelSpec,
    Recommender,
    Slates,
    available_models,
    create_model,
    load_plugins,
    register_model,
)
from offline_eval.models.ease import EaseRecommender
from offline_eval.models.itemknn import ItemKnnRecommender
from offline_eval.models.matrix import InteractionMatrix, ScoringRecommender
from offline_eval.models.popularity import PopularityRecommender

#: The baselines, in report order; ``liner`` registers itself from the pipeline package.
BASELINES: tuple[str, ...] = ("popularity", "itemknn", "als", "ease")

register_model("popularity", PopularityRecommender)
register_model("itemknn", ItemKnnRecommender)
register_model("als", AlsRecommender)
register_model("ease", EaseRecommender)

__all__ = [
    "BASELINES",
    "ENTRY_POINT_GROUP",
    "PLUGIN_MODULES",
    "AlsRecommender",
    "EaseRecommender",
    "InteractionMatrix",
    "ItemKnnRecommender",
    "ModelFactory",
    "ModelSpec",
    "PopularityRecommender",
    "Recommender",
    "ScoringRecommender",
    "Slates",
    "available_models",
    "create_model",
    "load_plugins",
    "register_model",
]
