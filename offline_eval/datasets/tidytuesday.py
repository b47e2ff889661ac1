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
SPOTIFY_FOLDER = "spotify-artist-genre-audio-features"
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


def artist_genres(data_root: str | Path) -> pd.Series | None:
    """Lower-cased artist name → ``|``-joined Spotify artist genres, from the shared
    ``spotify-artist-genre-audio-features/data_w_genres.csv`` (None when it is absent)."""
    path = Path(data_root) / SPOTIFY_FOLDER / "data_w_genres.csv"
    if not path.exists():
        return None
    sp = pd.read_csv(path, usecols=["artists", "genres"])
    genres = sp["genres"].fillna("[]").astype(str).str.strip()
    joined = (
        genres.where(genres != "[]", "")
        .str.split(",")
        .map(lambda gs: "|".join(g.strip() for g in gs if g.strip()))
    )
    key = sp["artists"].astype(str).str.strip().str.lower()
    return pd.Series(joined.to_numpy(), index=key.to_numpy()).groupby(level=0).first()


def load_tidytuesday(
    data_root: str | Path,
    *,
    simulation: ProvenanceSimulation | None = None,
    with_artist_genres: bool = False,
) -> EvalDataset:
    """Load ``data_root/tidytuesday-spotify-songs-2020/spotify_songs.csv`` in place.

    ``with_artist_genres`` tags each track with its artist's Spotify genres (joined by name
    from ``spotify-artist-genre-audio-features``: metadata about the artist, not about these
    playlists), so a query has catalog words to name; the query task asks for it.

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
    genres = artist_genres(data_root) if with_artist_genres else None
    if genres is not None:
        items["tags"] = artist.str.strip().str.lower().map(genres).fillna("").to_numpy()
    matched = int(items["tags"].ne("").sum())
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
        notes=("Listeners are playlists; an interaction is playlist membership (no time).",)
        + (
            (
                f"Tracks tagged with their artist's Spotify genres ({matched:,} of "
                f"{len(items):,} matched by artist name).",
            )
            if genres is not None
            else ()
        ),
    )
    return simulate_provenance(ds, simulation or ProvenanceSimulation())


__all__ = ["artist_genres", "load_tidytuesday"]
