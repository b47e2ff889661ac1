"""Per-account and per-account-day features of listening, each scale-free (shares, hours,
days), so the same thresholds hold for a demo world and for a service with millions of plays."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.integrity.streams.config import StreamsConfig
from recsys.integrity.streams.plays import PlayLog

DAY = 86_400.0
HOUR = 3_600.0


def play_seconds(log: PlayLog, config: StreamsConfig) -> pd.Series:
    """Seconds of audio per play row: ``ms_played`` (at most the track's length, so a client
    cannot inflate a rate it is judged by downwards), else the pay threshold's worth."""
    plays = log.plays
    ms = plays["ms"].clip(lower=0)
    ms = ms.where(plays["duration"].isna() | (ms <= plays["duration"]), plays["duration"])
    seconds = (ms / 1000.0).fillna(config.unknown_play_seconds)
    return seconds * plays["n"]


def day_activity(log: PlayLog, config: StreamsConfig) -> pd.DataFrame:
    """Per (listener, UTC day) with timed plays: ``hours`` of audio, ``active_hours``
    (distinct clock hours with a play) and ``plays``."""
    plays = log.plays
    # An aggregated row (a play count) is not dated by its time: it cannot make a day's rate.
    timed = plays["t"].notna() & (plays["n"] == 1)
    if not timed.any():
        return pd.DataFrame(columns=["listener_id", "day", "hours", "active_hours", "plays"])
    sub = plays[timed]
    frame = pd.DataFrame(
        {
            "listener_id": sub["listener_id"],
            "day": np.floor(sub["t"] / DAY).astype("int64"),
            "hour": np.floor(sub["t"] / HOUR).astype("int64"),
            "seconds": play_seconds(log, config)[timed],
            "n": sub["n"],
        }
    )
    grouped = frame.groupby(["listener_id", "day"], sort=False)
    return pd.DataFrame(
        {
            "hours": grouped["seconds"].sum() / HOUR,
            "active_hours": grouped["hour"].nunique(),
            "plays": grouped["n"].sum(),
        }
    ).reset_index()


def impossible_windows(log: PlayLog, config: StreamsConfig) -> pd.DataFrame:
    """The plays inside a 24-hour window that no person produces: more audio than
    :attr:`~StreamsConfig.max_day_play_hours`, or plays in nearly every hour of it.

    Windows roll (one starts at every play), so a bot cannot split its day across midnight.

    Returns:
        One row per such play: ``event_id``, ``listener_id``, ``strength`` (≥ 1: how far past
        the limit the latest impossible window covering it is), and ``hours`` and
        ``active_hours`` of the window starting at the play.
    """
    plays = log.plays
    timed = plays["t"].notna() & (plays["n"] == 1)
    columns = ["event_id", "listener_id", "strength", "hours", "active_hours"]
    if not timed.any():
        return pd.DataFrame(columns=columns)
    sub = plays[timed].assign(seconds=play_seconds(log, config)[timed])
    sub = sub.sort_values(["listener_id", "t"], kind="stable")
    code = pd.factorize(sub["listener_id"])[0].astype(np.int64)
    t = sub["t"].to_numpy()
    # (account, time) as one sortable integer: 2**33 s reaches the year 2242.
    key = (code << 33) + np.floor(t).astype(np.int64)
    end = np.searchsorted(key, key + int(DAY), side="left")
    start = np.arange(len(key))
    cum = np.r_[0.0, np.cumsum(sub["seconds"].to_numpy())]
    hours = (cum[end] - cum[start]) / HOUR
    hour = (code << 33) + np.floor(t / HOUR).astype(np.int64)
    new = np.r_[True, hour[1:] != hour[:-1]]
    cum_new = np.r_[0, np.cumsum(new)]
    active = cum_new[end] - cum_new[start + 1] + 1  # the window's first play opens an hour
    strength = np.maximum(hours / config.max_day_play_hours, active / config.max_day_active_hours)
    bad = strength >= 1
    if not bad.any():
        return pd.DataFrame(columns=columns)
    # Mark every play covered by an impossible window, with the worst strength covering it.
    cover = np.zeros(len(key) + 1, dtype=np.int64)
    np.add.at(cover, start[bad], 1)
    np.add.at(cover, end[bad], -1)
    inside = np.cumsum(cover)[:-1] > 0
    # A covered play's strength: that of the latest impossible window started at or before it
    # (windows never cross accounts: the key holds the account).
    worst = pd.Series(np.where(bad, strength, np.nan)).ffill().fillna(1.0).to_numpy()
    return pd.DataFrame(
        {
            "event_id": sub["event_id"].to_numpy()[inside],
            "listener_id": sub["listener_id"].to_numpy()[inside],
            "strength": np.maximum(worst[inside], 1.0),
            "hours": hours[inside],
            "active_hours": active[inside],
        }
    )


def account_features(log: PlayLog, config: StreamsConfig) -> pd.DataFrame:
    """One row per listener with plays: the inputs of the soft evidence.

    Columns: ``plays``, ``distinct``, ``top_payee``, ``top_payee_share``, ``timed_plays``,
    ``hug_share``, ``same_ms_share``, ``heavy_days``, ``active_days``, ``fresh_days`` (days
    the service had seen the account before its first play of its top payee; NaN when
    unknown).
    """
    plays = log.plays
    by = plays.groupby("listener_id", sort=True)
    out = pd.DataFrame({"plays": by["n"].sum(), "distinct": by["track_id"].nunique()})
    per_payee = plays.groupby(["listener_id", "payee"], sort=False)["n"].sum()
    top = per_payee.sort_values(ascending=False, kind="stable").groupby(level=0).head(1)
    top = top.reset_index().set_index("listener_id")
    out["top_payee"] = top["payee"].reindex(out.index)
    out["top_payee_share"] = (top["n"].reindex(out.index) / out["plays"]).fillna(0.0)
    out = out.join(_duration_shares(log, config))
    days = day_activity(log, config)
    heavy = (days["hours"] >= config.heavy_day_hours) | (
        days["active_hours"] >= config.heavy_day_active_hours
    )
    out["heavy_days"] = days[heavy].groupby("listener_id").size().reindex(out.index).fillna(0)
    out["active_days"] = days.groupby("listener_id").size().reindex(out.index).fillna(0)
    first_top = (
        plays.merge(out[["top_payee"]], left_on="listener_id", right_index=True)
        .query("payee == top_payee")
        .groupby("listener_id")["t"]
        .min()
    )
    out["fresh_days"] = (first_top - log.first_seen.reindex(first_top.index)).reindex(
        out.index
    ) / DAY
    return out


def _duration_shares(log: PlayLog, config: StreamsConfig) -> pd.DataFrame:
    """``timed_plays``, ``hug_share`` (plays just over the pay threshold, on tracks long
    enough that a full play would not land there) and ``same_ms_share`` (partial plays in
    the account's most common one-second bin)."""
    plays = log.plays
    timed = plays[plays["ms"].notna()]
    ids = plays["listener_id"].unique()
    if timed.empty:
        zero = pd.Series(0.0, index=ids)
        return pd.DataFrame({"timed_plays": zero, "hug_share": zero, "same_ms_share": zero})
    low = config.pay_threshold_ms
    high = low + config.hug_margin_ms
    long_enough = timed["duration"].isna() | (timed["duration"] > high + 10_000)
    hug = (timed["ms"] >= low) & (timed["ms"] < high) & long_enough
    by = timed.groupby("listener_id")
    counts = by["n"].sum()
    hug_share = (timed["n"] * hug).groupby(timed["listener_id"]).sum() / counts
    full = timed["duration"].notna() & (timed["ms"] >= 0.98 * timed["duration"])
    partial = timed[~full].assign(bin=np.floor(timed.loc[~full, "ms"] / 1000.0))
    modal = partial.groupby(["listener_id", "bin"])["n"].sum().groupby(level=0).max()
    same = (modal / partial.groupby("listener_id")["n"].sum()).reindex(counts.index).fillna(0.0)
    # Few partial plays say little: the share only counts over enough of them.
    enough = partial.groupby("listener_id")["n"].sum().reindex(counts.index).fillna(0)
    same = same.where(enough >= config.min_timed_plays, 0.0)
    return pd.DataFrame(
        {"timed_plays": counts, "hug_share": hug_share, "same_ms_share": same}
    ).reindex(ids, fill_value=0.0)


__all__ = ["account_features", "day_activity", "impossible_windows", "play_seconds"]
