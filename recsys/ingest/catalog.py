"""Validate the catalog files (items, artists, credits) and turn them into domain objects."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.domain import (
    AiInvolvement,
    AiPart,
    Artist,
    ArtistKind,
    Credit,
    CreditRole,
    LabelSource,
    Provenance,
    Track,
)
from recsys.ingest import validate as v
from recsys.ingest.reader import RawTable

SHARE_TOLERANCE = 1e-6


@dataclass(frozen=True, kw_only=True)
class Catalog:
    """The validated catalog of one folder.

    Attributes:
        artists: artists to upsert (from ``artists``), or to add when new (derived).
        derived_artists: True when artists were derived from items, so existing ones must not
            be overwritten.
        tracks: tracks with credits and provenance.
    """

    artists: list[Artist]
    derived_artists: bool
    tracks: list[Track]


def read_catalog(
    tables: dict[str, RawTable], folder: Path, store_artist_ids: set[str], p: v.Problems
) -> Catalog:
    """Validate items, artists and credits; problems go to ``p``."""
    items = tables["items"]
    f, file = items.frame, items.file
    if not v.require_columns(f, file, ("item_id", "title"), p):
        return Catalog(artists=[], derived_artists=False, tracks=[])
    item_id = v.text(f, file, "item_id", p, required=True)
    v.unique(item_id, file, "item_id", p)
    artist_ids = v.lists(f, "artist_ids")

    if "artists" in tables:
        artists, derived = _artists_file(tables["artists"], p), False
    else:
        artists, derived = _derived_artists(f, item_id, artist_ids, tables.get("credits")), True
    known = store_artist_ids | {a.artist_id for a in artists}

    fix = "add the artist to artists.csv, or remove the reference"
    for column, cells in (
        ("artist_ids", artist_ids),
        ("references_artist_ids", v.lists(f, "references_artist_ids")),
    ):
        flat = cells.explode().dropna()
        v.known(flat.astype("string"), known, file, column, "artist", p, fix)

    credits = _credits(tables.get("credits"), set(item_id.dropna()), known, p)
    if not artist_ids.map(bool).any() and "artists" not in tables and "credits" not in tables:
        artist_ids = item_id.map(lambda i: (_own_artist(i),))
    tracks = _tracks(f, file, folder, item_id, artist_ids, credits, p)
    return Catalog(artists=artists, derived_artists=derived, tracks=tracks)


def _own_artist(item_id: object) -> str:
    return f"artist-of-{item_id}"


def _artists_file(table: RawTable, p: v.Problems) -> list[Artist]:
    f, file = table.frame, table.file
    if not v.require_columns(f, file, ("artist_id", "name"), p):
        return []
    ids = v.text(f, file, "artist_id", p, required=True)
    v.unique(ids, file, "artist_id", p)
    names = v.text(f, file, "name", p, required=True)
    kinds = v.choice(f, file, "kind", p, ArtistKind, ArtistKind.UNKNOWN)
    verified = v.boolean(f, file, "verified", p)
    holders = v.text(f, file, "rights_holder_id", p).fillna(ids)
    created = v.times(f, file, "created_at", p)
    return [
        Artist(
            artist_id=str(i),
            name=str(n),
            kind=ArtistKind(k),
            verified=bool(ver),
            rights_holder_id=str(h),
            created_at=None if pd.isna(c) else c.to_pydatetime(),
        )
        for i, n, k, ver, h, c in zip(ids, names, kinds, verified, holders, created, strict=True)
        if not pd.isna(i) and not pd.isna(n)
    ]


def _derived_artists(
    f: pd.DataFrame, item_id: pd.Series, artist_ids: pd.Series, credits: RawTable | None
) -> list[Artist]:
    names = v.lists(f, "artist_names")
    found: dict[str, str] = {}
    has_ids = "artist_ids" in f.columns
    for iid, ids, ns in zip(item_id, artist_ids, names, strict=True):
        if not has_ids and not ns:
            if not pd.isna(iid) and credits is None:
                found.setdefault(_own_artist(iid), "Unknown artist")
            continue
        for k, aid in enumerate(ids if has_ids else ns):
            found.setdefault(aid, ns[k] if k < len(ns) else aid)
    if credits is not None and "artist_id" in credits.frame.columns:
        for aid in credits.frame["artist_id"].dropna().astype(str).str.strip():
            found.setdefault(aid, aid)
    return [Artist(artist_id=a, name=n, rights_holder_id=a) for a, n in sorted(found.items()) if a]


def _credits(
    table: RawTable | None, item_ids: set[str], artist_ids: set[str], p: v.Problems
) -> dict[str, tuple[Credit, ...]]:
    if table is None:
        return {}
    f, file = table.frame, table.file
    if not v.require_columns(f, file, ("item_id", "artist_id"), p):
        return {}
    track = v.text(f, file, "item_id", p, required=True)
    artist = v.text(f, file, "artist_id", p, required=True)
    v.known(
        track,
        item_ids,
        file,
        "item_id",
        "item in items",
        p,
        "add the item to items.csv, or remove the credit",
    )
    v.known(
        artist,
        artist_ids,
        file,
        "artist_id",
        "artist",
        p,
        "add the artist to artists.csv, or remove the credit",
    )
    role = v.choice(f, file, "role", p, CreditRole, CreditRole.PRIMARY)
    if "share" in f.columns:
        share = v.real(f, file, "share", p, default=None, low=0.0, high=1.0)
        p.add_rows(
            file,
            "share",
            v.flag(f["share"].isna(), f["share"]),
            "share is empty",
            "give every credit a share; a track's shares sum to 1",
        )
    else:
        share = 1.0 / track.map(track.value_counts()).astype("float64")
    totals = share.groupby(track).sum()
    for tid, total in totals[(totals - 1.0).abs() > SHARE_TOLERANCE].items():
        first = int(track.index[(track == tid).to_numpy()][0]) + 1
        p.add(
            file,
            f"the shares of track '{tid}' sum to {total:.6g}, not 1",
            "make each track's shares sum to 1 (within 1e-6)",
            row=first,
            field="share",
        )
    out: dict[str, list[Credit]] = {}
    for t, a, r, s in zip(track, artist, role, share, strict=True):
        if pd.isna(t) or pd.isna(a) or np.isnan(s):
            continue
        out.setdefault(str(t), []).append(
            Credit(artist_id=str(a), role=CreditRole(r), share=float(s))
        )
    return {t: tuple(cs) for t, cs in out.items()}


def _tracks(
    f: pd.DataFrame,
    file: str,
    folder: Path,
    item_id: pd.Series,
    artist_ids: pd.Series,
    credits: dict[str, tuple[Credit, ...]],
    p: v.Problems,
) -> list[Track]:
    title = v.text(f, file, "title", p, required=True)
    genre = v.text(f, file, "genre", p, default="")
    tags = v.lists(f, "tags")
    description = v.text(f, file, "description", p, default="")
    duration = v.integer(f, file, "duration_ms", p).fillna(0)
    release = v.dates(f, file, "release_date", p)
    audio = _audio_paths(v.text(f, file, "audio_path", p), folder, file, p)
    descriptors = {
        c.removeprefix("audio_"): v.real(f, file, c, p, default=None)
        for c in f.columns
        if c.startswith("audio_") and c != "audio_path"
    }
    uploader = v.text(f, file, "uploader_id", p, default="")
    uploaded = v.times(f, file, "uploaded_at", p)
    involvement = v.choice(f, file, "ai_involvement", p, AiInvolvement, AiInvolvement.UNDISCLOSED)
    parts = v.choice_lists(f, file, "ai_parts", p, AiPart)
    source = v.choice(f, file, "label_source", p, LabelSource, LabelSource.DECLARED)
    confidence = v.real(f, file, "label_confidence", p, default=1.0, low=0.0, high=1.0)
    references = v.lists(f, "references_artist_ids")
    if p.total:
        return []
    tracks = []
    for i in range(len(f)):
        tid = str(item_id.iat[i])
        ids = artist_ids.iat[i]
        own = credits.get(tid) or tuple(
            Credit(artist_id=a, share=1.0 / len(ids)) for a in dict.fromkeys(ids)
        )
        tracks.append(
            Track(
                track_id=tid,
                title=str(title.iat[i]),
                credits=own,
                tags=tags.iat[i],
                genre=str(genre.iat[i]),
                description=str(description.iat[i]),
                duration_ms=int(duration.iat[i]),
                release_date=None
                if pd.isna(release.iat[i])
                else pd.Timestamp(release.iat[i]).date(),
                audio_path=None if pd.isna(audio.iat[i]) else str(audio.iat[i]),
                audio_descriptors={
                    k: float(col.iat[i])
                    for k, col in descriptors.items()
                    if not np.isnan(col.iat[i])
                },
                uploader_id=str(uploader.iat[i]),
                uploaded_at=None if pd.isna(uploaded.iat[i]) else uploaded.iat[i].to_pydatetime(),
                provenance=Provenance(
                    ai_involvement=AiInvolvement(involvement.iat[i]),
                    ai_parts=tuple(AiPart(x) for x in parts.iat[i]),
                    label_source=LabelSource(source.iat[i]),
                    confidence=float(confidence.iat[i]),
                    references_artist_ids=references.iat[i],
                ),
            )
        )
    return tracks


def _audio_paths(paths: pd.Series, folder: Path, file: str, p: v.Problems) -> pd.Series:
    """Absolute paths; a path naming no file is an error."""
    root = folder.resolve()
    resolved = paths.map(lambda s: None if pd.isna(s) else str((root / str(s)).resolve()))
    missing = resolved.map(lambda s: s is not None and not Path(s).is_file())
    p.add_rows(
        file,
        "audio_path",
        v.flag(missing, paths),
        "{value} names no file",
        "put the audio file in the folder (paths are relative to it) or clear the cell",
    )
    return resolved


__all__ = ["SHARE_TOLERANCE", "Catalog", "read_catalog"]
