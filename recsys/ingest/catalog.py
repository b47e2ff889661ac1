"""Validate the catalog files (items, artists, credits) and turn them into domain objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

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
    tables: dict[str, RawTable],
    folder: Path,
    store_artist_ids: set[str],
    p: v.Problems,
    *,
    allow_external_audio: bool = False,
) -> Catalog:
    """Validate items, artists and credits; problems go to ``p``. Audio paths must stay
    inside ``folder`` unless ``allow_external_audio``."""
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
    tracks = _tracks(
        f, file, folder, item_id, artist_ids, credits, p, allow_external_audio=allow_external_audio
    )
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
    *,
    allow_external_audio: bool = False,
) -> list[Track]:
    title = v.text(f, file, "title", p, required=True)
    genre = v.text(f, file, "genre", p, default="")
    tags = v.lists(f, "tags")
    description = v.text(f, file, "description", p, default="")
    duration = v.integer(f, file, "duration_ms", p).fillna(0)
    release = v.dates(f, file, "release_date", p)
    audio = _audio_paths(
        v.text(f, file, "audio_path", p), folder, file, p, allow_outside=allow_external_audio
    )
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
    release_dates = [None if d is None else date.fromisoformat(d) for d in _cells(release)]
    uploaded_at = [None if t is None else t.to_pydatetime() for t in _cells(uploaded)]
    audio_values = {k: _cells(col) for k, col in descriptors.items()}
    tag_l, parts_l, refs_l = tags.tolist(), parts.tolist(), references.tolist()
    involvement_l, source_l = involvement.tolist(), source.tolist()
    confidence_l = confidence.tolist()
    tracks = []
    for i, (tid, ids, t_title, t_genre, t_description, t_duration, t_audio, t_uploader) in (
        enumerate(
            zip(
                _cells(item_id), artist_ids.tolist(), _cells(title), _cells(genre),
                _cells(description), _cells(duration), _cells(audio), _cells(uploader),
                strict=True,
            )
        )
    ):  # fmt: skip
        own = credits.get(tid) or tuple(
            Credit(artist_id=a, share=1.0 / len(ids)) for a in dict.fromkeys(ids)
        )
        tracks.append(
            Track(
                track_id=str(tid),
                title=str(t_title),
                credits=own,
                tags=tag_l[i],
                genre=str(t_genre),
                description=str(t_description),
                duration_ms=int(t_duration),
                release_date=release_dates[i],
                audio_path=t_audio,
                audio_descriptors={
                    k: float(col[i]) for k, col in audio_values.items() if col[i] is not None
                },
                uploader_id=str(t_uploader),
                uploaded_at=uploaded_at[i],
                provenance=Provenance(
                    ai_involvement=AiInvolvement(involvement_l[i]),
                    ai_parts=tuple(AiPart(x) for x in parts_l[i]),
                    label_source=LabelSource(source_l[i]),
                    confidence=float(confidence_l[i]),
                    references_artist_ids=refs_l[i],
                ),
            )
        )
    return tracks


def _cells(values: pd.Series) -> list[Any]:
    """The column as Python values, None where missing (fast, unlike ``.iat``)."""
    return [None if pd.isna(x) else x for x in values.astype(object).tolist()]


def _audio_paths(
    paths: pd.Series, folder: Path, file: str, p: v.Problems, *, allow_outside: bool = False
) -> pd.Series:
    """Absolute paths; a path naming no file is an error, and so is one outside the data
    folder (``../``, an absolute path, a symlink out of it) unless ``allow_outside``: an
    upload must not make the service read ``/etc/passwd``."""
    root = folder.resolve()
    resolved = [None if c is None else str((root / str(c)).resolve()) for c in _cells(paths)]
    if not allow_outside:
        outside = pd.Series(
            [r is not None and not Path(r).is_relative_to(root) for r in resolved],
            index=paths.index,
        )
        p.add_rows(
            file,
            "audio_path",
            v.flag(outside, paths),
            "{value} points outside the data folder",
            "put the audio file inside the folder and give its path relative to it (or run "
            "`liner ingest --allow-external-audio` for a folder you trust)",
        )
        resolved = [None if o else r for r, o in zip(resolved, outside, strict=True)]
    missing = pd.Series(
        [r is not None and not Path(r).is_file() for r in resolved], index=paths.index
    )
    p.add_rows(
        file,
        "audio_path",
        v.flag(missing, paths),
        "{value} names no file",
        "put the audio file in the folder (paths are relative to it) or clear the cell",
    )
    return pd.Series(resolved, index=paths.index, dtype=object)


__all__ = ["SHARE_TOLERANCE", "Catalog", "read_catalog"]
