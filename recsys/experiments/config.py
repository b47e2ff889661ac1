"""The experiment file schema: one YAML file per experiment, validated into these models.

The models only describe shapes and simple bounds; :mod:`recsys.experiments.validate` turns
every problem into a message naming file, line, field and an allowed value, and adds the rules
that span fields and files.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from recsys.params import PolicyParams

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
"""Experiment, variant and layer names: lowercase, no ``:`` or ``,`` (they build labels)."""

HOLDOUT_VARIANT = "holdout"
"""The label of listeners held out of an experiment (they get its control-free defaults)."""

Direction = Literal["higher_is_better", "lower_is_better"]

METRICS: dict[str, tuple[Direction, str]] = {
    "play_through_rate": ("higher_is_better", "served items played ÷ served items"),
    "skip_rate": ("lower_is_better", "skips ÷ (plays + skips)"),
    "save_rate": ("higher_is_better", "saves ÷ served items"),
    "human_artist_play_share": ("higher_is_better", "plays of human-made tracks ÷ plays"),
    "ai_generated_share": ("lower_is_better", "AI-generated served items ÷ served items"),
    "ai_influenced_play_share": (
        "lower_is_better",
        "plays from slates made by AI features ÷ plays",
    ),
}
"""Online metrics, with their natural direction and definition (see docs/experiments.md)."""


class MetricGoal(BaseModel):
    """The primary metric: the one the experiment is meant to move."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: Literal[
        "play_through_rate",
        "skip_rate",
        "save_rate",
        "human_artist_play_share",
        "ai_generated_share",
        "ai_influenced_play_share",
    ]
    """One of the metrics in ``METRICS``."""
    direction: Direction | None = None
    """Which way is an improvement; defaults to the metric's natural direction."""

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, data: Any) -> Any:
        return {"metric": data} if isinstance(data, str) else data

    @property
    def effective_direction(self) -> Direction:
        """The direction, or the metric's natural one."""
        return self.direction or METRICS[self.metric][0]


class Guardrail(MetricGoal):
    """A metric no variant may harm by more than ``threshold`` (absolute difference)."""

    threshold: float = Field(0.0, ge=0.0, le=1.0)
    """Largest tolerated harm: the 95% confidence bound of the harm must stay below it."""


class Variant(BaseModel):
    """One arm of an experiment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    """Unique within the experiment; ``holdout`` is reserved."""
    weight: float | None = Field(None, gt=0.0, le=1.0)
    """Share of the enrolled listeners; omit on every variant for equal weights."""
    overrides: dict[str, Any] = Field(default_factory=dict)
    """PolicyParams fields to change, nested for ``candidates``."""
    params: PolicyParams = Field(default_factory=PolicyParams)
    """The defaults with the overrides applied (computed when not given)."""

    @model_validator(mode="before")
    @classmethod
    def _compute_params(cls, data: Any) -> Any:
        if isinstance(data, dict) and "params" not in data:
            data = {**data, "params": apply_overrides(PolicyParams(), data.get("overrides") or {})}
        return data


def to_utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value


class ExperimentConfig(BaseModel):
    """One experiment file.

    Example:
        >>> from recsys.experiments import load_experiment_file
        >>> cfg = load_experiment_file(Path("experiments/human-boost.yaml"))  # doctest: +SKIP
        >>> cfg.variant("boost").params.human_artist_boost  # doctest: +SKIP
        0.3
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    """Unique across the folder; used in labels (``name:variant``)."""
    description: str = Field(min_length=1)
    """What is tested and why."""
    owner: str = Field(min_length=1)
    """Who to ask (an e-mail or team)."""
    salt: str = Field(min_length=1, max_length=128)
    """Hash seed (GrowthBook ``seed``). Changing it reshuffles every listener."""
    layer: str = Field("default", pattern=NAME_PATTERN)
    """Experiments in one layer are mutually exclusive (GrowthBook namespace id)."""
    range: tuple[float, float] = (0.0, 1.0)
    """The slice of the layer this experiment owns: ``[start, end)`` within ``[0, 1]``."""
    traffic: float = Field(1.0, ge=0.0, le=1.0)
    """Share of the slice enrolled in a variant (GrowthBook ``coverage``)."""
    holdout: float = Field(0.0, ge=0.0, le=1.0)
    """Share of the slice held out: defaults, logged as ``name:holdout``."""
    start: datetime
    """First moment the experiment runs (a date means 00:00 UTC)."""
    end: datetime
    """Moment it stops (exclusive); after ``start``."""
    primary_metric: MetricGoal
    """The metric the verdict requires to improve significantly."""
    guardrails: tuple[Guardrail, ...] = ()
    """Metrics no variant may harm."""
    control: str = Field(pattern=NAME_PATTERN)
    """The name of the variant the others are compared against."""
    variants: tuple[Variant, ...] = Field(min_length=2)
    """At least two, control included."""

    @field_validator("start", "end", mode="before")
    @classmethod
    def _to_utc(cls, value: Any) -> Any:
        return to_utc(value)

    @field_validator("start", "end", mode="after")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return to_utc(value)

    @model_validator(mode="after")
    def _cross_field_rules(self) -> ExperimentConfig:
        # validate.py reports these with lines and advice; this guards programmatic use.
        names = [v.name for v in self.variants]
        if self.control not in names or len(set(names)) != len(names):
            raise ValueError("control must name one of the (uniquely named) variants")
        if self.end <= self.start or self.traffic + self.holdout > 1.0 + 1e-9:
            raise ValueError("end must follow start and traffic + holdout must be at most 1")
        if not 0.0 <= self.range[0] < self.range[1] <= 1.0:
            raise ValueError("range must satisfy 0 <= start < end <= 1")
        return self

    @property
    def weights(self) -> tuple[float, ...]:
        """Variant weights normalised to sum to 1 (equal when none is given)."""
        given = [v.weight for v in self.variants]
        if any(w is None for w in given):
            return tuple(1.0 / len(given) for _ in given)
        total = sum(w for w in given if w is not None)
        return tuple((w or 0.0) / total for w in given)

    @property
    def control_variant(self) -> Variant:
        """The variant named by ``control``."""
        return self.variant(self.control)

    def variant(self, name: str) -> Variant:
        """The variant called ``name`` (KeyError when there is none)."""
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise KeyError(name)

    def is_active(self, now: datetime) -> bool:
        """Whether ``now`` is within ``[start, end)``."""
        return self.start <= to_utc(now) < self.end

    def overridden_fields(self) -> frozenset[str]:
        """Dotted PolicyParams paths any variant overrides (``candidates.popular``)."""
        return frozenset(
            path for variant in self.variants for path in flatten_overrides(variant.overrides)
        )


def flatten_overrides(overrides: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"candidates": {"popular": 5}}`` → ``{"candidates.popular": 5}``."""
    flat: dict[str, Any] = {}
    for key, value in overrides.items():
        if isinstance(value, dict):
            flat.update(flatten_overrides(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def apply_overrides(base: PolicyParams, overrides: dict[str, Any]) -> PolicyParams:
    """A new PolicyParams with ``overrides`` deep-merged onto ``base`` and re-validated."""
    merged = base.model_dump()
    for path, value in flatten_overrides(overrides).items():
        node = merged
        *parents, leaf = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return PolicyParams.model_validate(merged)


__all__ = [
    "HOLDOUT_VARIANT",
    "METRICS",
    "NAME_PATTERN",
    "Direction",
    "ExperimentConfig",
    "Guardrail",
    "MetricGoal",
    "Variant",
    "apply_overrides",
    "flatten_overrides",
    "to_utc",
]
