"""Write half of the TidyTuesday playlists as a data folder with playlist titles
(docs/data-format.md: ``playlists.csv`` and ``interactions.playlist_id``), for
``liner eval --task query --data DIR``.

The 471 playlists are halved by a hash of their id: ``--half dev`` is the half the query
stage was looked at on, ``--half held-out`` the half it never saw. Items are the half's
tracks; ``--artist-genres`` adds the Spotify genres of each track's artist (the shared
``spotify-artist-genre-audio-features`` file, joined by name: catalog metadata about the
artist, not about these playlists) as ``tags``.

``--playlists-per-listener N`` (default 1: each playlist is its own listener) gives every
listener N of the half's playlists (drawn by a seeded shuffle of the playlist ids): a
listener who made several playlists, whose history mixes them, so a playlist's title is what
says which of them a request continues.

    python benchmarks/tidytuesday_folder.py --half held-out --artist-genres --out var/tt-held-out
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from offline_eval.datasets.tidytuesday import artist_genres

FOLDER = "tidytuesday-spotify-songs-2020"
SPOTIFY = "spotify-artist-genre-audio-features"
AUDIO = ("danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
         "instrumentalness", "liveness", "valence", "tempo")  # fmt: skip


def half_of(playlist_id: str) -> str:
    """``dev`` or ``held-out``, by a stable hash of the id."""
    digest = hashlib.sha256(playlist_id.encode()).digest()[0]
    return "dev" if digest % 2 == 0 else "held-out"


def listeners_of(playlist_ids: list[str], per_listener: int, seed: int = 0) -> dict[str, str]:
    """Playlist id → listener id: ``per_listener`` playlists each, by a seeded shuffle."""
    ids = sorted(set(playlist_ids))
    order = np.random.default_rng(seed).permutation(len(ids))
    return {ids[j]: f"listener-{n // per_listener:04d}" for n, j in enumerate(order)}


def write(
    root: Path, half: str, out: Path, *, with_genres: bool, per_listener: int = 1
) -> dict[str, int]:
    raw = pd.read_csv(root / FOLDER / "spotify_songs.csv")
    raw = raw[raw["playlist_id"].astype(str).map(half_of).eq(half)]
    first = raw.drop_duplicates("track_id")
    artist = first["track_artist"].fillna("unknown").astype(str).str.strip()
    items = pd.DataFrame(
        {
            "item_id": first["track_id"].astype(str),
            "title": first["track_name"].fillna("").astype(str),
            "artist_ids": "artist:" + artist.str.lower(),
            "artist_names": artist,
            "release_date": first["track_album_release_date"].astype(str).str[:10],
            "duration_ms": first["duration_ms"],
            "tags": "",
        }
    )
    if with_genres:
        genres = artist_genres(root)
        assert genres is not None, f"{root / SPOTIFY} is missing"
        items["tags"] = artist.str.lower().map(genres).fillna("").to_numpy()
    for col in AUDIO:
        items[f"audio_{col}"] = first[col].to_numpy()
    pairs = raw[["playlist_id", "track_id"]].drop_duplicates().astype(str)
    owner = (
        pairs["playlist_id"].map(listeners_of(pairs["playlist_id"].tolist(), per_listener))
        if per_listener > 1
        else pairs["playlist_id"]
    )
    interactions = pd.DataFrame(
        {"user_id": owner, "item_id": pairs["track_id"], "playlist_id": pairs["playlist_id"]}
    )
    playlists = raw.drop_duplicates("playlist_id")[["playlist_id", "playlist_name"]]
    playlists = playlists.rename(columns={"playlist_name": "name"}).astype(str)
    out.mkdir(parents=True, exist_ok=True)
    items.to_csv(out / "items.csv", index=False)
    interactions.to_csv(out / "interactions.csv", index=False)
    playlists.to_csv(out / "playlists.csv", index=False)
    return {"items": len(items), "interactions": len(interactions), "playlists": len(playlists)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=Path("../shared/datasets"))
    ap.add_argument("--half", choices=("dev", "held-out"), required=True)
    ap.add_argument("--artist-genres", action="store_true")
    ap.add_argument("--playlists-per-listener", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    if args.playlists_per_listener < 1:
        ap.error("--playlists-per-listener must be at least 1")
    counts = write(
        args.data_root, args.half, args.out, with_genres=args.artist_genres,
        per_listener=args.playlists_per_listener,
    )  # fmt: skip
    print(counts)


if __name__ == "__main__":
    main()
