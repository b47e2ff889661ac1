"""A/B experiments: YAML configs, validation, GrowthBook-compatible assignment, hot reload and
online analysis. See docs/experiments.md."""

from recsys.experiments.assignment import (
    Assignment,
    Exposure,
    ExposureRecord,
    exposure_records,
    parse_label,
)
from recsys.experiments.config import (
    METRICS,
    ExperimentConfig,
    Guardrail,
    MetricGoal,
    Variant,
)
from recsys.experiments.experiment_set import ExperimentSet, load_experiments
from recsys.experiments.problems import ExperimentConfigError, Problem
from recsys.experiments.registry import ExperimentRegistry
from recsys.experiments.validate import load_experiment_file

__all__ = [
    "METRICS",
    "Assignment",
    "ExperimentConfig",
    "ExperimentConfigError",
    "ExperimentRegistry",
    "ExperimentSet",
    "Exposure",
    "ExposureRecord",
    "Guardrail",
    "MetricGoal",
    "Problem",
    "Variant",
    "exposure_records",
    "load_experiment_file",
    "load_experiments",
    "parse_label",
]
