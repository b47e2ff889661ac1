"""Validate listeners, interactions and the consent ledger of a data folder.

Interactions stay a frame (the store's ``events`` columns) so a million rows load without a
Python object per row. An interaction without ``event_id`` gets a hash of its content plus
its occurrence number among identical rows, so re-ingesting the same file is idempotent and
two genuinely identical plays in one file both count.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

from recsys.domain import (
    DEFAULT_CLOCK_SKEW,
    AiPreference,
    ConsentAction,
    ConsentEntry,
    ConsentScope,
    EventType,
    Listener,
)
from recsys.ingest import validate as v
from recsys.ingest.reader import RawTable


def read_listeners(
    tables: dict[str, RawTable], known_artists: set[str], p: v.Problems
) -> list[Listener] | None:
    """Listeners from ``listeners``; None when the file is absent (derive them)."""
    table = tables.get("listeners")
    if table is None:
        return None
    f, file = table.frame, table.file
    if not v.require_columns(f, file, ("user_id",), p):
        return []
    ids = v.text(f, file, "user_id", p, required=True)
    v.unique(ids, file, "user_id", p)
    preference = v.choice(f, file, "ai_preference", p, AiPreference, AiPreference.ALLOW)
    blocked = v.lists(f, "blocked_artist_ids")
    v.known(
        blocked.explode().dropna().astype("string"),
        known_artists,
        file,
        "blocked_artist_ids",
        "artist",
        p,
        "remove the id or add the artist",
    )
    created = v.times(f, file, "created_at", p)
    return [
        Listener(
            listener_id=str(i),
            ai_preference=AiPreference(a),
            blocked_artist_ids=b,
            created_at=None if pd.isna(c) else c.to_pydatetime(),
        )
        for i, a, b, c in zip(ids, preference, blocked, created, strict=True)
        if not pd.isna(i)
    ]


def read_interactions(
    table: RawTable, track_ids: set[str], listener_ids: set[str] | None, p: v.Problems
) -> pd.DataFrame:
    """The events frame; ``listener_ids`` None means any user id is accepted."""
    f, file = table.frame, table.file
    if not v.require_columns(f, file, ("user_id", "item_id"), p):
        return pd.DataFrame()
    listener = v.text(f, file, "user_id", p, required=True)
    track = v.text(f, file, "item_id", p, required=True)
    v.known(
        track,
        track_ids,
        file,
        "item_id",
        "item in items",
        p,
        "add the item to items.csv, or drop the interaction",
    )
    if listener_ids is not None:
        v.known(
            listener,
            listener_ids,
            file,
            "user_id",
            "user in listeners",
            p,
            "add the user to listeners.csv, or drop the interaction",
        )
    events = pd.DataFrame(
        {
            "event_id": v.text(f, file, "event_id", p),
            "listener_id": listener,
            "track_id": track,
            "event_type": v.choice(f, file, "event_type", p, EventType, EventType.PLAY),
            "at": v.times(f, file, "timestamp", p),
            "ms_played": v.integer(f, file, "ms_played", p),
            "weight": v.real(f, file, "weight", p, default=1.0, low=0.0),
            "request_id": v.text(f, file, "request_id", p),
            "position": v.integer(f, file, "position", p),
        }
    )
    v.unique(events["event_id"], file, "event_id", p)
    missing = events["event_id"].isna()
    if missing.any():
        events.loc[missing, "event_id"] = content_ids(events[missing])
    return events


def check_playlists(tables: dict[str, RawTable], p: v.Problems) -> int:
    """Validate ``playlists`` (``playlist_id``, ``name``: the title as written) and
    ``interactions.playlist_id`` against it; the number of playlists. The store keeps no
    playlists (serving never reads them): they name evaluation requests (docs/data-format.md).
    """
    table, inter = tables.get("playlists"), tables["interactions"]
    ids: set[str] = set()
    if table is not None:
        f, file = table.frame, table.file
        if v.require_columns(f, file, ("playlist_id", "name"), p):
            pid = v.text(f, file, "playlist_id", p, required=True)
            v.text(f, file, "name", p, required=True)
            v.unique(pid, file, "playlist_id", p)
            ids = set(pid.dropna())
    if "playlist_id" in inter.frame.columns:
        named = v.text(inter.frame, inter.file, "playlist_id", p)
        fix = "add the playlist (playlist_id, name) to playlists.csv, or clear the cell"
        if table is None and named.notna().any():
            fix = "add playlists.csv with columns playlist_id,name, or drop the column"
        v.known(named, ids, inter.file, "playlist_id", "playlist in playlists", p, fix)
    return len(ids)


def content_ids(events: pd.DataFrame) -> pd.Series:
    """Stable ids from each row's content and its occurrence among identical rows."""
    n = len(events)
    canonical = pd.DataFrame(
        {
            "listener_id": _hash_text(events["listener_id"]),
            "track_id": _hash_text(events["track_id"]),
            "event_type": _hash_text(events["event_type"]),
            "at": events["at"].array.asi8 if n else np.array([], dtype=np.int64),
            "ms_played": events["ms_played"].fillna(-1).astype("int64").to_numpy(),
            "weight": events["weight"].astype("float64").to_numpy(),
            "request_id": _hash_text(events["request_id"]),
            "position": events["position"].fillna(-1).astype("int64").to_numpy(),
        }
    )
    content = pd.util.hash_pandas_object(canonical, index=False)
    occurrence = content.groupby(content).cumcount()
    final = pd.util.hash_pandas_object(
        pd.DataFrame({"c": content.to_numpy(), "n": occurrence.to_numpy()}), index=False
    ).to_numpy()
    return pd.Series(_hex_ids(final), index=events.index)


def _hash_text(values: pd.Series) -> np.ndarray:
    """A stable uint64 per string (missing hashes as ""), hashing each distinct value once."""
    codes, uniques = pd.factorize(values.fillna(""))
    return pd.util.hash_array(np.asarray(uniques, dtype=object))[codes]


_HEX = np.frombuffer("".join(f"{i:02x}" for i in range(256)).encode(), dtype=np.uint8)


def _hex_ids(hashes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``h`` + 16 hex digits per hash, built in bulk (a Python f-string per row is slow)."""
    n = len(hashes)
    digits = np.frombuffer(hashes.astype(">u8").tobytes(), dtype=np.uint8).reshape(n, 8)
    out = np.empty((n, 17), dtype=np.uint8)
    out[:, 0] = ord("h")
    out[:, 1:] = _HEX.reshape(256, 2)[digits].reshape(n, 16)
    fixed = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(17), n, [None, pa.py_buffer(out.tobytes())]
    )
    return pd.arrays.ArrowStringArray(fixed.cast(pa.binary()).cast(pa.string()))


def read_consent(
    table: RawTable | None,
    p: v.Problems,
    *,
    now: datetime | None = None,
    skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> list[ConsentEntry]:
    """The ledger entries of ``consent``, in the order to append them; empty when the file is
    absent.

    A ``timestamp`` is the time the change took effect as the file states it: kept as the
    entry's ``at`` for audit, it never orders the ledger (the store appends and sequences the
    entries). A timestamp later than ``now`` (the service clock) plus ``skew`` is refused.
    Within one file, which has no observed order of its own, entries are appended by stated
    time, then by row.

    Args:
        table: the ``consent`` file, or None.
        p: collects problems.
        now: the service clock (default: now, UTC).
        skew: the clock difference tolerated between the data's source and the service.
    """
    if table is None:
        return []
    f, file = table.frame, table.file
    needed = ("entry_id", "rights_holder_id", "scope", "action", "timestamp")
    if not v.require_columns(f, file, needed, p):
        return []
    ids = v.text(f, file, "entry_id", p, required=True)
    v.unique(ids, file, "entry_id", p)
    holder = v.text(f, file, "rights_holder_id", p, required=True)
    for column in ("scope", "action"):
        p.add_rows(
            file,
            column,
            v.flag(f[column].isna(), f[column]),
            "value is empty",
            f"give every ledger entry a {column}",
        )
    scope = v.choice(f, file, "scope", p, ConsentScope, ConsentScope.AI_TRAINING)
    action = v.choice(f, file, "action", p, ConsentAction, ConsentAction.GRANT)
    actor = v.text(f, file, "actor", p, default="ingest")
    reason = v.text(f, file, "reason", p, default="")
    at = v.times(f, file, "timestamp", p, required=True)
    limit = pd.Timestamp(now or datetime.now(UTC)) + pd.Timedelta(skew)
    p.add_rows(
        file,
        "timestamp",
        v.flag(at > limit, f["timestamp"]),
        f"{{value}} is in the future (later than the service clock plus "
        f"{skew.total_seconds():g} s of clock skew)",
        "give the time the change took effect, now or earlier; a change cannot be entered "
        "ahead of time: record it when it happens",
    )
    if p.total:
        return []
    order = np.lexsort((np.arange(len(f)), at.array.asi8))
    entries = [
        ConsentEntry(
            entry_id=str(i),
            rights_holder_id=str(h),
            scope=ConsentScope(s),
            action=ConsentAction(a),
            actor=str(who),
            reason=str(why),
            at=t.to_pydatetime(),
        )
        for i, h, s, a, who, why, t in zip(
            ids, holder, scope, action, actor, reason, at, strict=True
        )
    ]
    return [entries[i] for i in order]


__all__ = [
    "check_playlists",
    "content_ids",
    "read_consent",
    "read_interactions",
    "read_listeners",
]
