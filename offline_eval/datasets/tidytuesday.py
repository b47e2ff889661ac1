"""Adapter for the TidyTuesday 2020-01-21 Spotify songs: tracks with audio descriptors, and
playlists as listeners (playlist membership is the interaction; it has no time, so only the
listener hold-out and leave-N-out splits apply)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from offline_eval.datasets.base import EvalDataset, finalize_interactions, finalize_items
from offline_eval.datasets.provenance import ProvenanceSimulation, simulate_provenance
from offline_eval.errors import DatasetError

FOLDER = "tidytuesday-spotify-songs-2020"
AUDIO_COLUMNS = (
    "danceability",
    "energy",
    "key",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
)


def load_tidytuesday(
    data_root: str | Path, *, simulation: ProvenanceSimulation | None = None
) -> EvalDataset:
    """Load ``data_root/tidytuesday-spotify-songs-2020/spotify_songs.csv`` in place.

    Raises:
        DatasetError: when the file is missing.
    """
    path = Path(data_root) / FOLDER / "spotify_songs.csv"
    if not path.exists():
        raise DatasetError(f"{path} not found. Fix: pass --data-root holding {FOLDER}/")
    raw = pd.read_csv(path)
    first = raw.drop_duplicates("track_id")
    tags = (
        raw.assign(t=raw["playlist_genre"].astype(str) + "|" + raw["playlist_subgenre"].astype(str))
        .groupby("track_id")["t"]
        .agg(lambda s: "|".join(dict.fromkeys("|".join(s).split("|"))))
    )
    artist = first["track_artist"].fillna("unknown").astype(str)
    items = pd.DataFrame(
        {
            "item_id": first["track_id"].astype(str),
            "title": first["track_name"].fillna("").astype(str),
            "artist_id": "artist:" + artist.str.strip().str.lower(),
            "artist_names": artist,
            "release_date": first["track_album_release_date"].astype(str),
            "duration_ms": first["duration_ms"],
            "popularity": first["track_popularity"],
        }
    )
    # playlist genre and subgenre are already in the tags; no separate genre column
    items["tags"] = items["item_id"].map(tags).fillna("")
    for col in AUDIO_COLUMNS:
        items[f"audio_{col}"] = pd.to_numeric(first[col], errors="coerce").to_numpy()
    inter = raw[["playlist_id", "track_id"]].drop_duplicates()
    ds = EvalDataset(
        name="tidytuesday-spotify",
        items=finalize_items(items),
        interactions=finalize_interactions(
            inter.rename(columns={"playlist_id": "user_id", "track_id": "item_id"})
        ),
        source=str(path.parent.resolve()),
        notes=("Listeners are playlists; an interaction is playlist membership (no time).",),
    )
    return simulate_provenance(ds, simulation or ProvenanceSimulation())


__all__ = ["load_tidytuesday"]
