"""Adapter for the TidyTuesday 2020-01-21 Spotify songs: tracks with audio descriptors, and
playlists as listeners (playlist membership is the interaction; it has no time, so only the
listener hold-out and leave-N-out splits apply). Tracks get no tags: the only genres in the
file describe the playlists, so they would reveal a held-out track's playlist."""

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
    # No tags: the file's only genres are the *playlists'* (playlist_genre/subgenre). As item
    # tags they put every test playlist's own genre on its held-out tracks, a label leak that
    # content models exploit and collaborative ones cannot (the served pipeline scored 9x
    # item-kNN on NDCG@10 with them).
    items["tags"] = ""
    for col in AUDIO_COLUMNS:
        items[f"audio_{col}"] = pd.to_numeric(first[col], errors="coerce").to_numpy()
    inter = raw[["playlist_id", "track_id"]].drop_duplicates()
    # Each playlist is its own listener; its title is the query of the query task's
    # playlist requests (never an item feature).
    playlists = pd.DataFrame(
        {
            "playlist_id": raw["playlist_id"].astype(str),
            "name": raw["playlist_name"].fillna("").astype(str),
            "user_id": raw["playlist_id"].astype(str),
            "item_id": raw["track_id"].astype(str),
        }
    ).drop_duplicates()
    ds = EvalDataset(
        name="tidytuesday-spotify",
        items=finalize_items(items),
        interactions=finalize_interactions(
            inter.rename(columns={"playlist_id": "user_id", "track_id": "item_id"})
        ),
        playlists=playlists,
        source=str(path.parent.resolve()),
        notes=("Listeners are playlists; an interaction is playlist membership (no time).",),
    )
    return simulate_provenance(ds, simulation or ProvenanceSimulation())


__all__ = ["load_tidytuesday"]
