"""Shared fixtures: a helper that writes experiment files from dicts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML


def experiment_dict(name: str = "exp-a", **changes: Any) -> dict[str, Any]:
    """A valid experiment as a dict; ``changes`` replace top-level fields."""
    base: dict[str, Any] = {
        "name": name,
        "description": "A test experiment.",
        "owner": "pm@example.org",
        "salt": name,
        "layer": "home",
        "traffic": 1.0,
        "holdout": 0.0,
        "start": date(2026, 1, 1),
        "end": date(2027, 1, 1),
        "primary_metric": "play_through_rate",
        "guardrails": [{"metric": "skip_rate", "direction": "lower_is_better", "threshold": 0.02}],
        "control": "control",
        "variants": [
            {"name": "control", "weight": 0.5, "overrides": {}},
            {"name": "treatment", "weight": 0.5, "overrides": {"human_artist_boost": 0.3}},
        ],
    }
    base.update(changes)
    return base


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as block-style YAML (one key per line, so line numbers are stable)."""
    yaml = YAML()
    yaml.default_flow_style = False
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(data, handle)
    return path


@pytest.fixture
def write_experiment(tmp_path: Path) -> Callable[..., Path]:
    """``write_experiment("file.yaml", name=..., **changes)`` → the written path."""

    def write(filename: str = "exp.yaml", folder: Path | None = None, **changes: Any) -> Path:
        target = folder or tmp_path
        target.mkdir(parents=True, exist_ok=True)
        name = changes.pop("name", Path(filename).stem)
        return write_yaml(target / filename, experiment_dict(name, **changes))

    return write
