"""Reading the slate and event logs that online analysis needs, from a store or a folder.

Two sources give the same two frames:

* a **store** (a SQLite file or ``sqlite:///`` URL): tables ``slates``, ``slate_items``,
  ``events`` and ``tracks`` (for each track's ``ai_involvement``);
* a **folder** with ``slates.jsonl`` and ``events.jsonl`` (and optionally ``tracks.csv`` or
  ``tracks.jsonl`` with ``track_id,ai_involvement``). A slate line is
  ``{"request_id", "listener_id", "variant", "served_at", "ai_features", "items": [{"track_id",
  "position", "ai_involvement"?}]}``; an event line is ``{"listener_id", "track_id",
  "event_type", "request_id", "position"?, "at"?}``. An item's own ``ai_involvement`` wins over
  the tracks file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from recsys.errors import ConfigError

IMPRESSION_COLUMNS = (
    "request_id",
    "listener_id",
    "variant",
    "ai_features",
    "track_id",
    "position",
    "ai_involvement",
)
EVENT_COLUMNS = ("listener_id", "track_id", "event_type", "request_id")


@dataclass(frozen=True, kw_only=True)
class ExperimentLogs:
    """Impressions (one row per served item) and attributable feedback events.

    Attributes:
        impressions: columns ``IMPRESSION_COLUMNS``; ``ai_involvement`` upper-case or ``""``.
        events: columns ``EVENT_COLUMNS``; ``event_type`` lower-case.
        source: where they came from, for the report.
    """

    impressions: pd.DataFrame
    events: pd.DataFrame
    source: str


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"{path}:{number}: not a JSON object ({exc.msg}). Fix: one JSON object per "
                    "line, see docs/experiments.md"
                ) from exc
    return rows


def _tracks_from_folder(folder: Path) -> dict[str, str]:
    if (folder / "tracks.csv").exists():
        frame = pd.read_csv(folder / "tracks.csv", dtype=str, keep_default_na=False)
    elif (folder / "tracks.jsonl").exists():
        frame = pd.DataFrame(_read_jsonl(folder / "tracks.jsonl"))
    else:
        return {}
    return dict(zip(frame["track_id"], frame["ai_involvement"].str.upper(), strict=True))


def _finish(
    impressions: pd.DataFrame, events: pd.DataFrame, tracks: dict[str, str], source: str
) -> ExperimentLogs:
    if impressions.empty:
        impressions = pd.DataFrame(columns=list(IMPRESSION_COLUMNS))
    if events.empty:
        events = pd.DataFrame(columns=list(EVENT_COLUMNS))
    if "ai_involvement" not in impressions:
        impressions["ai_involvement"] = ""
    own = impressions["ai_involvement"].fillna("").astype(str).str.upper()
    mapped = impressions["track_id"].map(tracks).astype("string").fillna("").astype(str)
    impressions["ai_involvement"] = own.where(own != "", mapped)
    impressions["variant"] = impressions["variant"].fillna("").astype(str)
    impressions["ai_features"] = impressions["ai_features"].fillna(False).astype(bool)
    events = events.dropna(subset=["request_id"]).copy()
    events["event_type"] = events["event_type"].astype(str).str.lower()
    return ExperimentLogs(
        impressions=impressions[list(IMPRESSION_COLUMNS)].reset_index(drop=True),
        events=events[list(EVENT_COLUMNS)].reset_index(drop=True),
        source=source,
    )


def load_folder(folder: Path) -> ExperimentLogs:
    """Read ``slates.jsonl`` + ``events.jsonl`` (+ optional tracks file) from a folder."""
    for name in ("slates.jsonl", "events.jsonl"):
        if not (folder / name).exists():
            raise ConfigError(
                f"{folder} has no {name}. Fix: pass a store file or a folder with slates.jsonl "
                "and events.jsonl (see docs/experiments.md)"
            )
    rows = []
    for slate in _read_jsonl(folder / "slates.jsonl"):
        for item in slate.get("items", []):
            rows.append(
                {
                    "request_id": slate["request_id"],
                    "listener_id": slate["listener_id"],
                    "variant": slate.get("variant", ""),
                    "ai_features": bool(slate.get("ai_features", False)),
                    "track_id": item["track_id"],
                    "position": item.get("position"),
                    "ai_involvement": item.get("ai_involvement", ""),
                }
            )
    events = pd.DataFrame(_read_jsonl(folder / "events.jsonl"))
    return _finish(pd.DataFrame(rows), events, _tracks_from_folder(folder), str(folder))


def load_store(url: str) -> ExperimentLogs:
    """Read the impression log and events from a store file or URL."""
    from recsys.store import open_store

    store = open_store(url)
    try:
        slates = store.read_frame("slates")
        items = store.read_frame("slate_items")
        events = store.read_frame("events")
        tracks = store.read_frame("tracks")
    finally:
        store.close()
    impressions = items.merge(
        slates[["request_id", "listener_id", "variant", "ai_features"]], on="request_id"
    )
    track_map = dict(zip(tracks["track_id"], tracks["ai_involvement"].astype(str), strict=True))
    return _finish(impressions, events, track_map, url)


def load_logs(path: str | Path) -> ExperimentLogs:
    """Logs from a folder (JSONL) or a store (any other path or URL)."""
    if Path(path).is_dir():
        return load_folder(Path(path))
    if "://" not in str(path) and not Path(path).exists():
        raise ConfigError(
            f"logs '{path}' not found. Fix: pass a store file (var/liner.db) or a folder with "
            "slates.jsonl and events.jsonl"
        )
    return load_store(str(path))


__all__ = ["EVENT_COLUMNS", "IMPRESSION_COLUMNS", "ExperimentLogs", "load_logs"]
