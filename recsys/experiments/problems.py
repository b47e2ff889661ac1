"""Config problems: what is wrong, where (file, line, field) and what is allowed instead."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from recsys.errors import ConfigError
from recsys.experiments.config import METRICS

_METRIC_LIST = ", ".join(METRICS)
ALLOWED: dict[str, str] = {
    "name": "lowercase letters, digits, '-', '_' or '.', e.g. 'human-boost-2026q4'",
    "description": "one or more sentences saying what is tested and why",
    "owner": "an e-mail or team, e.g. 'discovery-pm@liner.example'",
    "salt": "any non-empty text, e.g. the experiment name",
    "layer": "a layer name such as 'home-ranking' (lowercase, digits, '-', '_', '.')",
    "range": "two numbers [start, end] with 0 <= start < end <= 1, e.g. [0.0, 0.5]",
    "traffic": "a share in [0, 1], e.g. 0.5",
    "holdout": "a share in [0, 1] with traffic + holdout <= 1, e.g. 0.05",
    "start": "a date or time, e.g. 2026-11-01",
    "end": "a date or time after start, e.g. 2026-12-01",
    "primary_metric": f"one of {_METRIC_LIST}",
    "metric": f"one of {_METRIC_LIST}",
    "direction": "higher_is_better or lower_is_better",
    "threshold": "an absolute difference in [0, 1], e.g. 0.01",
    "guardrails": "a list of {metric, direction, threshold}",
    "control": "the name of one of the variants, e.g. 'control'",
    "variants": "a list of at least two {name, weight, overrides}",
    "weight": "a number in (0, 1]; the weights of all variants sum to 1, e.g. 0.5",
    "overrides": "a mapping of parameter names to values, e.g. {human_artist_boost: 0.3}",
}


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One thing wrong with a config file.

    Attributes:
        file: the file path as given.
        line: 1-based line number, or None when the file cannot be read at all.
        field: dotted field path (``variants[1].overrides.ai_generated_cap``), or ``""``.
        problem: what is wrong.
        allowed: an allowed value or the rule to follow.
    """

    file: str
    line: int | None
    field: str
    problem: str
    allowed: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        field = f" field '{self.field}':" if self.field else ""
        return f"{where}:{field} {self.problem}. Allowed: {self.allowed}"


class ExperimentConfigError(ConfigError):
    """One or more experiment files are invalid; ``problems`` lists every problem."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in experiment config"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


Loc = tuple[str | int, ...]


def field_name(loc: Loc) -> str:
    """``("variants", 1, "weight")`` → ``variants[1].weight``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def line_of(doc: Any, loc: Loc) -> int:
    """1-based line of the deepest node of ``loc`` present in the parsed YAML."""
    line = 1
    node = doc
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
        else:
            break
        node = node[part]
    return line


__all__ = ["ALLOWED", "ExperimentConfigError", "Loc", "Problem", "field_name", "line_of"]
