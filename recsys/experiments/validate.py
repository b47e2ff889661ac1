"""Validation of one experiment file, with messages a product manager can act on.

Every problem names the file, the line, the field, what is wrong and an allowed value. All
problems of a file are collected and raised together in one :class:`ExperimentConfigError`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pydantic
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError

from recsys.experiments.config import (
    HOLDOUT_VARIANT,
    ExperimentConfig,
    Guardrail,
    Variant,
    apply_overrides,
    flatten_overrides,
    to_utc,
)
from recsys.experiments.problems import (
    ALLOWED,
    ExperimentConfigError,
    Loc,
    Problem,
    field_name,
    line_of,
)
from recsys.experiments.schema import parameter_specs
from recsys.params import PolicyParams


def _plain(node: Any) -> Any:
    """ruamel's round-trip types → plain dict/list/scalars (dates kept as dates)."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None or isinstance(node, date):
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return str(node)


def _suggest(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return hint + "valid names: " + ", ".join(options)


def check_overrides(
    overrides: Any, loc: Loc
) -> tuple[PolicyParams | None, list[tuple[Loc, str, str]]]:
    """Check one variant's overrides against the PolicyParams schema.

    Returns:
        The merged params (None when invalid) and problems as ``(loc, problem, allowed)``.
    """
    if overrides is None:
        return PolicyParams(), []
    if not isinstance(overrides, dict):
        return None, [(loc, "must be a mapping of parameter names to values", ALLOWED["overrides"])]
    specs = parameter_specs()
    problems: list[tuple[Loc, str, str]] = []
    for path, value in flatten_overrides(overrides).items():
        here = loc + tuple(path.split("."))
        spec = specs.get(path)
        if spec is None:
            prefix_ok = any(s.startswith(path + ".") for s in specs)
            if prefix_ok:
                problems.append(
                    (here, "must be a mapping, not a single value", f"e.g. {path}: {{popular: 50}}")
                )
            else:
                problems.append((here, f"unknown parameter '{path}'", _suggest(path, list(specs))))
        elif spec.kind == "fixed" and value != spec.default:
            verb = "turned off" if spec.path == "labels" else "bypassed"
            what = "AI labels and credits" if spec.path == "labels" else "consent checks"
            problems.append(
                (here, f"{what} cannot be {verb} by any variant (got {value!r})", spec.allowed)
            )
    known = {
        path: value
        for path, value in flatten_overrides(overrides).items()
        if path in specs and specs[path].kind != "fixed"
    }
    try:
        params = apply_overrides(PolicyParams(), _nest(known))
        return (None if problems else params), problems
    except pydantic.ValidationError as exc:
        for err in exc.errors():
            path = ".".join(str(p) for p in err["loc"])
            spec = specs.get(path)
            allowed = spec.allowed if spec else "see docs/experiments.md"
            problems.append(
                (
                    loc + tuple(err["loc"]),
                    f"{err['msg'].lower()} (got {err.get('input')!r})",
                    allowed,
                )
            )
        return None, problems


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else None


def _as_date(value: Any) -> date | None:
    return value if isinstance(value, date) else None


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for path, value in flat.items():
        *parents, leaf = path.split(".")
        node = nested
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return nested


def _semantic(data: dict[str, Any]) -> list[tuple[Loc, str, str]]:
    """Rules spanning fields, checked on the raw data so they are reported with shape errors."""
    problems: list[tuple[Loc, str, str]] = []
    variants = [v for v in data.get("variants") or [] if isinstance(v, dict)]
    names = [v.get("name") for v in variants]
    for i, name in enumerate(names):
        if name == HOLDOUT_VARIANT:
            problems.append(
                (
                    ("variants", i, "name"),
                    "'holdout' is reserved for the holdout",
                    "any other name, e.g. 'treatment'",
                )
            )
        elif name in names[:i]:
            problems.append(
                (
                    ("variants", i, "name"),
                    f"variant name '{name}' is repeated",
                    "a name unique within the experiment",
                )
            )
    control = data.get("control")
    if control is not None and names and control not in names:
        problems.append(
            (
                ("control",),
                f"'{control}' is not a variant",
                "one of " + ", ".join(str(n) for n in names),
            )
        )
    weights = [_number(v.get("weight")) for v in variants]
    given = [w for w in weights if w is not None]
    if given and len(given) != len(weights):
        i = weights.index(None)
        problems.append(
            (
                ("variants", i, "weight"),
                "weight is missing while others have one",
                "give every variant a weight, or none for equal weights",
            )
        )
    elif given and abs(sum(given) - 1.0) > 0.01 + 1e-9:  # 0.33 × 3 is within 0.01
        problems.append(
            (
                ("variants",),
                f"variant weights sum to {sum(given):g}, not 1",
                "weights summing to 1 (within 0.01), e.g. 0.5 and 0.5",
            )
        )
    start, end = _as_date(data.get("start")), _as_date(data.get("end"))
    if start is not None and end is not None and to_utc(end) <= to_utc(start):
        problems.append(
            (
                ("end",),
                f"end {end.isoformat()} is not after start {start.isoformat()}",
                ALLOWED["end"],
            )
        )
    traffic, holdout = _number(data.get("traffic", 1.0)), _number(data.get("holdout", 0.0))
    if traffic is not None and holdout is not None and traffic + holdout > 1.0 + 1e-9:
        problems.append(
            (
                ("holdout",),
                f"traffic + holdout = {traffic + holdout:g} exceeds 1",
                ALLOWED["holdout"],
            )
        )
    rng = data.get("range")
    if isinstance(rng, list) and len(rng) == 2:
        low, high = _number(rng[0]), _number(rng[1])
        if low is not None and high is not None and not 0.0 <= low < high <= 1.0:
            problems.append(
                (
                    ("range",),
                    f"range [{low:g}, {high:g}] is not inside [0, 1] with start < end",
                    ALLOWED["range"],
                )
            )
    return problems


def _pydantic_problem(err: Any) -> tuple[Loc, str, str]:
    loc: Loc = tuple(p for p in err["loc"] if p not in ("str", "function-before[_from_name()]"))
    named = [p for p in loc if isinstance(p, str)]
    key = named[-1] if named else ""
    if err["type"] == "extra_forbidden":
        parent = [p for p in loc[:-1] if isinstance(p, str)]
        fields = _fields_at(parent[-1] if parent else "")
        return loc, f"unknown field '{key}'", _suggest(str(key), fields)
    if err["type"] == "missing":
        return loc, "required field is missing", ALLOWED.get(str(key), "see docs/experiments.md")
    got = (
        f" (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict) else ""
    )
    return loc, err["msg"].lower() + got, ALLOWED.get(str(key), "see docs/experiments.md")


def _fields_at(parent: str) -> list[str]:
    models: dict[str, type[pydantic.BaseModel]] = {"variants": Variant, "guardrails": Guardrail}
    model = models.get(parent, ExperimentConfig)
    return [f for f in model.model_fields if f != "params"]


def parse_yaml(path: Path) -> Any:
    """Parse with line information; raises ExperimentConfigError on unreadable YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExperimentConfigError(
            [
                Problem(
                    file=str(path),
                    line=None,
                    field="",
                    problem=f"cannot read file: {exc}",
                    allowed="a readable UTF-8 YAML file",
                )
            ]
        ) from exc
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ExperimentConfigError(
            [
                Problem(
                    file=str(path),
                    line=line,
                    field="",
                    problem=f"not valid YAML: {exc.problem}",
                    allowed="YAML 'key: value' lines, see experiments/*.yaml",
                )
            ]
        ) from exc


def load_experiment_file(path: Path) -> ExperimentConfig:
    """Read and validate one experiment file.

    Args:
        path: a ``.yaml`` file.

    Returns:
        The validated config, each variant's ``params`` merged onto the defaults.

    Raises:
        ExperimentConfigError: (a ConfigError) listing every problem with file and line.

    Example:
        >>> cfg = load_experiment_file(Path("experiments/human-boost.yaml"))  # doctest: +SKIP
    """
    return load_with_doc(path)[0]


def load_with_doc(path: Path) -> tuple[ExperimentConfig, Any]:
    """Like :func:`load_experiment_file`, also returning the parsed YAML (for line numbers)."""
    doc = parse_yaml(path)
    if not isinstance(doc, CommentedMap):
        raise ExperimentConfigError(
            [
                Problem(
                    file=str(path),
                    line=1,
                    field="",
                    problem="the file is not a mapping of fields",
                    allowed="'name: ...', 'variants: ...' lines",
                )
            ]
        )
    data = _plain(doc)
    raw: list[tuple[Loc, str, str]] = []
    variants = data.get("variants")
    if isinstance(variants, list):
        for i, variant in enumerate(variants):
            if isinstance(variant, dict):
                params, found = check_overrides(
                    variant.get("overrides"), ("variants", i, "overrides")
                )
                raw.extend(found)
                if "params" in variant:
                    raw.append(
                        (
                            ("variants", i, "params"),
                            "unknown field 'params' (parameters are computed from overrides)",
                            ALLOWED["overrides"],
                        )
                    )
                variant["params"] = params or PolicyParams()
    cfg: ExperimentConfig | None = None
    try:
        cfg = ExperimentConfig.model_validate(data)
    except pydantic.ValidationError as exc:
        # Root-level value errors repeat the cross-field rules that _semantic words better.
        raw.extend(
            _pydantic_problem(err)
            for err in exc.errors()
            if err["loc"] or err["type"] != "value_error"
        )
    raw.extend(_semantic(data))
    if raw:
        problems = [
            Problem(
                file=str(path), line=line_of(doc, loc), field=field_name(loc), problem=p, allowed=a
            )
            for loc, p, a in raw
        ]
        raise ExperimentConfigError(sorted(problems, key=lambda p: p.line or 0))
    assert cfg is not None
    return cfg, doc


__all__ = [
    "check_overrides",
    "load_experiment_file",
    "load_with_doc",
    "parse_yaml",
]
