"""A validated folder of experiments, and the rules that span files.

An :class:`ExperimentSet` is immutable once built: the registry swaps whole sets, so a reader
never sees a mix of old and new files.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recsys.errors import ConfigError
from recsys.experiments.assignment import Assignment, CompiledExperiment, assign
from recsys.experiments.config import ExperimentConfig, flatten_overrides
from recsys.experiments.problems import ExperimentConfigError, Loc, Problem, field_name, line_of
from recsys.experiments.validate import load_with_doc
from recsys.params import PolicyParams

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, kw_only=True)
class ExperimentSet:
    """Every experiment of a folder, validated together.

    Attributes:
        experiments: the configs, in file-name order.
        files: the file each experiment came from, by experiment name.
        fingerprint: sha256 over the files' names and bytes; equal folders give equal ones.
    """

    experiments: tuple[ExperimentConfig, ...] = ()
    files: dict[str, Path] = field(default_factory=dict)
    fingerprint: str = ""
    _compiled: tuple[CompiledExperiment, ...] = field(default=(), repr=False, compare=False)
    _cache: dict[tuple[str, ...], PolicyParams] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        compiled = tuple(CompiledExperiment.compile(c) for c in self.experiments)
        object.__setattr__(self, "_compiled", compiled)

    def assign(self, listener_id: str, *, now: datetime | None = None) -> Assignment:
        """The listener's variants in every active experiment and the merged parameters.

        Args:
            listener_id: the hashed attribute (GrowthBook ``id``).
            now: the time that decides which experiments are active (default: now, UTC).

        Example:
            >>> exps = load_experiments(Path("experiments"))  # doctest: +SKIP
            >>> exps.assign("listener-42").label  # doctest: +SKIP
            'human-boost-2026q4:boost'
        """
        return assign(self._compiled, listener_id, now=now, cache=self._cache)

    def explain(self, listener_id: str, *, now: datetime | None = None) -> dict[str, str]:
        """Experiment name → why the listener is or is not enrolled in it, in words."""
        at = now or datetime.now(UTC)
        return {c.config.name: c.explain(listener_id, at) for c in self._compiled}

    def get(self, name: str) -> ExperimentConfig | None:
        """The experiment called ``name``, or None."""
        return next((c for c in self.experiments if c.name == name), None)

    def active(self, now: datetime) -> tuple[ExperimentConfig, ...]:
        """Experiments running at ``now``."""
        return tuple(c for c in self.experiments if c.is_active(now))


def _overlap(a: ExperimentConfig, b: ExperimentConfig) -> bool:
    return a.start < b.end and b.start < a.end


def _override_loc(cfg: ExperimentConfig, path: str) -> Loc:
    for i, variant in enumerate(cfg.variants):
        if path in flatten_overrides(variant.overrides):
            return ("variants", i, "overrides", *path.split("."))
    return ("variants",)


def cross_file_problems(
    loaded: list[tuple[Path, ExperimentConfig, Any]],
) -> list[Problem]:
    """Rules between files: unique names and salts, disjoint ranges within a layer, and no
    parameter overridden by two layers at once (both only for experiments running at the
    same time)."""
    problems: list[Problem] = []

    def add(path: Path, doc: Any, loc: Loc, problem: str, allowed: str) -> None:
        problems.append(
            Problem(
                file=str(path),
                line=line_of(doc, loc),
                field=field_name(loc),
                problem=problem,
                allowed=allowed,
            )
        )

    for j, (path, cfg, doc) in enumerate(loaded):
        for other_path, other, _ in loaded[:j]:
            where = f"'{other.name}' ({other_path.name})"
            if cfg.name == other.name:
                add(
                    path,
                    doc,
                    ("name",),
                    f"experiment name '{cfg.name}' is already used by {other_path.name}",
                    "a name unique in the folder",
                )
            if cfg.salt == other.salt:
                add(
                    path,
                    doc,
                    ("salt",),
                    f"salt '{cfg.salt}' is already used by {where}; "
                    "shared salts correlate assignments",
                    f"a unique salt, e.g. '{cfg.name}'",
                )
            if not _overlap(cfg, other):
                continue
            if cfg.layer == other.layer:
                lo, hi = other.range
                if cfg.range[0] < hi and lo < cfg.range[1]:
                    add(
                        path,
                        doc,
                        ("range",),
                        f"range [{cfg.range[0]:g}, {cfg.range[1]:g}] "
                        f"overlaps {where} range [{lo:g}, {hi:g}] in layer '{cfg.layer}' while "
                        "both run",
                        f"a range outside [{lo:g}, {hi:g}], e.g. [{hi:g}, 1.0], or another layer",
                    )
                continue
            for shared in sorted(cfg.overridden_fields() & other.overridden_fields()):
                add(
                    path,
                    doc,
                    _override_loc(cfg, shared),
                    f"'{shared}' is also overridden by "
                    f"{where} in layer '{other.layer}' while both run, so a listener in both "
                    "would get a mix",
                    f"layer '{other.layer}' (mutually exclusive with it) or a different parameter",
                )
    return problems


def experiment_files(directory: Path) -> list[Path]:
    """The experiment files of a folder, sorted by name (hidden files ignored)."""
    return sorted(
        p
        for p in directory.iterdir()
        if p.suffix in SUFFIXES and p.is_file() and not p.name.startswith(".")
    )


def unread_config_like(directory: Path) -> list[Path]:
    """Files that look like experiment configs but would not be read: another case of the
    suffix (``exp.YAML``), a suffix after it (``x.yaml.txt``, ``x.yml~``, ``x.yaml.bak``),
    or hidden (``.hidden.yaml``). A product manager saving one of these believes the
    experiment changed; :func:`load_experiments` refuses the folder instead."""
    read = set(experiment_files(directory))
    found = []
    for path in sorted(directory.iterdir()):
        if path in read or not path.is_file():
            continue
        lowered = path.name.lower()
        if any(suffix in lowered for suffix in SUFFIXES):
            found.append(path)
    return found


def load_experiments(directory: Path) -> ExperimentSet:
    """Validate every experiment file of a folder and the rules between them.

    Args:
        directory: the experiments folder (may be empty: no experiments run).

    Returns:
        An immutable ExperimentSet.

    Raises:
        ExperimentConfigError: listing every problem of every file.
        ConfigError: when the folder does not exist.

    Example:
        >>> load_experiments(Path("experiments")).assign("listener-42")  # doctest: +SKIP
    """
    if not directory.is_dir():
        raise ConfigError(
            f"experiments folder {directory} does not exist. Fix: create it or "
            "pass the folder holding the experiment .yaml files"
        )
    problems: list[Problem] = []
    loaded: list[tuple[Path, ExperimentConfig, Any]] = []
    digest = hashlib.sha256()
    for path in experiment_files(directory):
        data = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + data + b"\0")
        try:
            cfg, doc = load_with_doc(path)
        except ExperimentConfigError as exc:
            problems.extend(exc.problems)
            continue
        loaded.append((path, cfg, doc))
    problems.extend(cross_file_problems(loaded))
    for path in unread_config_like(directory):
        problems.append(
            Problem(
                file=str(path),
                line=None,
                field="",
                problem="looks like an experiment config but is never read (only visible "
                "files ending in lower-case .yaml or .yml are)",
                allowed=f"rename it to {_readable_name(path.name)}, or move it out of the folder",
            )
        )
    if problems:
        raise ExperimentConfigError(problems)
    return ExperimentSet(
        experiments=tuple(cfg for _, cfg, _ in loaded),
        files={cfg.name: path for path, cfg, _ in loaded},
        fingerprint=digest.hexdigest(),
    )


def _readable_name(name: str) -> str:
    """The name a config-looking file would be read under."""
    stem = name.lstrip(".")
    lowered = stem.lower()
    for suffix in SUFFIXES:
        at = lowered.find(suffix)
        if at >= 0:
            return stem[:at] + suffix
    return stem


__all__ = ["ExperimentSet", "cross_file_problems", "experiment_files", "load_experiments"]
