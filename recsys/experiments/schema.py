"""What a variant may override: every PolicyParams field with its type, bounds and default.

Derived from :class:`recsys.params.PolicyParams` itself, so the validator's messages, the
documentation table and the pipeline can never disagree about a bound.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import typing
from dataclasses import dataclass
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from recsys.params import PolicyParams


@dataclass(frozen=True, kw_only=True)
class ParamSpec:
    """One overridable parameter.

    Attributes:
        path: dotted name as written in ``overrides`` (``candidates.popular``).
        kind: ``float``, ``int``, ``str`` or ``fixed`` (a field with a single allowed value).
        minimum: inclusive lower bound, when any.
        maximum: inclusive upper bound, when any.
        default: the value without overrides.
        doc: the field's docstring.
    """

    path: str
    kind: str
    minimum: float | None
    maximum: float | None
    default: Any
    doc: str

    @property
    def allowed(self) -> str:
        """The allowed values in words, for error messages and the docs table."""
        if self.kind == "fixed":
            return f"only {_yaml(self.default)} (it cannot be changed)"
        if self.kind == "str":
            return f"an id of letters, digits, '.', '_' or '-', e.g. {self.default!r}"
        noun = "an integer" if self.kind == "int" else "a number"
        return f"{noun} in [{_num(self.minimum)}, {_num(self.maximum)}], e.g. {self.default}"


def _num(value: float | None) -> str:
    return "-inf" if value is None else f"{value:g}"


def _yaml(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else repr(value)


def _bounds(info: FieldInfo) -> tuple[float | None, float | None]:
    low = high = None
    for meta in info.metadata:
        if isinstance(meta, annotated_types.Ge):
            low = float(meta.ge)  # type: ignore[arg-type]
        elif isinstance(meta, annotated_types.Le):
            high = float(meta.le)  # type: ignore[arg-type]
    return low, high


def _attribute_docs(model: type[BaseModel]) -> dict[str, str]:
    """Field docstrings (the string right after each annotated attribute)."""
    tree = ast.parse(inspect.getsource(model))
    body = tree.body[0].body if isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def _specs(model: type[BaseModel], prefix: str) -> dict[str, ParamSpec]:
    specs: dict[str, ParamSpec] = {}
    docs = _attribute_docs(model)
    for name, info in model.model_fields.items():
        annotation = info.annotation
        path = f"{prefix}{name}"
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            specs.update(_specs(annotation, f"{path}."))
            continue
        if typing.get_origin(annotation) is typing.Literal:
            kind = "fixed"
        elif annotation is int:
            kind = "int"
        elif annotation is float:
            kind = "float"
        else:
            kind = "str"
        low, high = _bounds(info)
        specs[path] = ParamSpec(
            path=path,
            kind=kind,
            minimum=low,
            maximum=high,
            default=info.get_default(call_default_factory=True),
            doc=info.description or docs.get(name, ""),
        )
    return specs


def parameter_specs() -> dict[str, ParamSpec]:
    """Every overridable parameter by dotted path, in schema order."""
    return _specs(PolicyParams, "")


def markdown_table() -> str:
    """The parameter table used in docs/experiments.md."""
    rows = ["| parameter | allowed | meaning |", "|---|---|---|"]
    for spec in parameter_specs().values():
        rows.append(f"| `{spec.path}` | {spec.allowed} | {spec.doc} |")
    return "\n".join(rows)


__all__ = ["ParamSpec", "markdown_table", "parameter_specs"]
