"""`liner eval --ray`: listeners' slates and bootstrap resamples as tasks over partitions.

Inside :func:`recsys.parallel.use_backend` with a distributed backend (the Ray cluster of
``liner eval --ray``, :class:`recsys.distributed.RayBackend`):

* :func:`run_slates` asks a fitted model for the slates of one partition of the test
  listeners per task (the model is shipped to the cluster once, through Ray's object store);
* :func:`evaluate_resamples` scores every model on one chunk of bootstrap resamples per task.

The resample weights are drawn in this process exactly as locally and the slates of a listener
do not depend on which other listeners share the call, so the figures are the local figures.
Without a backend both run in this process, as before. A model that cannot be pickled (one
holding a store connection or a temporary artifact directory) answers in this process, logged.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from offline_eval.metrics.scorecard import Scorecard
from offline_eval.models.base import Recommender, Slates
from offline_eval.tasks import EvalTask
from recsys.parallel import active_backend, parallel_map, use_backend

logger = logging.getLogger(__name__)

LISTENERS_PER_TASK = 256
"""Test listeners per task: each task answers this many slates with the shipped model."""


class _Counter:
    """A write-only sink: pickling into it checks picklability without keeping the bytes."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: Any) -> int:
        n = memoryview(data).nbytes
        self.size += n
        return n


def _why_not_picklable(obj: object) -> str | None:
    try:
        pickle.Pickler(_Counter(), protocol=5).dump(obj)
    except Exception as exc:  # any pickling failure means: run it here
        return f"{type(exc).__name__}: {exc}"
    return None


def _slates_part(task: EvalTask, model: Recommender, k: int, users: Sequence[str]) -> Slates:
    return task.run(model, list(users), k)


def run_slates(
    task: EvalTask,
    model: Recommender,
    users: Sequence[str],
    k: int,
    *,
    per_task: int | None = None,
) -> Slates:
    """``task.run(model, users, k)``, as one task per ``per_task`` listeners on a backend
    (default :data:`LISTENERS_PER_TASK`)."""
    per_task = per_task or LISTENERS_PER_TASK
    backend = active_backend()
    if backend is None or not getattr(backend, "distributed", False) or len(users) <= per_task:
        return task.run(model, users, k)
    why = _why_not_picklable((task, model))
    if why is not None:
        logger.warning("%s answers in this process (cannot be sent to workers: %s)", model, why)
        return task.run(model, users, k)
    parts = [list(users[a : a + per_task]) for a in range(0, len(users), per_task)]
    answers = parallel_map(partial(_slates_part, task, model, k), parts, desc="slates", partition=1)
    slates: Slates = {}
    for part in answers:
        slates.update(part)  # type: ignore[arg-type]
    return slates


def _evaluate_chunk(
    scorecards: Mapping[str, Scorecard], weights: np.ndarray
) -> dict[str, dict[str, np.ndarray]]:
    return {model: card.evaluate(weights) for model, card in scorecards.items()}


def evaluate_resamples(
    scorecards: Mapping[str, Scorecard], chunks: Sequence[np.ndarray], *, progress: bool = True
) -> list[dict[str, dict[str, np.ndarray]]]:
    """Every model's figures on each chunk of resample weights, in order.

    One task per chunk on a distributed backend; in this process otherwise.
    """
    backend = active_backend()
    if backend is not None and getattr(backend, "distributed", False) and len(chunks) > 1:
        return parallel_map(  # type: ignore[return-value]
            partial(_evaluate_chunk, dict(scorecards)), chunks, desc="bootstrap", partition=1
        )
    return [
        _evaluate_chunk(scorecards, w)
        for w in tqdm(chunks, desc="bootstrap", unit="x100", disable=not progress)
    ]


@contextmanager
def on_ray(address: str | None) -> Iterator[Any]:
    """Run the evaluation's partitioned work on Ray inside the block (None: locally).

    ``address`` is ``"local"`` for a local cluster started here (stopped at the end), or a
    cluster address (``auto``, ``ray://head:10001``). Yields the backend (or None); its
    ``report`` lists each map's partitions, retries and seconds.
    """
    if address is None:
        yield None
        return
    from recsys.distributed import RayBackend

    backend = RayBackend(None if address == "local" else address).start()
    try:
        with use_backend(backend):
            yield backend
    finally:
        backend.close()


__all__ = ["LISTENERS_PER_TASK", "evaluate_resamples", "on_ray", "run_slates"]
