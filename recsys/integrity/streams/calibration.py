"""Calibrate the detector on listening known to be genuine, never on the farms it scores.

Start from the floors in :class:`StreamsConfig` (what a person can do, what a farm must do to
earn), score each reference log, and while the share of genuine plays excluded is above the
budget, raise the thresholds of the rule that excludes the most. Thresholds only go up, so a
calibrated detector is never more eager than its floors; a reference that needs no change
leaves the floors as they are (that is the usual outcome, and it is reported).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from recsys.integrity.streams.config import StreamsConfig
from recsys.integrity.streams.plays import PlayLog
from recsys.integrity.streams.scorer import HARD_REASONS, score_streams

MAX_ROUNDS = 30


@dataclass(kw_only=True)
class StreamsCalibration:
    """A calibrated config and what it excludes of each reference.

    Attributes:
        config: the thresholds to use.
        excluded: reference name -> share of its plays the config flags (play-weighted).
        raised: the changes made, in order (empty when the floors already fit).
    """

    config: StreamsConfig
    excluded: dict[str, float] = field(default_factory=dict)
    raised: list[str] = field(default_factory=list)


def excluded_share(log: PlayLog, flagged: frozenset[str]) -> float:
    """Share of ``log``'s plays (counting aggregated rows by their plays) that are flagged."""
    plays = log.plays
    total = float(plays["n"].sum())
    if not total:
        return 0.0
    return float(plays.loc[plays["event_id"].isin(flagged), "n"].sum()) / total


def _culprit(log: PlayLog, flags: pd.DataFrame) -> str:
    """The rule behind most excluded plays (``soft`` for the points)."""
    n = log.plays.set_index("event_id")["n"]
    first = flags["reasons"].str.split("|").str[0]
    rule = first.where(first.isin(HARD_REASONS), "soft")
    weight = flags["event_id"].map(n).fillna(0)
    return str(weight.groupby(rule).sum().idxmax())


def _raise(config: StreamsConfig, rule: str) -> tuple[StreamsConfig, str]:
    c = config
    if rule == "rate_impossible":
        new = c.model_copy(
            update={
                "max_day_play_hours": min(24.0, c.max_day_play_hours + 2),
                "max_day_active_hours": min(24, c.max_day_active_hours + 1),
            }
        )
        return new, f"rate_impossible: {new.max_day_play_hours} h, {new.max_day_active_hours} hours"
    if rule in ("coordinated", "payee_cohort"):
        new = c.model_copy(
            update={
                "min_cluster_accounts": int(c.min_cluster_accounts * 1.5) + 1,
                "payee_dependence": min(0.95, c.payee_dependence + 0.1),
            }
        )
        return new, (
            f"{rule}: {new.min_cluster_accounts} accounts, dependence {new.payee_dependence:.2f}"
        )
    new = c.model_copy(update={"flag_points": c.flag_points + 1})
    return new, f"soft evidence: {new.flag_points} points"


def calibrate(
    references: Mapping[str, PlayLog], config: StreamsConfig | None = None
) -> StreamsCalibration:
    """Raise ``config``'s thresholds until no reference log of genuine listening loses more
    than :attr:`~StreamsConfig.genuine_budget` of its plays.

    Args:
        references: named logs known to be genuine (the demo world's organic listeners, the
            real Last.fm HetRec play counts, a service's vetted accounts).
        config: the floors to start from.
    """
    config = config or StreamsConfig()
    result = StreamsCalibration(config=config)
    for _ in range(MAX_ROUNDS):
        worst, worst_name, worst_flags = 0.0, "", pd.DataFrame()
        for name, log in references.items():
            verdict = score_streams(log, config)
            share = excluded_share(log, verdict.flagged_ids())
            result.excluded[name] = share
            if share > worst:
                worst, worst_name, worst_flags = share, name, verdict.flags
        if worst <= config.genuine_budget:
            break
        config, change = _raise(config, _culprit(references[worst_name], worst_flags))
        result.raised.append(change)
    result.config = config
    return result


__all__ = ["MAX_ROUNDS", "StreamsCalibration", "calibrate", "excluded_share"]
