"""The detector: evidence per account and per account-day, and the events it flags.

Hard evidence flags on its own: 24 hours no person can produce (``rate_impossible``), a
co-ordinated cluster feeding payees that depend on it (``coordinated``), a cohort of fresh
accounts that turned up together for one payee (``payee_cohort``). Soft evidence adds points,
and an account at :attr:`~StreamsConfig.flag_points` is flagged: ``loop`` (1), ``deep_loop``
over several days (1), ``single_payee`` (1), ``sustained`` heavy days (2),
``threshold_hugging`` (3) and ``identical_durations`` (3) (no person's plays mostly stop just
after the pay threshold, or mostly at one length short of the track's). One soft sign is what
genuine fans show (an album on repeat all day loops, on one payee, for hours); a farm shows
several. How fresh an account is counts only inside the cohort rule: most genuine accounts
meet their favourite artist in their first session too.

A flagged account's events are all flagged (a farm account's likes are no truer than its
plays); an impossible 24 hours of an otherwise genuine account flag those plays only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recsys.integrity.streams.config import StreamsConfig
from recsys.integrity.streams.coordination import Groups, coordinated_clusters, payee_cohorts
from recsys.integrity.streams.features import (
    account_features,
    impossible_windows,
)
from recsys.integrity.streams.plays import PlayLog

SOFT_POINTS: dict[str, int] = {
    "loop": 1,
    "deep_loop": 1,
    "single_payee": 1,
    "sustained": 2,
    "threshold_hugging": 3,
    "identical_durations": 3,
}
HARD_REASONS = ("rate_impossible", "coordinated", "payee_cohort")
REASONS = (*HARD_REASONS, *SOFT_POINTS)


@dataclass(frozen=True, kw_only=True, eq=False)
class StreamsVerdict:
    """What the detector decided.

    Attributes:
        flags: one row per flagged event: ``event_id``, ``listener_id``, ``reasons``
            (``|``-joined), ``score`` (evidence points), ``note`` (the evidence in words).
        accounts: per listener with plays: the features, ``points``, ``reasons``,
            ``flagged``.
        groups: the co-ordinated clusters and payee cohorts found.
    """

    flags: pd.DataFrame
    accounts: pd.DataFrame
    groups: dict[str, Any] = field(default_factory=dict)

    def flagged_ids(self) -> frozenset[str]:
        """Flagged event ids."""
        return frozenset(self.flags["event_id"].astype(str))

    def summary(self) -> dict[str, Any]:
        """JSON-ready counts."""
        reasons = self.flags["reasons"].str.split("|").explode().value_counts()
        return {
            "flagged_events": len(self.flags),
            "flagged_accounts": int(self.accounts["flagged"].sum()),
            "accounts": len(self.accounts),
            "flags_by_reason": {str(k): int(v) for k, v in reasons.items()},
            "groups": self.groups,
        }


def soft_evidence(features: pd.DataFrame, config: StreamsConfig) -> pd.DataFrame:
    """Boolean columns, one per soft reason, per account."""
    f = features
    return pd.DataFrame(
        {
            "loop": (f["plays"] >= config.loop_min_plays)
            & (f["distinct"] <= config.loop_distinct_ratio * f["plays"]),
            "deep_loop": (f["plays"] >= config.deep_loop_plays_per_track * f["distinct"])
            & (f["active_days"] >= config.deep_loop_days),
            "single_payee": (f["plays"] >= config.single_payee_min_plays)
            & (f["top_payee_share"] >= config.single_payee_share),
            "sustained": f["heavy_days"] >= config.sustained_days,
            "threshold_hugging": (f["timed_plays"] >= config.min_timed_plays)
            & (f["hug_share"] >= config.hug_share),
            "identical_durations": f["same_ms_share"] >= config.same_ms_share,
        },
        index=f.index,
    )


def score_streams(log: PlayLog, config: StreamsConfig | None = None) -> StreamsVerdict:
    """Score every account in ``log`` and list the events to flag.

    Example:
        >>> verdict = score_streams(play_log(store.read_frame("events")))  # doctest: +SKIP
        >>> verdict.summary()["flags_by_reason"]  # doctest: +SKIP
    """
    config = config or StreamsConfig()
    if log.plays.empty:
        empty = pd.DataFrame(columns=["event_id", "listener_id", "reasons", "score", "note"])
        return StreamsVerdict(flags=empty, accounts=pd.DataFrame({"flagged": []}))
    features = account_features(log, config)
    soft = soft_evidence(features, config)
    points = sum(soft[name].astype(int) * p for name, p in SOFT_POINTS.items())
    accounts = features.assign(points=points)
    fired = soft[list(SOFT_POINTS)].to_numpy()
    reasons = {a: [r for r, on in zip(SOFT_POINTS, row, strict=True) if on]
               for a, row in zip(accounts.index, fired, strict=True)}  # fmt: skip
    notes: dict[str, list[str]] = {a: [] for a in accounts.index}

    windows = impossible_windows(log, config)
    window_plays = windows.groupby("listener_id").size()
    whole = (window_plays / accounts["plays"].reindex(window_plays.index)) >= 0.5
    hard: dict[str, list[str]] = {a: [] for a in accounts.index}
    for account in whole[whole].index:
        hard[account].append("rate_impossible")
        notes[account].append(f"{int(window_plays[account])} plays in impossible 24 h windows")
    groups: dict[str, Any] = {}
    for reason, found in (
        ("coordinated", coordinated_clusters(log, config)),
        ("payee_cohort", payee_cohorts(log, config)),
    ):
        _add_groups(found, reason, hard, notes, groups)

    flagged = accounts.index[
        (accounts["points"] >= config.flag_points) | accounts.index.map(lambda a: bool(hard[a]))
    ]
    accounts["reasons"] = [
        "|".join([*hard[a], *reasons[a]]) for a in accounts.index
    ]  # fmt: skip
    accounts["flagged"] = accounts.index.isin(flagged)
    score = accounts["points"] + np.where(
        accounts.index.map(lambda a: bool(hard[a])), config.flag_points, 0
    )
    events = log.events
    whole_accounts = events[events["listener_id"].isin(flagged)]
    flags = pd.DataFrame(
        {
            "event_id": whole_accounts["event_id"].to_numpy(),
            "listener_id": whole_accounts["listener_id"].to_numpy(),
        }
    )
    flags["reasons"] = flags["listener_id"].map(accounts["reasons"])
    flags["score"] = flags["listener_id"].map(score).astype("float64")
    account_notes = {a: _note(accounts.loc[a], notes[a]) for a in flagged}
    flags["note"] = flags["listener_id"].map(account_notes)
    flags = pd.concat([flags, _window_flags(windows, set(flagged), config)], ignore_index=True)
    return StreamsVerdict(
        flags=flags.drop_duplicates("event_id").reset_index(drop=True),
        accounts=accounts,
        groups=groups,
    )


def _add_groups(
    found: Groups,
    reason: str,
    hard: dict[str, list[str]],
    notes: dict[str, list[str]],
    groups: dict[str, Any],
) -> None:
    for account, label in found.members.items():
        if account not in hard:
            continue
        if reason not in hard[account]:
            hard[account].append(reason)
        payees = ", ".join(found.payees[label][:3])
        notes[account].append(f"{label} of {found.sizes[label]} accounts feeding {payees}")
    for label, size in found.sizes.items():
        groups[label] = {"accounts": size, "payees": list(found.payees[label])}


def _note(row: pd.Series, extra: list[str]) -> str:
    parts = [
        f"{int(row['plays'])} plays of {int(row['distinct'])} tracks",
        f"{row['top_payee_share']:.0%} to {row['top_payee']}",
    ]
    if row["timed_plays"]:
        parts.append(f"{row['hug_share']:.0%} just over the pay threshold")
    return "; ".join([*extra, *parts])


def _window_flags(windows: pd.DataFrame, flagged: set[str], config: StreamsConfig) -> pd.DataFrame:
    """Plays in impossible 24-hour windows of accounts not flagged as a whole."""
    hit = windows[~windows["listener_id"].isin(flagged)]
    return pd.DataFrame(
        {
            "event_id": hit["event_id"],
            "listener_id": hit["listener_id"],
            "reasons": "rate_impossible",
            "score": config.flag_points * hit["strength"].astype("float64"),
            "note": [
                f"{h:.1f} h of audio in {a} active hours within 24 h"
                for h, a in zip(hit["hours"], hit["active_hours"], strict=True)
            ],
        }
    )


__all__ = ["HARD_REASONS", "REASONS", "SOFT_POINTS", "StreamsVerdict", "score_streams",
           "soft_evidence"]  # fmt: skip
