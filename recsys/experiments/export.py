"""Exports for the experiment team: every listener's assignments as a table, and each
experiment as a GrowthBook experiment definition that buckets every listener the same way."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pandas as pd

from recsys.experiments.config import HOLDOUT_VARIANT, ExperimentConfig
from recsys.experiments.experiment_set import ExperimentSet
from recsys.experiments.hashing import bucket_ranges, holdout_ranges

ASSIGNMENT_COLUMNS = ("listener_id", "experiment", "layer", "variant", "in_holdout", "label")


def assignments_frame(
    experiments: ExperimentSet, listener_ids: Iterable[str], *, now: datetime
) -> pd.DataFrame:
    """One row per (listener, experiment they are exposed to), with the listener's full
    label; listeners in no running experiment get one row with empty experiment fields.

    Example:
        >>> exps = load_experiments(Path("experiments"))  # doctest: +SKIP
        >>> assignments_frame(exps, ["u1"], now=now)  # doctest: +SKIP
    """
    rows: list[tuple[Any, ...]] = []
    for listener_id in listener_ids:
        assignment = experiments.assign(listener_id, now=now)
        if not assignment.exposures:
            rows.append((listener_id, "", "", "", False, ""))
        for e in assignment.exposures:
            rows.append(
                (listener_id, e.experiment, e.layer, e.variant, e.in_holdout, assignment.label)
            )
    return pd.DataFrame.from_records(rows, columns=list(ASSIGNMENT_COLUMNS))


def growthbook_experiment(config: ExperimentConfig) -> dict[str, Any]:
    """The GrowthBook SDK experiment (``Experiment(**definition)``) that assigns every listener
    (attribute ``id``) to the same variant as the service (see docs/experiments.md).

    With a holdout, explicit ``ranges`` list the variant ranges then the holdout ranges, and
    the variations gain a trailing ``holdout`` entry, since GrowthBook has no holdout field.
    """
    weights = list(config.weights)
    variations = [v.name for v in config.variants]
    definition: dict[str, Any] = {
        "key": config.name,
        "variations": variations,
        "weights": weights,
        "coverage": config.traffic,
        "hashAttribute": "id",
        "hashVersion": 2,
        "seed": config.salt,
        "meta": [{"key": v.name, "name": v.name} for v in config.variants],
    }
    if config.range != (0.0, 1.0):
        definition["namespace"] = [config.layer, config.range[0], config.range[1]]
    if config.holdout > 0:
        ranges = [
            list(r)
            for r in (
                *bucket_ranges(weights, config.traffic),
                *holdout_ranges(weights, config.traffic, config.holdout),
            )
        ]
        definition["ranges"] = ranges
        # One holdout variation per holdout range, so variation ids line up with ranges.
        definition["variations"] = variations + [HOLDOUT_VARIANT] * len(weights)
        definition["weights"] = [r[1] - r[0] for r in ranges]
        definition["meta"] = definition["meta"] + [
            {"key": HOLDOUT_VARIANT, "name": HOLDOUT_VARIANT} for _ in weights
        ]
        del definition["coverage"]
    return definition


def growthbook_definitions(experiments: ExperimentSet) -> dict[str, Any]:
    """Every experiment of the set as :func:`growthbook_experiment`, with its dates."""
    return {
        "experiments": [
            {
                **growthbook_experiment(cfg),
                "start": cfg.start.isoformat(),
                "end": cfg.end.isoformat(),
            }
            for cfg in experiments.experiments
        ]
    }


__all__ = [
    "ASSIGNMENT_COLUMNS",
    "assignments_frame",
    "growthbook_definitions",
    "growthbook_experiment",
]
