"""Offline evaluation harness: datasets, splits, baselines, metrics, statistics, reports.

Example:
    >>> from offline_eval import run_evaluation
    >>> result = run_evaluation(  # doctest: +SKIP
    ...     dataset="hetrec-lastfm-2k", data_root="../shared/datasets", out="eval-out"
    ... )
"""

from offline_eval.datasets import EvalDataset, load_dataset, load_folder
from offline_eval.errors import DatasetError, EvalError, LeakageError
from offline_eval.models import ModelSpec, Recommender, create_model, register_model
from offline_eval.runner import EvalResult, run_evaluation
from offline_eval.splits import Split, check_no_leakage, make_split
from offline_eval.tasks import EvalTask, TaskData, register_task

__all__ = [
    "DatasetError",
    "EvalDataset",
    "EvalError",
    "EvalResult",
    "EvalTask",
    "LeakageError",
    "ModelSpec",
    "Recommender",
    "Split",
    "TaskData",
    "check_no_leakage",
    "create_model",
    "load_dataset",
    "load_folder",
    "make_split",
    "register_model",
    "register_task",
    "run_evaluation",
]
