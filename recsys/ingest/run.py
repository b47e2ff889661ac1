"""Ingest a data folder into a store in one transaction, and summarise the catalog."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from recsys.domain import DEFAULT_CLOCK_SKEW, Listener
from recsys.ingest import validate as v
from recsys.ingest.catalog import read_catalog
from recsys.ingest.listening import (
    check_playlists,
    read_consent,
    read_interactions,
    read_listeners,
)
from recsys.ingest.reader import read_folder
from recsys.store import IngestBatch, Store

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class IngestReport:
    """What one ingest read and wrote.

    Attributes:
        folder: the data folder (absolute).
        rows: rows read per table file.
        new_events: events that were not in the store before.
        seconds: wall time of the whole ingest.
    """

    folder: str
    rows: dict[str, int]
    new_events: int
    seconds: float


def build_batch(
    folder: Path,
    store: Store,
    *,
    consent_skew: timedelta = DEFAULT_CLOCK_SKEW,
    allow_external_audio: bool = False,
) -> IngestBatch:
    """Read and validate ``folder`` against what ``store`` already holds.

    References may point at the folder or at entities already in the store, so a folder of
    new interactions can be ingested on top of an earlier catalog. A consent entry dated
    later than now plus ``consent_skew`` is a validation problem.

    Raises:
        ValidationError: the folder is malformed (all problems found, up to 20 listed).
    """
    tables = read_folder(folder)
    p = v.Problems()
    store_artists = set(store.read_frame("artists")["artist_id"])
    store_tracks = set(store.read_frame("tracks")["track_id"])
    store_listeners = set(store.read_frame("listeners")["listener_id"])

    catalog = read_catalog(
        tables, folder, store_artists, p, allow_external_audio=allow_external_audio
    )
    known_artists = store_artists | {a.artist_id for a in catalog.artists}
    listeners = read_listeners(tables, known_artists, p)
    track_ids = store_tracks | {t.track_id for t in catalog.tracks}
    listener_ids = (
        None if listeners is None else store_listeners | {x.listener_id for x in listeners}
    )
    events = read_interactions(tables["interactions"], track_ids, listener_ids, p)
    check_playlists(tables, p)
    consent = read_consent(tables.get("consent"), p, skew=consent_skew)
    p.raise_if_any()

    artists = catalog.artists
    if catalog.derived_artists:  # never overwrite a curated artist with a derived stub
        artists = [a for a in artists if a.artist_id not in store_artists]
    if listeners is None:
        derived = pd.unique(events["listener_id"].to_numpy(dtype=object))
        listeners = [Listener(listener_id=str(i)) for i in derived if i not in store_listeners]
    return IngestBatch(
        artists=artists,
        tracks=catalog.tracks,
        listeners=listeners,
        consent=consent,
        # Who sent these events: this ingest of this folder (the store adds its receipt time).
        event_frame=events.assign(sender=f"ingest:{folder.resolve().name or 'data'}"),
    )


def run_ingest(
    folder: str | Path,
    store: Store,
    *,
    consent_skew: timedelta = DEFAULT_CLOCK_SKEW,
    allow_external_audio: bool = False,
) -> IngestReport:
    """Validate a data folder and write it to ``store`` all-or-nothing.

    Re-ingesting the same folder changes nothing: artists, tracks and listeners are upserted
    by id, events and consent entries are keyed by id.

    Args:
        folder: a data folder in the format of docs/data-format.md.
        store: the target store.
        consent_skew: how far a consent entry's time may lie ahead of the service clock
            (``LinerSettings.consent_clock_skew_s``).
        allow_external_audio: accept audio paths outside the folder (a trusted folder).

    Raises:
        ValidationError: the folder is malformed; the store is unchanged.
        StoreError: the write failed; the store is unchanged.

    Example:
        report = run_ingest("demo", SqliteStore("var/liner.db"))
    """
    start = time.perf_counter()
    root = Path(folder)
    batch = build_batch(
        root, store, consent_skew=consent_skew, allow_external_audio=allow_external_audio
    )
    before = store.summary().events
    store.ingest(batch)
    new_events = store.summary().events - before
    report = IngestReport(
        folder=str(root.resolve()),
        rows={
            "artists": len(batch.artists),
            "tracks": len(batch.tracks),
            "listeners": len(batch.listeners),
            "interactions": 0 if batch.event_frame is None else len(batch.event_frame),
            "consent": len(batch.consent),
        },
        new_events=new_events,
        seconds=time.perf_counter() - start,
    )
    logger.info("ingested %s in %.2f s", report.rows, report.seconds)
    return report


def catalog_summary(store: Store) -> dict[str, Any]:
    """Counts a person checks after an ingest, as plain JSON-ready values."""
    tracks = store.read_frame("tracks")
    summary = store.summary()
    state = store.consent_state()
    grants = {str(scope): 0 for scope in sorted({s for _, s in state.granted})}
    for _, scope in state.granted:
        grants[str(scope)] += 1
    listeners = store.count_by("listeners", "ai_preference")
    return {
        "artists": summary.artists,
        "artists_by_kind": dict(sorted(store.count_by("artists", "kind").items())),
        "tracks": summary.tracks,
        "tracks_by_ai_involvement": dict(
            sorted(store.count_by("tracks", "ai_involvement").items())
        ),
        "tracks_by_label_source": dict(sorted(store.count_by("tracks", "label_source").items())),
        "tracks_with_audio": int(tracks["audio_path"].notna().sum()),
        "listeners": summary.listeners,
        "listeners_ai_opt_out": int(listeners.get("opt_out", 0)),
        "events": summary.events,
        "events_by_type": dict(sorted(store.count_by("events", "event_type").items())),
        "consent_entries": summary.consent_entries,
        "consent_grants_by_scope": grants,
        "quarantined": summary.quarantined,
        "schema_version": summary.schema_version,
    }


__all__ = ["IngestReport", "build_batch", "catalog_summary", "run_ingest"]
