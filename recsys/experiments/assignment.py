"""Assigning listeners to variants, and the exposure records logged with each served slate.

Assignment is a pure function of the listener id, the experiment files and the time: no state,
no storage, identical on every replica and in GrowthBook (see :mod:`.hashing`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from recsys.experiments.config import HOLDOUT_VARIANT, ExperimentConfig, apply_overrides
from recsys.experiments.hashing import (
    bucket_ranges,
    choose_variation,
    hash_v2,
    holdout_ranges,
    in_namespace,
)
from recsys.params import PolicyParams


@dataclass(frozen=True, kw_only=True)
class Exposure:
    """A listener's place in one experiment.

    Attributes:
        experiment: experiment name.
        variant: variant name, or ``holdout``.
        layer: the experiment's layer.
        in_holdout: True when held out (served the defaults, analysed separately).
    """

    experiment: str
    variant: str
    layer: str
    in_holdout: bool = False

    @property
    def label(self) -> str:
        """``experiment:variant``, the form stored in ``ServedSlate.variant``."""
        return f"{self.experiment}:{self.variant}"


@dataclass(frozen=True, kw_only=True)
class Assignment:
    """Everything the pipeline needs from the experiments for one request.

    Attributes:
        params: the defaults with every active exposure's overrides applied.
        label: exposure labels joined by ``,`` in experiment-name order, or ``""``; put it in
            ``ServedSlate.variant``.
        exposures: one per experiment the listener is enrolled or held out in.
    """

    params: PolicyParams
    label: str = ""
    exposures: tuple[Exposure, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ExposureRecord:
    """One exposure logged with a served slate (one row per experiment)."""

    request_id: str
    listener_id: str
    experiment: str
    variant: str
    layer: str
    in_holdout: bool
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``at`` as ISO 8601)."""
        return {
            "request_id": self.request_id,
            "listener_id": self.listener_id,
            "experiment": self.experiment,
            "variant": self.variant,
            "layer": self.layer,
            "in_holdout": self.in_holdout,
            "at": self.at.isoformat(),
        }


@dataclass(frozen=True, kw_only=True)
class CompiledExperiment:
    """An experiment with its bucket ranges precomputed, for the hot path."""

    config: ExperimentConfig
    ranges: tuple[tuple[float, float], ...]
    holdout: tuple[tuple[float, float], ...]

    @classmethod
    def compile(cls, config: ExperimentConfig) -> CompiledExperiment:
        """Precompute ranges from the config's normalised weights."""
        weights = config.weights
        return cls(
            config=config,
            ranges=tuple(bucket_ranges(weights, config.traffic)),
            holdout=tuple(holdout_ranges(weights, config.traffic, config.holdout))
            if config.holdout > 0
            else (),
        )

    def expose(self, listener_id: str, now: datetime) -> Exposure | None:
        """The listener's exposure, or None when not active, not in range or not enrolled."""
        cfg = self.config
        if not cfg.is_active(now):
            return None
        if cfg.range != (0.0, 1.0) and not in_namespace(listener_id, cfg.layer, *cfg.range):
            return None
        n = hash_v2(cfg.salt, listener_id)
        index = choose_variation(n, self.ranges)
        if index >= 0:
            return Exposure(experiment=cfg.name, variant=cfg.variants[index].name, layer=cfg.layer)
        if self.holdout and choose_variation(n, self.holdout) >= 0:
            return Exposure(
                experiment=cfg.name, variant=HOLDOUT_VARIANT, layer=cfg.layer, in_holdout=True
            )
        return None

    def explain(self, listener_id: str, now: datetime) -> str:
        """Why the listener is or is not enrolled, in words (``liner experiments assign
        --explain``); mirrors :meth:`expose` step by step."""
        cfg = self.config
        if not cfg.is_active(now):
            when = "has not started" if now < cfg.start else "has ended"
            return (
                f"not enrolled: the experiment {when} (runs {cfg.start:%Y-%m-%d %H:%M} to "
                f"{cfg.end:%Y-%m-%d %H:%M} UTC)"
            )
        if cfg.range != (0.0, 1.0) and not in_namespace(listener_id, cfg.layer, *cfg.range):
            return (
                f"not enrolled: outside the experiment's share [{cfg.range[0]:g}, "
                f"{cfg.range[1]:g}) of layer '{cfg.layer}' (another experiment of the layer may "
                "own this listener)"
            )
        n = hash_v2(cfg.salt, listener_id)
        index = choose_variation(n, self.ranges)
        if index >= 0:
            return (
                f"enrolled in variant '{cfg.variants[index].name}' (bucket {n:.4f} in "
                f"[{self.ranges[index][0]:.4f}, {self.ranges[index][1]:.4f}))"
            )
        if self.holdout and choose_variation(n, self.holdout) >= 0:
            return f"held out on the default parameters (bucket {n:.4f}; holdout {cfg.holdout:g})"
        return f"not enrolled: bucket {n:.4f} falls outside the traffic share {cfg.traffic:g}" + (
            f" and the holdout {cfg.holdout:g}" if cfg.holdout else ""
        )


def assign(
    compiled: Sequence[CompiledExperiment],
    listener_id: str,
    *,
    now: datetime | None = None,
    cache: dict[tuple[str, ...], PolicyParams] | None = None,
) -> Assignment:
    """Assign a listener across experiments (see :meth:`ExperimentSet.assign`)."""
    now = now or datetime.now(UTC)
    exposures = [e for c in compiled if (e := c.expose(listener_id, now)) is not None]
    exposures.sort(key=lambda e: e.experiment)
    labels = tuple(e.label for e in exposures)
    params = cache.get(labels) if cache is not None else None
    if params is None:
        params = PolicyParams()
        by_name = {c.config.name: c.config for c in compiled}
        for exposure in exposures:
            if not exposure.in_holdout:
                variant = by_name[exposure.experiment].variant(exposure.variant)
                params = apply_overrides(params, variant.overrides)
        if cache is not None:
            cache[labels] = params
    return Assignment(params=params, label=",".join(labels), exposures=tuple(exposures))


def exposure_records(
    assignment: Assignment,
    request_id: str,
    *,
    listener_id: str,
    at: datetime | None = None,
) -> tuple[ExposureRecord, ...]:
    """The exposure rows to log with a served slate, one per experiment.

    Example:
        >>> a = experiments.assign("listener-42")  # doctest: +SKIP
        >>> rows = exposure_records(a, "req-1", listener_id="listener-42")  # doctest: +SKIP
    """
    at = at or datetime.now(UTC)
    return tuple(
        ExposureRecord(
            request_id=request_id,
            listener_id=listener_id,
            experiment=e.experiment,
            variant=e.variant,
            layer=e.layer,
            in_holdout=e.in_holdout,
            at=at,
        )
        for e in assignment.exposures
    )


def parse_label(label: str) -> dict[str, str]:
    """``"a:x,b:holdout"`` → ``{"a": "x", "b": "holdout"}`` (the inverse of Assignment.label)."""
    out: dict[str, str] = {}
    for part in label.split(","):
        experiment, sep, variant = part.strip().partition(":")
        if sep and experiment and variant:
            out[experiment] = variant
    return out


__all__ = [
    "Assignment",
    "CompiledExperiment",
    "Exposure",
    "ExposureRecord",
    "assign",
    "exposure_records",
    "parse_label",
]
