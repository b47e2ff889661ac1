"""Evaluation tasks: what the queries are, what counts as relevant, and how a model answers.

``recommend`` (the default) asks each test listener's model for a slate and counts the
listener's held-out items as relevant. Other tasks (for example the agent's tag queries) plug
in with :func:`register_task` from a plugin module (see :data:`~offline_eval.models.base.
PLUGIN_MODULES`) without editing the harness.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from offline_eval.datasets import EvalDataset
from offline_eval.errors import EvalError
from offline_eval.models.base import Recommender, Slates, load_plugins
from offline_eval.splits import Split


@dataclass(frozen=True, kw_only=True)
class TaskData:
    """A task's queries and truth.

    Attributes:
        train: what models and popularity-based metrics may see (``user_id``, ``item_id``, ...).
        test: relevant pairs; ``user_id`` is the query id (a listener for ``recommend``).
        description: one sentence for the report.
        split_kind: the task's own hold-out, reported as the split (None: the interaction
            split's kind); ``split_description`` likewise.
        models: the task's default models (empty: the recommendation baselines).
        control: the task's default control model (None: the best baseline).
    """

    train: pd.DataFrame
    test: pd.DataFrame
    description: str
    split_kind: str | None = None
    split_description: str | None = None
    models: tuple[str, ...] = ()
    control: str | None = None


class EvalTask(Protocol):
    """A way of asking models for ranked items."""

    name: str

    def build(self, dataset: EvalDataset, split: Split) -> TaskData:
        """Queries and truth for this split."""
        ...

    def run(self, model: Recommender, query_ids: Sequence[str], k: int) -> Slates:
        """The model's top-``k`` answer per query id."""
        ...


class RecommendTask:
    """Personalised recommendation: held-out items of each test listener are relevant."""

    name = "recommend"

    def build(self, dataset: EvalDataset, split: Split) -> TaskData:
        """Use the split as is."""
        return TaskData(
            train=split.train,
            test=split.test,
            description="recommend: one slate per test listener; their held-out items are relevant",
        )

    def run(self, model: Recommender, query_ids: Sequence[str], k: int) -> Slates:
        """``model.recommend`` for every test listener."""
        return model.recommend(list(query_ids), k)


_TASKS: dict[str, Callable[[], EvalTask]] = {"recommend": RecommendTask}


def register_task(name: str, factory: Callable[[], EvalTask]) -> None:
    """Make ``--task name`` available."""
    _TASKS[name] = factory


def create_task(name: str) -> EvalTask:
    """The task registered as ``name``.

    Raises:
        EvalError: for an unknown task.
    """
    if name not in _TASKS:
        load_plugins()
    if name not in _TASKS:
        raise EvalError(f"unknown task {name!r}. Fix: use one of {sorted(_TASKS)}")
    return _TASKS[name]()


__all__ = ["EvalTask", "RecommendTask", "TaskData", "create_task", "register_task"]
