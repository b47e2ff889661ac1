"""The listening the detector scores, as columns: one row per play, times in seconds.

Times come from what the service observed when it can: an event's ``received_at`` (the
service's receipt clock) bounds its ``at`` (what the client said), and an account is as old
as the service has seen it be (its listener row's ``received_at`` or its first event), never as
old as a data file claims (``created_at`` is a claim and only ever makes an account look older).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PLAY = "play"


@dataclass(frozen=True, kw_only=True, eq=False)
class PlayLog:
    """Plays and the accounts that made them.

    Attributes:
        plays: one row per play event: ``event_id``, ``listener_id``, ``track_id``, ``payee``,
            ``t`` (seconds since the epoch, NaN when unknown), ``ms`` (ms played, NaN when
            unknown), ``duration`` (the track's ms, NaN when unknown), ``n`` (plays the row
            counts: its weight when a whole number ≥ 1, else 1).
        events: every event (plays and others) with ``event_id``, ``listener_id``, ``t``.
        first_seen: per listener, when the service first saw it (seconds; NaN when unknown).
        time_source: ``received_at`` when client times are bounded by the service's receipt
            times, ``at`` when there are only client times, ``none`` when there are no times.
    """

    plays: pd.DataFrame
    events: pd.DataFrame
    first_seen: pd.Series
    time_source: str

    @property
    def timed(self) -> bool:
        """Whether plays carry times (an aggregated log of play counts does not)."""
        return bool(self.plays["t"].notna().any())


def _seconds(col: pd.Series) -> pd.Series:
    """Times as float seconds since the epoch (NaN when unknown)."""
    stamps = pd.to_datetime(col, utc=True)
    return (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds().astype("float64")


def event_times(events: pd.DataFrame) -> tuple[pd.Series, str]:
    """Per event, when it can have happened: the client's ``at``, but never later than the
    service received it (``received_at``), and the receipt time when the client said nothing.

    Receipt time alone cannot date each play (an ingest or an offline phone syncing delivers
    many plays at once), but it bounds every claim: a client cannot place plays after the
    service had them, so spreading a burst over the future to look human does not work.
    """
    at = _seconds(events["at"]) if "at" in events else pd.Series(np.nan, index=events.index)
    source = "at" if at.notna().any() else "none"
    if "received_at" in events and events["received_at"].notna().any():
        received = _seconds(events["received_at"])
        return pd.concat([at, received], axis=1).min(axis=1), "received_at"
    return at, source


def track_payees(tracks: pd.DataFrame, artists: pd.DataFrame | None = None) -> pd.Series:
    """Track id -> who is paid for it: the primary artist's rights holder (the artist when the
    store does not know a holder, the track itself when it has no credits)."""
    ids = tracks["track_id"].astype(str)
    primary = tracks.get("primary_artist_id", pd.Series(index=tracks.index, dtype=object))
    payee = primary.astype(object)
    if artists is not None and len(artists):
        holders = pd.Series(
            artists["rights_holder_id"].astype(str).to_numpy(),
            index=artists["artist_id"].astype(str),
        )
        payee = primary.map(holders).fillna(primary)
    payee = payee.where(payee.notna() & (payee.astype(str) != ""), "track:" + ids)
    return pd.Series(payee.astype(str).to_numpy(), index=ids.to_numpy())


def play_log(
    events: pd.DataFrame,
    *,
    payees: pd.Series | None = None,
    durations: pd.Series | None = None,
    listeners: pd.DataFrame | None = None,
) -> PlayLog:
    """The plays of an ``events`` frame (store columns), ready to score.

    Args:
        events: ``event_id``, ``listener_id``, ``track_id``, ``event_type``, ``at``,
            ``ms_played``, ``weight``, and ``received_at`` when the store records it.
        payees: track id -> payee (default: each track is its own payee).
        durations: track id -> duration in ms.
        listeners: ``listener_id`` and, when known, ``received_at`` (the service's clock).
    """
    t, source = event_times(events)
    frame = pd.DataFrame(
        {
            "event_id": events["event_id"].astype(str).to_numpy(),
            "listener_id": events["listener_id"].astype(str).to_numpy(),
            "track_id": events["track_id"].astype(str).to_numpy(),
            "t": t.to_numpy(),
        }
    )
    kind = events["event_type"].astype(str).to_numpy() if "event_type" in events else PLAY
    is_play = np.asarray(kind == PLAY) if not isinstance(kind, str) else np.ones(len(frame), bool)
    plays = frame[is_play].copy()
    sub = events[is_play]
    ms = sub["ms_played"] if "ms_played" in sub else pd.Series(np.nan, index=sub.index)
    plays["ms"] = pd.to_numeric(ms, errors="coerce").astype("float64").to_numpy()
    weight = (
        pd.to_numeric(sub["weight"], errors="coerce").fillna(1.0).to_numpy(dtype="float64")
        if "weight" in sub
        else np.ones(len(sub))
    )
    whole = (weight >= 1) & (np.floor(weight) == weight)
    plays["n"] = np.where(whole, weight, 1.0).astype("int64")
    track = plays["track_id"]
    plays["payee"] = track.map(payees).fillna("track:" + track) if payees is not None else track
    plays["duration"] = track.map(durations).astype("float64") if durations is not None else np.nan
    seen = frame.groupby("listener_id")["t"].min()
    if listeners is not None and "received_at" in listeners and len(listeners):
        received = pd.Series(
            _seconds(listeners["received_at"]).to_numpy(),
            index=listeners["listener_id"].astype(str).to_numpy(),
        )
        seen = pd.concat([seen, received.reindex(seen.index)], axis=1).min(axis=1)
    return PlayLog(
        plays=plays.reset_index(drop=True),
        events=frame,
        first_seen=seen,
        time_source=source,
    )


__all__ = ["PLAY", "PlayLog", "event_times", "play_log", "track_payees"]
