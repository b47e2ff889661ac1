"""Thresholds of the artificial-streaming detector, with the reasoning behind each floor.

Every threshold starts at a floor set by what a person can do (nobody plays more than 24
hours of audio a day) or by how a farm must behave to earn money (many accounts, or one
payee fed by accounts that do little else). :func:`~recsys.integrity.streams.calibration.
calibrate` only ever raises them, on listening known to be genuine, until the share of
genuine plays a rule would exclude is within its budget.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class StreamsConfig(BaseModel):
    """What the artificial-streaming detector flags."""

    # Rates (per account and UTC day, on the service's receipt clock when it has one).
    max_day_play_hours: float = Field(default=20.0, gt=0)
    """Audio hours in one day above which a day is impossible for one person."""
    max_day_active_hours: int = Field(default=22, ge=1, le=24)
    """Distinct clock hours with plays in one day at or above which the day is sustained,
    machine-like activity (people sleep; someone who leaves music on all night still pauses)."""
    heavy_day_hours: float = Field(default=14.0, gt=0)
    """Audio hours in a day that count towards ``sustained`` when repeated on several days."""
    heavy_day_active_hours: int = Field(default=18, ge=1, le=24)
    """Active clock hours in a day that count towards ``sustained``."""
    sustained_days: int = Field(default=2, ge=1)
    """Heavy days needed for the ``sustained`` evidence."""
    unknown_play_seconds: float = Field(default=30.0, ge=0)
    """Seconds a play without ``ms_played`` counts for in rates (a paid play claims ≥ 30 s)."""

    # Duration patterns.
    pay_threshold_ms: int = Field(default=30_000, ge=0)
    """Play length from which a play is paid."""
    hug_margin_ms: int = Field(default=6_000, ge=0)
    """Plays within this margin above the pay threshold hug it."""
    hug_share: float = Field(default=0.5, gt=0, le=1)
    """Share of an account's timed plays hugging the threshold that counts as evidence."""
    same_ms_share: float = Field(default=0.5, gt=0, le=1)
    """Share of an account's partial plays (ending before the track does) in one
    one-second bin that counts as identical durations."""
    min_timed_plays: int = Field(default=20, ge=1)
    """Plays with ``ms_played`` needed before duration evidence counts."""

    # Concentration.
    loop_min_plays: int = Field(default=30, ge=1)
    """Plays an account needs before its repetition counts as a loop."""
    loop_distinct_ratio: float = Field(default=0.15, gt=0, le=1)
    """Distinct tracks per play at or below which an account loops."""
    deep_loop_plays_per_track: float = Field(default=100.0, gt=0)
    """Plays per distinct track at or above which a loop is deep (a song a hundred times)."""
    deep_loop_days: int = Field(default=3, ge=1)
    """Days with plays a deep loop must span (one day on repeat is a fan's day)."""
    single_payee_share: float = Field(default=0.8, gt=0, le=1)
    """Share of an account's plays going to one payee that counts as evidence."""
    single_payee_min_plays: int = Field(default=20, ge=1)
    """Plays an account needs before its payee concentration counts."""
    fresh_days: float = Field(default=1.0, ge=0)
    """An account is fresh for a payee when it had been observed for at most this many days
    before its first play of that payee."""

    # Points: each soft evidence adds its points; an account at flag_points is flagged.
    flag_points: int = Field(default=3, ge=1)
    """Evidence points at which an account is flagged (hard rules score this alone)."""

    # Co-ordination (MinHash clusters of near-identical play sets or sequences).
    set_jaccard: float = Field(default=0.6, gt=0, le=1)
    """Jaccard similarity of two accounts' track sets that links them."""
    sequence_jaccard: float = Field(default=0.5, gt=0, le=1)
    """Jaccard similarity of two accounts' consecutive-track pairs that links them."""
    min_cluster_accounts: int = Field(default=8, ge=2)
    """Accounts a co-ordinated cluster or created-together cohort needs."""
    max_cluster_share: float = Field(default=0.5, gt=0, le=1)
    """A co-ordinated cluster holding more than this share of the log's accounts is the
    listening population of a small catalog (everyone plays the same few tracks), not a farm:
    a farm is a minority of a service's accounts."""
    payee_dependence: float = Field(default=0.5, gt=0, le=1)
    """A payee depends on a group of accounts when at least this share of its plays come
    from the group."""
    farm_payee_share: float = Field(default=0.2, gt=0, le=1)
    """Share of a cluster's plays that must go to payees depending on it for a farm."""
    cohort_window_days: float = Field(default=7.0, gt=0)
    """Window in which a payee's fresh, concentrated accounts count as created together."""
    cohort_account_share: float = Field(default=0.1, gt=0, le=1)
    """Share of an account's plays to a payee for it to count in that payee's cohort."""
    minhash_permutations: int = Field(default=64, ge=8)
    """MinHash signature length (bands x rows)."""
    minhash_bands: int = Field(default=16, ge=1)
    """LSH bands; with 64 permutations, 16 bands of 4 rows find pairs above Jaccard ~0.5."""
    seed: int = 0
    """Seed of the MinHash permutations (the result is deterministic for a seed)."""

    # Calibration.
    genuine_budget: float = Field(default=0.0025, gt=0, lt=1)
    """Share of genuine plays that calibration lets the detector exclude (the target is
    0.5 %; half of it is kept as margin for listening unlike the reference)."""


__all__ = ["StreamsConfig"]
