"""The model interface every evaluated recommender implements, and the model registry.

Baselines register themselves here; the Liner Notes pipeline and any other model plug in
without editing the harness, in one of three ways:

1. call ``register_model("name", factory)`` before the run (Python API);
2. expose it in a plugin module listed in :data:`PLUGIN_MODULES` that calls
   ``register_model`` when imported (``offline_eval.models.liner`` registers the served
   pipeline ``liner``; the adapters live beside the harness, so the product never imports it);
3. declare an entry point in the ``linernotes.eval_models`` group (``name = "module:factory"``).

A name ``base:variant`` (``liner:treatment``) resolves to the factory of ``base``, which gets
the variant name and its :class:`~recsys.params.PolicyParams` in the :class:`ModelSpec`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from offline_eval.errors import EvalError

if TYPE_CHECKING:
    from offline_eval.datasets import EvalDataset
    from offline_eval.splits import Split
    from recsys.params import PolicyParams

logger = logging.getLogger(__name__)

#: Modules imported (if importable) the first time an unknown model or task name is asked for.
PLUGIN_MODULES: tuple[str, ...] = (
    "offline_eval.models.liner",
    "offline_eval.models.liner_ensemble",
    "offline_eval.models.library",
    "offline_eval.agent_task",
)
ENTRY_POINT_GROUP = "linernotes.eval_models"

#: What ``recommend`` returns: user id -> [(item id, score)], best first, at most k long.
Slates = dict[str, list[tuple[str, float]]]


@runtime_checkable
class Recommender(Protocol):
    """A model the harness can evaluate.

    ``fit`` sees only the training interactions (``train.interactions``) and the whole catalog
    (``train.items``, with provenance); ``recommend`` must never return an item the user has in
    training.
    """

    name: str

    def fit(self, train: EvalDataset, split: Split) -> None:
        """Learn from the training side of ``split`` (``train.interactions == split.train``)."""
        ...

    def recommend(self, user_ids: Sequence[str], k: int) -> Slates:
        """Top-``k`` unseen items per user, best first. Unknown users may get [] or a fallback."""
        ...


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """What a model factory is given.

    Attributes:
        name: the name reported (``ease``, ``liner``, ``liner:treatment``).
        base: the registered name (``liner`` for ``liner:treatment``).
        variant: the variant name, or None.
        params: the variant's pipeline parameters (None: the factory's defaults).
        seed: random seed for anything stochastic.
        threads: CPU threads the model may use.
        options: free-form options (``--model-option key=value``), model-specific.
    """

    name: str
    base: str
    variant: str | None = None
    params: PolicyParams | None = None
    seed: int = 0
    threads: int = 1
    options: Mapping[str, Any] = field(default_factory=dict)


ModelFactory = Callable[[ModelSpec], Recommender]

_REGISTRY: dict[str, ModelFactory] = {}
_plugins_loaded = False


def register_model(name: str, factory: ModelFactory, *, replace: bool = False) -> None:
    """Make ``name`` (and ``name:<variant>``) available to the harness.

    Raises:
        EvalError: when ``name`` is taken and ``replace`` is False, or contains ``:``.
    """
    if ":" in name:
        raise EvalError(f"model name {name!r} may not contain ':' (it separates the variant)")
    if name in _REGISTRY and not replace and _REGISTRY[name] is not factory:
        raise EvalError(f"model {name!r} is already registered. Fix: pass replace=True")
    _REGISTRY[name] = factory


def load_plugins() -> None:
    """Import plugin modules and entry points once, so their models and tasks register."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for module in PLUGIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise
            logger.debug("plugin module %s not present", module)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _REGISTRY:
            register_model(ep.name, ep.load())


def available_models() -> list[str]:
    """Registered model names, sorted."""
    load_plugins()
    return sorted(_REGISTRY)


def create_model(
    name: str,
    *,
    params: PolicyParams | None = None,
    seed: int = 0,
    threads: int = 1,
    options: Mapping[str, Any] | None = None,
) -> Recommender:
    """Build the model registered as ``name`` (``base`` or ``base:variant``).

    Raises:
        EvalError: for an unknown name.
    """
    base, _, variant = name.partition(":")
    if base not in _REGISTRY:
        load_plugins()
    if base not in _REGISTRY:
        raise EvalError(f"unknown model {base!r}. Fix: use one of {available_models()}")
    spec = ModelSpec(
        name=name,
        base=base,
        variant=variant or None,
        params=params,
        seed=seed,
        threads=threads,
        options=dict(options or {}),
    )
    model = _REGISTRY[base](spec)
    model.name = name
    return model


__all__ = [
    "ENTRY_POINT_GROUP",
    "PLUGIN_MODULES",
    "ModelFactory",
    "ModelSpec",
    "Recommender",
    "Slates",
    "available_models",
    "create_model",
    "load_plugins",
    "register_model",
]
