"""Rules between experiment files."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from recsys.errors import ConfigError
from recsys.experiments import ExperimentConfigError, load_experiments


def _problems(folder: Path) -> list[str]:
    with pytest.raises(ExperimentConfigError) as info:
        load_experiments(folder)
    return [str(p) for p in info.value.problems]


def test_overlapping_ranges_in_a_layer_are_refused(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    write_experiment("a.yaml", range=[0.0, 0.6])
    b = write_experiment("b.yaml", range=[0.5, 1.0])
    problems = _problems(tmp_path)
    assert len(problems) == 1
    line = b.read_text().splitlines().index("range:") + 1
    assert problems[0].startswith(f"{b}:{line}: field 'range'")
    assert "overlaps 'a' (a.yaml) range [0, 0.6] in layer 'home'" in problems[0]
    assert "e.g. [0.6, 1.0]" in problems[0]


def test_same_range_at_different_times_is_allowed(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    write_experiment("a.yaml", start=date(2026, 1, 1), end=date(2026, 2, 1))
    write_experiment("b.yaml", start=date(2026, 2, 1), end=date(2026, 3, 1))
    assert len(load_experiments(tmp_path).experiments) == 2


def test_two_layers_overriding_one_parameter_are_refused(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    write_experiment("a.yaml", layer="home")
    write_experiment("b.yaml", layer="radio")  # both override human_artist_boost
    problems = _problems(tmp_path)
    assert len(problems) == 1
    assert "field 'variants[1].overrides.human_artist_boost'" in problems[0]
    assert "also overridden by 'a' (a.yaml) in layer 'home'" in problems[0]


def test_duplicate_names_and_salts_are_refused(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    write_experiment("a.yaml", name="same", range=[0.0, 0.5])
    write_experiment("b.yaml", name="same", range=[0.5, 1.0])
    problems = _problems(tmp_path)
    assert any(
        "field 'name': experiment name 'same' is already used by a.yaml" in p for p in problems
    )
    assert any("field 'salt'" in p for p in problems)


def test_problems_from_every_file_are_reported(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    write_experiment("a.yaml", traffic=3)
    write_experiment("b.yaml", layer="radio", holdout=2)
    problems = _problems(tmp_path)
    assert any("a.yaml" in p and "'traffic'" in p for p in problems)
    assert any("b.yaml" in p and "'holdout'" in p for p in problems)


def test_empty_and_missing_folders(tmp_path: Path) -> None:
    assert load_experiments(tmp_path).experiments == ()
    with pytest.raises(ConfigError, match="does not exist"):
        load_experiments(tmp_path / "nope")
