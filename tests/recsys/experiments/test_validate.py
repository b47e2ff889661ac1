"""Validation: every kind of invalid config gets an error naming file, line, field and fix."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from recsys.errors import ConfigError
from recsys.experiments import ExperimentConfigError, load_experiment_file, load_experiments
from recsys.experiments.schema import markdown_table, parameter_specs
from tests.recsys.experiments.conftest import experiment_dict, write_yaml

REPO = Path(__file__).resolve().parents[3]


def _variants(*overrides: dict[str, Any], weights: tuple[float, ...] = (0.5, 0.5)) -> list[Any]:
    names = ["control", "treatment", "third"]
    return [
        {"name": names[i], "weight": w, "overrides": o}
        for i, (w, o) in enumerate(zip(weights, overrides, strict=True))
    ]


# (id, changes, field, text on the expected line, words in the problem, words in "allowed")
CASES: list[tuple[str, dict[str, Any], str, str, str, str]] = [
    (
        "labels-off",
        {"variants": _variants({}, {"labels": False})},
        "variants[1].overrides.labels",
        "labels:",
        "cannot be turned off",
        "only true",
    ),
    (
        "consent-bypass",
        {"variants": _variants({}, {"enforce_consent": False})},
        "variants[1].overrides.enforce_consent",
        "enforce_consent:",
        "cannot be bypassed",
        "only true",
    ),
    (
        "ai-cap-above-bound",
        {"variants": _variants({}, {"ai_generated_cap": 0.5})},
        "variants[1].overrides.ai_generated_cap",
        "ai_generated_cap:",
        "less than or equal to 0.3",
        "[0, 0.3]",
    ),
    (
        "negative-boost",
        {"variants": _variants({}, {"human_artist_boost": -0.1})},
        "variants[1].overrides.human_artist_boost",
        "human_artist_boost:",
        "greater than",
        "[0, 0.5]",
    ),
    (
        "unknown-param",
        {"variants": _variants({}, {"human_artist_bost": 0.2})},
        "variants[1].overrides.human_artist_bost",
        "human_artist_bost:",
        "unknown parameter",
        "did you mean 'human_artist_boost'",
    ),
    (
        "unknown-quota",
        {"variants": _variants({}, {"candidates": {"populr": 5}})},
        "variants[1].overrides.candidates.populr",
        "populr:",
        "unknown parameter",
        "did you mean 'candidates.popular'",
    ),
    (
        "quota-not-mapping",
        {"variants": _variants({}, {"candidates": 5})},
        "variants[1].overrides.candidates",
        "candidates:",
        "must be a mapping",
        "popular",
    ),
    (
        "bad-model-id",
        {"variants": _variants({}, {"reranker_model_id": "a b"})},
        "variants[1].overrides.reranker_model_id",
        "reranker_model_id:",
        "pattern",
        "e.g. 'default'",
    ),
    (
        "wrong-type",
        {"variants": _variants({}, {"emerging_artist_slots": "two"})},
        "variants[1].overrides.emerging_artist_slots",
        "emerging_artist_slots:",
        "integer",
        "[1, 3]",
    ),
    (
        "weights-sum",
        {"variants": _variants({}, {}, weights=(0.5, 0.6))},
        "variants",
        "variants:",
        "sum to 1.1",
        "summing to 1",
    ),
    (
        "weight-zero",
        {"variants": _variants({}, {}, weights=(1.0, 0.0))},
        "variants[1].weight",
        "weight: 0",
        "greater than 0",
        "(0, 1]",
    ),
    (
        "weight-missing",
        {"variants": [{"name": "control", "weight": 1.0}, {"name": "treatment"}]},
        "variants[1].weight",
        "- name: treatment",
        "missing",
        "every variant a weight",
    ),
    (
        "one-variant",
        {"variants": _variants({}, weights=(1.0,))},
        "variants",
        "variants:",
        "at least 2",
        "at least two",
    ),
    (
        "control-missing",
        {"control": "baseline"},
        "control",
        "control: baseline",
        "'baseline' is not a variant",
        "one of control, treatment",
    ),
    (
        "duplicate-variant",
        {"variants": [{"name": "control"}, {"name": "control"}]},
        "variants[1].name",
        "- name: control",
        "repeated",
        "unique",
    ),
    (
        "holdout-name",
        {"variants": [{"name": "control"}, {"name": "holdout"}]},
        "variants[1].name",
        "- name: holdout",
        "reserved",
        "any other name",
    ),
    (
        "traffic-above-1",
        {"traffic": 1.5},
        "traffic",
        "traffic:",
        "less than or equal to 1",
        "[0, 1]",
    ),
    (
        "traffic-plus-holdout",
        {"traffic": 0.8, "holdout": 0.3},
        "holdout",
        "holdout:",
        "exceeds 1",
        "traffic + holdout <= 1",
    ),
    (
        "end-before-start",
        {"start": date(2026, 5, 1), "end": date(2026, 4, 1)},
        "end",
        "end:",
        "not after start",
        "after start",
    ),
    ("range-reversed", {"range": [0.6, 0.2]}, "range", "range:", "not inside", "[0.0, 0.5]"),
    ("bad-name", {"name": "My Test"}, "name", "name: My Test", "pattern", "lowercase"),
    (
        "unknown-field",
        {"trafic": 0.5},
        "trafic",
        "trafic:",
        "unknown field",
        "did you mean 'traffic'",
    ),
    (
        "unknown-metric",
        {"primary_metric": "clicks"},
        "primary_metric.metric",
        "primary_metric:",
        "clicks",
        "play_through_rate",
    ),
    (
        "bad-guardrail-direction",
        {"guardrails": [{"metric": "skip_rate", "direction": "down", "threshold": 0.01}]},
        "guardrails[0].direction",
        "direction: down",
        "down",
        "higher_is_better",
    ),
    (
        "params-given",
        {"variants": [{"name": "control", "params": {"mmr_lambda": 0.1}}, {"name": "treatment"}]},
        "variants[0].params",
        "params:",
        "computed from overrides",
        "human_artist_boost",
    ),
    ("missing-owner", {"owner": None}, "owner", "owner:", "valid string", "e-mail"),
]


@pytest.mark.parametrize(
    ("changes", "field", "line_text", "problem", "allowed"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_invalid_config_is_explained(
    tmp_path: Path,
    changes: dict[str, Any],
    field: str,
    line_text: str,
    problem: str,
    allowed: str,
) -> None:
    path = write_yaml(tmp_path / "bad.yaml", {**experiment_dict("bad"), **changes})
    with pytest.raises(ExperimentConfigError) as info:
        load_experiment_file(path)
    matches = [p for p in info.value.problems if p.field == field]
    assert matches, [str(p) for p in info.value.problems]
    found = matches[0]
    lines = path.read_text().splitlines()
    assert found.line is not None and line_text in lines[found.line - 1], (found, lines)
    assert found.file == str(path)
    assert problem in found.problem, found
    assert allowed in found.allowed, found
    message = str(info.value)
    assert f"{path}:{found.line}: field '{field}'" in message


def test_missing_field_reported(tmp_path: Path) -> None:
    data = experiment_dict("x")
    del data["salt"]
    path = write_yaml(tmp_path / "x.yaml", data)
    with pytest.raises(ExperimentConfigError) as info:
        load_experiment_file(path)
    assert [(p.field, p.problem) for p in info.value.problems] == [
        ("salt", "required field is missing")
    ]


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    changes = {"traffic": 2, "control": "x", "variants": _variants({"labels": False}, {})}
    path = write_yaml(tmp_path / "x.yaml", experiment_dict("x", **changes))
    with pytest.raises(ExperimentConfigError) as info:
        load_experiment_file(path)
    assert {p.field for p in info.value.problems} >= {
        "traffic",
        "control",
        "variants[0].overrides.labels",
    }


@pytest.mark.parametrize(
    ("text", "line"),
    [("name: [unclosed\n", 1), ("name: a\nowner: b\n  bad: indent\n", 3), ("- a list\n", 1)],
    ids=["flow-not-closed", "bad-indent", "not-a-mapping"],
)
def test_unparseable_yaml(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(ExperimentConfigError) as info:
        load_experiment_file(path)
    assert info.value.problems[0].line is not None
    assert isinstance(info.value, ConfigError)


def test_example_folder_is_valid() -> None:
    exps = load_experiments(REPO / "experiments")
    assert exps.experiments, "the demo folder should hold an example experiment"
    for cfg in exps.experiments:
        assert cfg.description and cfg.guardrails


def test_weights_within_tolerance_are_normalised(tmp_path: Path) -> None:
    variants = [{"name": n, "weight": 0.333} for n in ("control", "b", "c")]
    path = write_yaml(tmp_path / "x.yaml", experiment_dict("x", variants=variants))
    weights = load_experiment_file(path).weights
    assert sum(weights) == pytest.approx(1.0) and len(set(weights)) == 1


def test_docs_list_every_parameter_with_bounds() -> None:
    docs = (REPO / "docs" / "experiments.md").read_text()
    assert markdown_table() in docs, "regenerate the table with schema.markdown_table()"
    for path in parameter_specs():
        assert f"`{path}`" in docs
