"""`liner experiments validate | assign | analyze` through click's runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from recsys.cli import main
from recsys.experiments import load_experiments
from recsys.experiments.simulate import SimulationConfig, simulate_logs, write_folder
from tests.recsys.experiments.test_analysis import GUARDRAILS

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


def _analyze(
    tmp_path: Path, write_experiment: Callable[..., Path], harm: bool = False, **sim: Any
) -> Any:
    """Simulated logs of experiment ``a`` (3,000 listeners), analysed through the CLI; with
    ``harm`` the treatment shows many more AI-generated tracks (a guardrail fails)."""
    write_experiment(
        "a.yaml", folder=tmp_path / "exps", traffic=0.9, holdout=0.1, guardrails=GUARDRAILS
    )
    slates, events = simulate_logs(
        load_experiments(tmp_path / "exps"),
        SimulationConfig(listeners=3000, slates_per_listener=1, now=NOW, **sim),
    )
    if harm:
        for slate in slates:
            if slate["variant"] == "a:treatment":
                for item in slate["items"][:3]:
                    item["ai_involvement"] = "GENERATED"
    write_folder(tmp_path / "logs", slates, events)
    args = ["experiments", "analyze", "--logs", str(tmp_path / "logs")]
    args += ["--dir", str(tmp_path / "exps"), "--out", str(tmp_path / "out")]
    return CliRunner().invoke(main, args)


def test_analyze_writes_report_and_exits_0_when_nothing_is_wrong(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    result = _analyze(tmp_path, write_experiment, effects={"a:treatment": 1.25}, seed=1)
    assert result.exit_code == 0, result.output
    assert "a: ship treatment" in result.output
    assert (tmp_path / "out" / "analysis.json").exists()
    assert (tmp_path / "out" / "report.html").exists()


def test_analyze_exits_3_on_a_sample_ratio_mismatch(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    result = _analyze(
        tmp_path, write_experiment, effects={"a:treatment": 1.25}, drop={"a:treatment": 0.2}, seed=2
    )
    assert result.exit_code == 3, result.output
    assert "SAMPLE RATIO MISMATCH" in result.output
    assert (tmp_path / "out" / "analysis.json").exists()


def test_analyze_exits_4_when_a_guardrail_fails(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    result = _analyze(tmp_path, write_experiment, effects={"a:treatment": 1.25}, seed=4, harm=True)
    assert result.exit_code == 4, result.output
    assert "a guardrail failed" in result.output


def test_validate_refuses_files_that_look_like_configs_but_are_never_read(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    write_experiment("a.yaml")
    for name in ("b.YAML", "c.yaml.txt", ".d.yaml", "e.yml.bak"):
        (tmp_path / name).write_text((tmp_path / "a.yaml").read_text())
    (tmp_path / "README.md").write_text("notes\n")
    result = CliRunner().invoke(main, ["experiments", "validate", str(tmp_path)])
    assert result.exit_code == 1
    for name, readable in (("b.YAML", "b.yaml"), ("c.yaml.txt", "c.yaml"), (".d.yaml", "d.yaml")):
        assert f"{name}: looks like an experiment config" in result.output
        assert f"rename it to {readable}" in result.output
    assert "e.yml.bak" in result.output and "README.md" not in result.output


def test_weights_within_the_documented_tolerance_are_accepted(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    variants = [
        {"name": "control", "weight": 0.33},
        {"name": "x", "weight": 0.33, "overrides": {"human_artist_boost": 0.2}},
        {"name": "y", "weight": 0.33, "overrides": {"human_artist_boost": 0.3}},
    ]
    write_experiment("a.yaml", variants=variants)
    result = CliRunner().invoke(main, ["experiments", "validate", str(tmp_path)])
    assert result.exit_code == 0, result.output


def test_every_command_has_help_with_example() -> None:
    for command in ([], ["validate"], ["assign"], ["analyze"]):
        result = CliRunner().invoke(main, ["experiments", *command, "--help"])
        assert result.exit_code == 0 and "Example:" in result.output, command


def test_assign_explain_says_why_for_every_experiment(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    write_experiment("a.yaml", traffic=0.5, holdout=0.2, range=[0.0, 0.5], layer="home")
    experiments = load_experiments(tmp_path)
    reasons = {experiments.explain(f"user-{i}", now=NOW)["a"].split(" ")[0] for i in range(400)}
    assert reasons == {"enrolled", "held", "not"}
    texts = " ".join(experiments.explain(f"user-{i}", now=NOW)["a"] for i in range(400))
    assert "outside the experiment's share [0, 0.5) of layer 'home'" in texts
    assert "outside the traffic share 0.5 and the holdout 0.2" in texts
    late = experiments.explain("user-1", now=datetime(2030, 1, 1, tzinfo=UTC))["a"]
    assert late.startswith("not enrolled: the experiment has ended")
    for i in range(400):  # the explanation agrees with the assignment
        assigned = experiments.assign(f"user-{i}", now=NOW)
        why = experiments.explain(f"user-{i}", now=NOW)["a"]
        if assigned.exposures and not assigned.exposures[0].in_holdout:
            assert why.startswith(f"enrolled in variant '{assigned.exposures[0].variant}'")
        elif assigned.exposures:
            assert why.startswith("held out")
        else:
            assert why.startswith("not enrolled")
    result = CliRunner().invoke(
        main, ["experiments", "assign", "user-1", "--dir", str(tmp_path), "--at", "2026-06-01",
               "--explain"],
    )  # fmt: skip
    assert result.exit_code == 0 and result.output.startswith("a: ")


def test_export_writes_assignments_and_growthbook_definitions_that_agree_with_the_sdk(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    import pandas as pd
    from growthbook import Experiment, GrowthBook

    exps = tmp_path / "exps"
    write_experiment("a.yaml", folder=exps, traffic=0.6, holdout=0.2, range=[0.2, 0.9])
    variants = [
        {"name": "control", "weight": 0.3, "overrides": {}},
        {"name": "x", "weight": 0.7, "overrides": {"ai_generated_cap": 0.1}},
    ]
    write_experiment("b.yaml", folder=exps, traffic=0.8, layer="radio", variants=variants)
    ids = [f"listener-{i}" for i in range(300)]
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
    result = CliRunner().invoke(
        main, ["experiments", "export", "--dir", str(exps), "--listeners",
               str(tmp_path / "ids.txt"), "--out", str(tmp_path / "out"), "--at", "2026-06-01"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "out" / "assignments.csv", keep_default_na=False)
    assert set(table["listener_id"]) == set(ids)
    definitions = json.loads((tmp_path / "out" / "growthbook.json").read_text())["experiments"]
    assert {d["key"] for d in definitions} == {"a", "b"}
    for definition in definitions:
        kwargs = {k: v for k, v in definition.items() if k not in ("start", "end", "meta")}
        if "namespace" in kwargs:
            kwargs["namespace"] = tuple(kwargs["namespace"])
        if "ranges" in kwargs:
            kwargs["ranges"] = [tuple(r) for r in kwargs["ranges"]]
        mine = table[table["experiment"] == definition["key"]].set_index("listener_id")
        for uid in ids:
            run = GrowthBook(attributes={"id": uid}).run(Experiment(**kwargs))
            theirs = definition["variations"][run.variationId] if run.inExperiment else None
            ours = mine.loc[uid, "variant"] if uid in mine.index else None
            assert theirs == ours, (definition["key"], uid)
