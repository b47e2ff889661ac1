"""Bot traffic for tests and `liner eval`: plant stream farms into any event log and say which
plays are artificial.

This module is for measuring the detector, never for fitting it: the detector is calibrated on
listening known to be genuine, and its thresholds do not come from here.

A farm is a set of accounts that pushes plays towards new payees (artists that had earned
nothing, with their own tracks) or towards existing tracks, shaped by :class:`FarmSpec`:
how many accounts, when they were created (and how old they claim to be), how many tracks each
loops and in which order, at which hours, with which ``ms_played``, and how much camouflage
(plays of popular catalogue tracks) it mixes in. :data:`FARM_KINDS` names typical shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from recsys.domain import (
    AiInvolvement,
    Artist,
    ArtistKind,
    Credit,
    Listener,
    Provenance,
    Track,
)
from recsys.store.base import IngestBatch

DAY = 86_400.0
HOUR = 3_600.0


class FarmSpec(BaseModel):
    """One farm."""

    name: str = "farm"
    """Prefix of the farm's ids (accounts, artists, tracks, events)."""
    accounts: int = Field(default=50, ge=1)
    """Accounts in the farm."""
    days: int = Field(default=5, ge=1)
    """Days the farm plays."""
    plays_per_day: int = Field(default=40, ge=1)
    """Plays per account per day."""
    payees: int = Field(default=3, ge=1)
    """New payees (each one artist with its own rights holder) the farm pushes."""
    tracks_per_payee: int = Field(default=4, ge=1)
    """Tracks each new payee uploads."""
    tracks_per_account: int = Field(default=12, ge=1)
    """Farm tracks each account plays (its loop length); at most all farm tracks."""
    shared_order: bool = True
    """Every account plays its tracks in the same order (a shared sequence)."""
    shared_tracks: bool = True
    """Every account plays the same tracks (else each draws its own subset)."""
    active_hours: float = Field(default=10.0, gt=0, le=24)
    """Hours per day the accounts play (24: around the clock)."""
    overlap: bool = False
    """Plays follow each other faster than the tracks last (more play time than wall time)."""
    ms_mode: Literal["full", "hug", "fixed", "human"] = "human"
    """``full``: the whole track; ``hug``: just over the 30 s pay threshold; ``fixed``: one
    length for every play; ``human``: 60-100 % of the track."""
    camouflage: float = Field(default=0.0, ge=0, lt=1)
    """Share of plays that go to popular catalogue tracks instead."""
    created_spread_hours: float = Field(default=6.0, ge=0)
    """Window in which the accounts were created (received by the service)."""
    claimed_age_days: float = Field(default=0.0, ge=0)
    """How much older than their creation the accounts claim to be (``created_at``)."""
    start_offset_days: float = Field(default=0.0, ge=0)
    """How long after its creation each account starts playing."""
    target_existing: bool = False
    """Push existing low-played catalogue tracks instead of new payees."""


FARM_KINDS: dict[str, FarmSpec] = {
    "looper": FarmSpec(name="loop", accounts=3, payees=1, tracks_per_payee=3,
                       tracks_per_account=3, active_hours=24, plays_per_day=300, days=4,
                       ms_mode="full"),
    "swarm": FarmSpec(name="swarm", accounts=120, payees=3, tracks_per_payee=4,
                      tracks_per_account=12, plays_per_day=60, days=6, camouflage=0.2),
    "rate": FarmSpec(name="rate", accounts=10, payees=1, tracks_per_payee=6,
                     tracks_per_account=6, shared_order=False, overlap=True,
                     plays_per_day=900, days=2, ms_mode="full", active_hours=16),
    "cohort": FarmSpec(name="cohort", accounts=40, payees=1, tracks_per_payee=80,
                       tracks_per_account=25, shared_tracks=False, shared_order=False,
                       plays_per_day=50, days=7, camouflage=0.3),
    "hugger": FarmSpec(name="hug", accounts=15, payees=2, tracks_per_payee=30,
                       tracks_per_account=40, shared_tracks=False, shared_order=False,
                       plays_per_day=120, days=3, ms_mode="hug", created_spread_hours=24 * 30,
                       claimed_age_days=400),
}  # fmt: skip
"""Typical farms, one per pattern the detector looks for."""


@dataclass(frozen=True, kw_only=True, eq=False)
class PlantedFarms:
    """An event log with farms planted, and the truth.

    Attributes:
        events: the original events plus the farms' (store ``events`` columns).
        listeners: farm accounts (``listener_id``, ``created_at`` as claimed,
            ``received_at`` when the service saw them).
        tracks: new tracks (``track_id``, ``duration_ms``, ``artist_id``, ``payee``).
        truth: one row per planted event: ``event_id``, ``farm``, ``listener_id``,
            ``track_id``, ``payee``, ``camouflage`` (bool).
    """

    events: pd.DataFrame
    listeners: pd.DataFrame
    tracks: pd.DataFrame
    truth: pd.DataFrame

    @property
    def farm_payees(self) -> frozenset[str]:
        """Payees the farms push (camouflage excluded)."""
        return frozenset(self.truth.loc[~self.truth["camouflage"], "payee"])


def plant_farms(
    events: pd.DataFrame,
    specs: list[FarmSpec],
    *,
    seed: int,
    durations: pd.Series | None = None,
    payees: pd.Series | None = None,
    start: pd.Timestamp | None = None,
    timed: bool = True,
) -> PlantedFarms:
    """Plant ``specs`` into ``events`` (store columns: ``event_id``, ``listener_id``,
    ``track_id``, ``event_type``, ``at``, ``ms_played``, ``weight``).

    Args:
        events: the host log (left unchanged; the result holds a copy).
        specs: the farms.
        seed: randomness of the farms.
        durations: track id -> ms, for camouflage and existing targets (default 200 s).
        payees: track id -> payee, for truth of existing targets.
        start: when the farms start (default: 10 days before the host log ends).
        timed: False writes aggregated rows (one per account and track, ``weight`` = plays,
            no time, no ``ms_played``) for hosts like HetRec that carry only play counts.
    """
    rng = np.random.default_rng(seed)
    at = pd.to_datetime(events["at"], utc=True) if "at" in events else pd.Series(dtype=object)
    end = at.max() if len(at) and at.notna().any() else pd.Timestamp("2026-06-01", tz="UTC")
    origin = start if start is not None else end - pd.Timedelta(days=10)
    plays = events[events["event_type"].astype(str) == "play"]
    popular = plays["track_id"].astype(str).value_counts()
    popular = popular.index[: max(1, min(200, len(popular)))].to_numpy()
    quiet = plays["track_id"].astype(str).value_counts().sort_values().index.to_numpy()
    ev_rows: list[tuple[str, str, str, float, float]] = []
    truth_rows: list[tuple[str, str, str, str, str, bool]] = []
    listener_rows: list[dict[str, object]] = []
    track_rows: list[dict[str, object]] = []
    for spec in specs:
        farm_tracks, farm_payee, farm_dur = _farm_tracks(spec, rng, quiet, durations, payees)
        track_rows += [
            {"track_id": t, "duration_ms": d, "artist_id": p, "payee": p}
            for t, p, d in zip(farm_tracks, farm_payee, farm_dur, strict=True)
            if not spec.target_existing
        ]
        created0 = origin.timestamp() - rng.uniform(0, 2) * DAY
        for a in range(spec.accounts):
            account = f"{spec.name}_u{a:04d}"
            created = created0 + rng.uniform(0, spec.created_spread_hours) * HOUR
            listener_rows.append({
                "listener_id": account,
                "created_at": pd.Timestamp(round(created - spec.claimed_age_days * DAY),
                                           unit="s", tz="UTC"),
                "received_at": pd.Timestamp(round(created), unit="s", tz="UTC"),
            })  # fmt: skip
            idx = _account_tracks(spec, rng, len(farm_tracks))
            rows = _account_plays(spec, rng, idx, farm_dur, created + spec.start_offset_days * DAY)
            for t, i, ms, camo in rows:
                if camo:
                    track = str(rng.choice(popular))
                    dur = float(durations.get(track, 200_000)) if durations is not None else 2e5
                    ms = _ms(spec, rng, dur)
                    payee = str(payees.get(track, track)) if payees is not None else track
                else:
                    track, payee = farm_tracks[i], farm_payee[i]
                n = len(ev_rows)
                ev_rows.append((f"{spec.name}_e{n:08d}", account, track, t, ms))
                truth_rows.append((f"{spec.name}_e{n:08d}", spec.name, account, track, payee, camo))
    planted = pd.DataFrame(ev_rows, columns=["event_id", "listener_id", "track_id", "t", "ms"])
    truth = pd.DataFrame(
        truth_rows,
        columns=["event_id", "farm", "listener_id", "track_id", "payee", "camouflage"],
    )
    truth["plays"] = 1
    farm_events = pd.DataFrame(
        {
            "event_id": planted["event_id"],
            "listener_id": planted["listener_id"],
            "track_id": planted["track_id"],
            "event_type": "play",
            "at": pd.to_datetime(planted["t"], unit="s", utc=True),
            "ms_played": pd.array(planted["ms"].round(), dtype="Int64"),
            "weight": 1.0,
        }
    )
    if not timed:
        farm_events, truth = _aggregate(farm_events, truth)
    merged = pd.concat([events, farm_events.astype({"at": events["at"].dtype})
                        if "at" in events else farm_events], ignore_index=True)  # fmt: skip
    return PlantedFarms(
        events=merged,
        listeners=pd.DataFrame(listener_rows),
        tracks=pd.DataFrame(track_rows, columns=["track_id", "duration_ms", "artist_id", "payee"]),
        truth=truth,
    )


def farm_batch(planted: PlantedFarms) -> IngestBatch:
    """What to ingest into a store for the farms: their new artists (each its own rights
    holder, named like the payee), tracks, accounts and plays (not the host's events)."""
    farm_ids = set(planted.truth["event_id"])
    artists = [
        Artist(artist_id=a, name=a.replace("_", " "), rights_holder_id=a, kind=ArtistKind.HUMAN)
        for a in sorted(set(planted.tracks["artist_id"]))
    ]
    tracks = [
        Track(
            track_id=str(r.track_id),
            title=f"{r.track_id} song",
            duration_ms=int(r.duration_ms),
            credits=(Credit(artist_id=str(r.artist_id), share=1.0),),
            provenance=Provenance(ai_involvement=AiInvolvement.NONE),
        )
        for r in planted.tracks.itertuples(index=False)
    ]
    listeners = [
        Listener(listener_id=str(r.listener_id), created_at=r.created_at.to_pydatetime())
        for r in planted.listeners.itertuples(index=False)
    ]
    events = planted.events[planted.events["event_id"].isin(farm_ids)]
    frame = events.assign(request_id=None, position=pd.array([pd.NA] * len(events), "Int64"))
    return IngestBatch(artists=artists, tracks=tracks, listeners=listeners, event_frame=frame)


def _farm_tracks(
    spec: FarmSpec,
    rng: np.random.Generator,
    quiet: np.ndarray,
    durations: pd.Series | None,
    payees: pd.Series | None,
) -> tuple[list[str], list[str], list[float]]:
    n = spec.payees * spec.tracks_per_payee
    if spec.target_existing and len(quiet):
        picks = [str(t) for t in quiet[: max(n, 1)]]
        pays = [str(payees.get(t, t)) if payees is not None else t for t in picks]
        durs = [float(durations.get(t, 200_000)) if durations is not None else 2e5 for t in picks]
        return picks, pays, durs
    tracks = [f"{spec.name}_t{p:02d}_{k:03d}" for p in range(spec.payees)
              for k in range(spec.tracks_per_payee)]  # fmt: skip
    pays = [f"{spec.name}_artist{p:02d}" for p in range(spec.payees)
            for _ in range(spec.tracks_per_payee)]  # fmt: skip
    durs = rng.uniform(120_000, 260_000, size=n).round().tolist()
    return tracks, pays, durs


def _account_tracks(spec: FarmSpec, rng: np.random.Generator, n: int) -> np.ndarray:
    k = min(spec.tracks_per_account, n)
    if spec.shared_tracks:
        return np.arange(k)
    return np.sort(rng.choice(n, size=k, replace=False))


def _ms(spec: FarmSpec, rng: np.random.Generator, duration: float) -> float:
    if spec.ms_mode == "full":
        return duration
    if spec.ms_mode == "hug":
        return 30_000 + rng.uniform(200, 4_000)
    if spec.ms_mode == "fixed":
        return 61_000.0
    return duration * rng.uniform(0.6, 1.0)


def _account_plays(
    spec: FarmSpec, rng: np.random.Generator, idx: np.ndarray, durs: list[float], begin: float
) -> list[tuple[float, int, float, bool]]:
    """(time, farm track index, ms, camouflage) of one account's plays."""
    out: list[tuple[float, int, float, bool]] = []
    order = idx if spec.shared_order else rng.permutation(idx)
    step = 0
    for day in range(spec.days):
        day_start = begin + day * DAY + rng.uniform(0, 2) * HOUR
        window = spec.active_hours * HOUR
        t = day_start
        for _ in range(spec.plays_per_day):
            i = int(order[step % len(order)])
            step += 1
            ms = _ms(spec, rng, durs[i])
            camo = bool(rng.random() < spec.camouflage)
            out.append((t, i, ms, camo))
            gap = rng.uniform(5, 25) if spec.overlap else ms / 1000.0 + rng.uniform(1, 8)
            if spec.active_hours < 24 and not spec.overlap:
                gap = max(gap, window / spec.plays_per_day * rng.uniform(0.5, 1.5))
            t += gap
            if t > day_start + window and spec.active_hours < 24:
                t = day_start + rng.uniform(0, window)
    return out


def _aggregate(farm_events: pd.DataFrame, truth: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per (account, track) with ``weight`` = plays and no time."""
    keyed = farm_events.merge(truth[["event_id", "payee", "camouflage", "farm"]], on="event_id")
    grouped = keyed.groupby(["listener_id", "track_id"], sort=True).agg(
        weight=("event_id", "size"), payee=("payee", "first"), camouflage=("camouflage", "all"),
        farm=("farm", "first"),
    ).reset_index()  # fmt: skip
    grouped["event_id"] = [f"{f}_agg{i:08d}" for i, f in enumerate(grouped["farm"])]
    events = pd.DataFrame(
        {
            "event_id": grouped["event_id"],
            "listener_id": grouped["listener_id"],
            "track_id": grouped["track_id"],
            "event_type": "play",
            "at": pd.Series(pd.NaT, index=grouped.index, dtype="datetime64[us, UTC]"),
            "ms_played": pd.array([pd.NA] * len(grouped), dtype="Int64"),
            "weight": grouped["weight"].astype(float),
        }
    )
    truth = grouped[["event_id", "farm", "listener_id", "track_id", "payee", "camouflage"]]
    return events, truth.assign(plays=grouped["weight"])


__all__ = ["FARM_KINDS", "FarmSpec", "PlantedFarms", "farm_batch", "plant_farms"]
