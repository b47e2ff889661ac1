"""Artificial-streaming evaluation: plant bot farms into a dataset and score the detector.

`liner eval --task streams` and ``benchmarks/streams.py`` run this. The farms come from
:mod:`recsys.integrity.streams.farms`, which the detector is never calibrated on. Figures are
play-weighted (an aggregated row counts its plays): precision and recall of flagged plays,
``farm_paid`` (farm plays not flagged, so still paid), ``genuine_excluded`` (genuine plays
flagged), the pool share the farms' own plays take before and after exclusion (pro-rata and
user-centric), and ``genuine_payout_l1``: how far genuine payees' pro-rata payouts end from
removing exactly the planted plays, as a share of the pool.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from offline_eval.datasets.base import EvalDataset
from offline_eval.datasets.folder import read_table
from offline_eval.errors import EvalError
from recsys.integrity.streams import StreamsConfig, play_log, score_streams
from recsys.integrity.streams.calibration import excluded_share
from recsys.integrity.streams.farms import FARM_KINDS, FarmSpec, plant_farms
from recsys.integrity.streams.plays import PlayLog

FARM = "(farm)"
"""The payee standing for all farms' own plays in the pool shares."""


@dataclass(frozen=True, kw_only=True, eq=False)
class StreamsHost:
    """A log to plant farms into: events in store columns, payee and duration per track."""

    events: pd.DataFrame
    payees: pd.Series
    durations: pd.Series

    @property
    def timed(self) -> bool:
        """Whether single plays carry times (else farms are planted as play counts)."""
        single = self.events["weight"] == 1
        return bool(self.events.loc[single, "at"].notna().any())

    def log(self) -> PlayLog:
        """The host's own listening, as the detector reads it."""
        return play_log(self.events, payees=self.payees, durations=self.durations)


def folder_host(folder: Path) -> StreamsHost:
    """A data folder (``liner demo-data`` layout): its interactions with their event types and
    ``ms_played``, payee = primary artist's rights holder."""
    inter = read_table(folder, "interactions", required=True)
    items = read_table(folder, "items", required=True)
    artists = read_table(folder, "artists")
    assert inter is not None and items is not None
    n = len(inter)

    def col(name: str, default: object) -> pd.Series:
        return inter[name] if name in inter else pd.Series([default] * n, index=inter.index)

    events = pd.DataFrame(
        {
            "event_id": col("event_id", None).fillna(pd.Series(range(n)).astype(str)),
            "listener_id": inter["user_id"].astype(str),
            "track_id": inter["item_id"].astype(str),
            "event_type": col("event_type", "play").fillna("play").astype(str),
            "at": pd.to_datetime(col("timestamp", None), utc=True, errors="coerce", format="mixed"),
            "ms_played": pd.to_numeric(col("ms_played", None), errors="coerce").astype("Int64"),
            "weight": pd.to_numeric(col("weight", 1.0), errors="coerce").fillna(1.0),
        }
    )
    ids = items["item_id"].astype(str).to_numpy()
    primary = (
        items["artist_ids"].astype(str).str.split("|").str[0]
        if "artist_ids" in items
        else pd.Series(ids, index=items.index)
    )
    if artists is not None and "rights_holder_id" in artists:
        holders = artists.set_index("artist_id")["rights_holder_id"]
        primary = primary.map(holders).fillna(primary)
    durations = (
        pd.to_numeric(items["duration_ms"], errors="coerce")
        if "duration_ms" in items
        else pd.Series(float("nan"), index=items.index)
    )
    return StreamsHost(
        events=events,
        payees=pd.Series(primary.to_numpy(), index=ids),
        durations=pd.Series(durations.astype(float).to_numpy(), index=ids),
    )


def dataset_host(dataset: EvalDataset) -> StreamsHost:
    """An adapter's dataset: every interaction a play (weight = plays), payee = artist."""
    inter = dataset.interactions
    events = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(len(inter))],
            "listener_id": inter["user_id"].astype(str),
            "track_id": inter["item_id"].astype(str),
            "event_type": "play",
            "at": pd.to_datetime(inter["timestamp"], unit="s", utc=True),
            "ms_played": pd.array([pd.NA] * len(inter), dtype="Int64"),
            "weight": inter["weight"].astype(float),
        }
    )
    items = dataset.items
    ids = items["item_id"].astype(str).to_numpy()
    return StreamsHost(
        events=events,
        payees=pd.Series(items["artist_id"].astype(str).to_numpy(), index=ids),
        durations=pd.Series(dtype=float),
    )


def _shares(plays: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Pro-rata and user-centric pool shares per payee of ``plays``."""
    per = plays.groupby("payee")["n"].sum()
    by_listener = plays.groupby(["listener_id", "payee"])["n"].sum()
    within = by_listener / by_listener.groupby(level=0).transform("sum")
    return per / per.sum(), within.groupby(level=1).sum() / plays["listener_id"].nunique()


def evaluate_farms(
    host: StreamsHost,
    specs: list[FarmSpec],
    seed: int,
    config: StreamsConfig | None = None,
) -> dict[str, Any]:
    """Plant ``specs`` with ``seed`` into ``host`` and score the detector on the result."""
    timed = host.timed
    planted = plant_farms(
        host.events,
        specs,
        seed=seed,
        durations=host.durations,
        payees=host.payees,
        timed=timed,
    )
    new = planted.tracks.set_index("track_id")
    log = play_log(
        planted.events,
        payees=pd.concat([host.payees, new["payee"]]),
        durations=pd.concat([host.durations, new["duration_ms"].astype(float)]),
        listeners=planted.listeners if len(planted.listeners) else None,
    )
    start = time.perf_counter()
    verdict = score_streams(log, config)
    seconds = time.perf_counter() - start
    plays, flagged_ids = log.plays, verdict.flagged_ids()
    is_farm = plays["event_id"].isin(set(planted.truth["event_id"]))
    flagged = plays["event_id"].isin(flagged_ids)
    n = plays["n"]
    tp, fp = float(n[is_farm & flagged].sum()), float(n[~is_farm & flagged].sum())
    farm_total, genuine_total = float(n[is_farm].sum()), float(n[~is_farm].sum())
    own = set(planted.truth.loc[~planted.truth["camouflage"], "event_id"])
    pooled = plays.assign(payee=plays["payee"].where(~plays["event_id"].isin(own), FARM))
    before_pr, before_uc = _shares(pooled)
    after_pr, after_uc = _shares(pooled[~flagged])
    ideal_pr, _ = _shares(pooled[~is_farm])
    l1 = float((after_pr.reindex(ideal_pr.index).fillna(0) - ideal_pr).abs().sum())
    truth = planted.truth.assign(flagged=planted.truth["event_id"].isin(flagged_ids))
    caught = (truth["plays"] * truth["flagged"]).groupby(truth["farm"]).sum()
    by_farm = (caught / truth.groupby("farm")["plays"].sum()).round(4)
    return {
        "timed": timed,
        "plays": int(n.sum()),
        "farm_plays": int(farm_total),
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "recall": round(tp / farm_total, 4),
        "farm_paid": round(1 - tp / farm_total, 4),
        "genuine_excluded": round(fp / genuine_total, 5),
        "farm_pool_share_pro_rata": [
            round(float(before_pr.get(FARM, 0.0)), 4),
            round(float(after_pr.get(FARM, 0.0)), 4),
        ],
        "farm_pool_share_user_centric": [
            round(float(before_uc.get(FARM, 0.0)), 4),
            round(float(after_uc.get(FARM, 0.0)), 4),
        ],
        "genuine_payout_l1": round(l1, 5),
        "recall_by_farm": {str(k): float(v) for k, v in by_farm.items()},
        "score_seconds": round(seconds, 2),
    }


def run_streams_eval(
    *,
    data: Path | None,
    dataset: str | None,
    data_root: Path,
    out: Path,
    seed: int,
    config: StreamsConfig | None = None,
) -> dict[str, Any]:
    """`liner eval --task streams`: plant every kind of farm in
    :data:`~recsys.integrity.streams.farms.FARM_KINDS` with ``seed`` into a data folder or a
    named dataset, score the detector, and write ``out/streams.json``.

    Raises:
        EvalError: neither or both of ``data`` and ``dataset``.
    """
    from offline_eval.datasets import load_dataset

    if (data is None) == (dataset is None):
        raise EvalError("pass exactly one of --data DIR or --dataset NAME")
    host = (
        folder_host(data)
        if data is not None
        else dataset_host(load_dataset(str(dataset), data_root))
    )
    organic = host.log()
    doc = {
        "source": str(data) if data is not None else dataset,
        "seed": seed,
        "farm_kinds": sorted(FARM_KINDS),
        "no_farms_genuine_excluded": round(
            excluded_share(organic, score_streams(organic, config).flagged_ids()), 5
        ),
        **evaluate_farms(host, list(FARM_KINDS.values()), seed, config),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "streams.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return doc


__all__ = [
    "FARM",
    "StreamsHost",
    "dataset_host",
    "evaluate_farms",
    "folder_host",
    "run_streams_eval",
]
