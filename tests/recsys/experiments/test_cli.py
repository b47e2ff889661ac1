"""`liner experiments validate | assign | analyze` through click's runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from recsys.cli import main
from recsys.experiments import load_experiments
from recsys.experiments.simulate import SimulationConfig, simulate_logs, write_folder

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_validate_ok_and_errors(tmp_path: Path, write_experiment: Callable[..., Path]) -> None:
    write_experiment("a.yaml", folder=tmp_path / "good")
    result = CliRunner().invoke(main, ["experiments", "validate", str(tmp_path / "good")])
    assert result.exit_code == 0, result.output
    assert "ok  a (a.yaml)" in result.output and "1 file valid." in result.output

    write_experiment(
        "b.yaml",
        folder=tmp_path / "bad",
        variants=[{"name": "control"}, {"name": "x", "overrides": {"labels": False}}],
    )
    result = CliRunner().invoke(main, ["experiments", "validate", str(tmp_path / "bad")])
    assert result.exit_code == 1
    assert "b.yaml:" in result.output and "field 'variants[1].overrides.labels'" in result.output


def test_assign_json(tmp_path: Path, write_experiment: Callable[..., Path]) -> None:
    write_experiment("a.yaml")
    args = [
        "experiments",
        "assign",
        "user-5",
        "--dir",
        str(tmp_path),
        "--at",
        "2026-06-01",
        "--json",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    expected = load_experiments(tmp_path).assign("user-5", now=NOW)
    assert payload["label"] == expected.label
    assert payload["params"]["human_artist_boost"] == expected.params.human_artist_boost
    text = CliRunner().invoke(main, args[:-1])
    assert text.exit_code == 0 and "a [home]:" in text.output


def test_analyze_writes_report(tmp_path: Path, write_experiment: Callable[..., Path]) -> None:
    write_experiment("a.yaml", folder=tmp_path / "exps")
    slates, events = simulate_logs(
        load_experiments(tmp_path / "exps"),
        SimulationConfig(listeners=200, slates_per_listener=1, now=NOW),
    )
    write_folder(tmp_path / "logs", slates, events)
    args = [
        "experiments",
        "analyze",
        "--logs",
        str(tmp_path / "logs"),
        "--dir",
        str(tmp_path / "exps"),
        "--out",
        str(tmp_path / "out"),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "a: don't ship" in result.output or "a: ship" in result.output
    assert (tmp_path / "out" / "analysis.json").exists()
    assert (tmp_path / "out" / "report.html").exists()


def test_every_command_has_help_with_example() -> None:
    for command in ([], ["validate"], ["assign"], ["analyze"]):
        result = CliRunner().invoke(main, ["experiments", *command, "--help"])
        assert result.exit_code == 0 and "Example:" in result.output, command
