"""Simulated slate and event logs with known answers, for tests, demos and benchmarks.

Listeners are assigned with the real :class:`ExperimentSet`, so the logs look exactly like the
service's. Effects are planted per variant (a multiplier on the play probability) and a sample
ratio mismatch can be planted by dropping a share of one variant's listeners from the logs, the
way a logging bug would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from recsys.experiments.experiment_set import ExperimentSet


@dataclass(frozen=True, kw_only=True)
class SimulationConfig:
    """What to simulate.

    Attributes:
        listeners: how many listener ids (``sim-<i>``) to assign.
        slates_per_listener: slates served to each.
        slate_size: items per slate.
        play_rate: base probability that a served item is played.
        skip_rate: probability a played-or-not item is skipped instead.
        generated_share: share of served items that are AI-generated.
        effects: variant label (``exp:variant``) → multiplier on ``play_rate``.
        drop: variant label → share of its listeners missing from the logs (planted SRM).
        seed: random seed.
        now: the time used for assignment.
    """

    listeners: int = 2000
    slates_per_listener: int = 2
    slate_size: int = 10
    play_rate: float = 0.3
    skip_rate: float = 0.1
    generated_share: float = 0.1
    effects: dict[str, float] = field(default_factory=dict)
    drop: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    now: datetime


def simulate_logs(
    experiments: ExperimentSet, config: SimulationConfig
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Slates and events as the JSONL folder format's rows."""
    rng = np.random.default_rng(config.seed)
    slates: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for i in range(config.listeners):
        listener = f"sim-{i}"
        label = experiments.assign(listener, now=config.now).label
        labels = label.split(",") if label else []
        if any(rng.random() < config.drop.get(lab, 0.0) for lab in labels):
            continue
        lift = float(np.prod([config.effects.get(lab, 1.0) for lab in labels]))
        taste = rng.beta(2, 5) / (2 / 7)  # listener-level heterogeneity, mean 1
        p_play = min(config.play_rate * lift * taste, 0.95)
        size = config.slate_size
        for s in range(config.slates_per_listener):
            request = f"{listener}-r{s}"
            tracks = rng.integers(0, 500, size)
            generated = rng.random(size) < config.generated_share
            u = rng.random(size)
            saved = rng.random(size) < 0.05
            items = [
                {
                    "track_id": f"t{t}",
                    "position": pos,
                    "ai_involvement": "GENERATED" if g else "NONE",
                }
                for pos, (t, g) in enumerate(zip(tracks, generated, strict=True))
            ]
            for pos in range(size):
                kind = (
                    "play"
                    if u[pos] < p_play
                    else ("skip" if u[pos] < p_play + config.skip_rate else "")
                )
                kinds = [kind] + (["save"] if kind == "play" and saved[pos] else [])
                events.extend(
                    {
                        "listener_id": listener,
                        "track_id": f"t{tracks[pos]}",
                        "event_type": k,
                        "request_id": request,
                        "position": pos,
                    }
                    for k in kinds
                    if k
                )
            slates.append(
                {
                    "request_id": request,
                    "listener_id": listener,
                    "variant": label,
                    "served_at": config.now.isoformat(),
                    "ai_features": s % 4 == 3,
                    "items": items,
                }
            )
    return slates, events


def write_folder(folder: Path, slates: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    """Write ``slates.jsonl`` and ``events.jsonl`` into ``folder`` (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("slates.jsonl", slates), ("events.jsonl", events)):
        with (folder / name).open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")


__all__ = ["SimulationConfig", "simulate_logs", "write_folder"]
