"""Adapter for HetRec 2011 Last.fm 2K, joined with Spotify artist audio features by name.

Items are artists (the data has no tracks); weights are play counts; tags are the listeners'
tag words plus Spotify genres. The tag assignments are dated, and a split hides those made at or
after its cut-off (:meth:`EvalDataset.tags_visible`): a test pair is itself a tagging event,
and a quarter of the test artists are tagged only after the cut-off. Interactions carry no
time, so each user-artist pair takes the time of the user's FIRST tag on that artist. About
22% of pairs were ever tagged; the other pairs (and 5 tag rows dated before 2005, which are
bogus 1956-1979 values) stay undated, and the temporal split keeps undated pairs in training,
so its test set is the dated pairs after the cut-off.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from offline_eval.datasets.base import (
    DatedTags,
    EvalDataset,
    finalize_interactions,
    finalize_items,
    join_tags,
    tags_from_assignments,
)
from offline_eval.datasets.provenance import ProvenanceSimulation, simulate_provenance
from offline_eval.errors import DatasetError

logger = logging.getLogger(__name__)

FOLDER = "hetrec2011-lastfm-2k"
SPOTIFY_FOLDER = "spotify-artist-genre-audio-features"
AUDIO_COLUMNS = (
    "acousticness",
    "danceability",
    "energy",
    "instrumentalness",
    "liveness",
    "loudness",
    "speechiness",
    "tempo",
    "valence",
)
_EARLIEST = pd.Timestamp("2005-01-01", tz="UTC").timestamp()
_TAGS_PER_ARTIST = 10


def _read(path: Path, **kwargs: object) -> pd.DataFrame:
    if not path.exists():
        raise DatasetError(
            f"{path} not found. Fix: pass --data-root pointing at the folder that holds {FOLDER}/"
        )
    return pd.read_csv(path, sep="\t", **kwargs)


def _tag_assignments(folder: Path) -> pd.DataFrame:
    """Every listener tag assignment: ``user_id``, ``item_id``, ``tag``, ``timestamp`` (s)."""
    tags = _read(folder / "tags.dat", encoding="latin-1")
    assigned = _read(folder / "user_taggedartists-timestamps.dat")
    words = pd.Series(
        tags["tagValue"].astype(str).str.replace("|", "/").to_numpy(), index=tags["tagID"]
    )
    out = pd.DataFrame(
        {
            "user_id": assigned["userID"].astype(str),
            "item_id": assigned["artistID"].astype(str),
            "tag": assigned["tagID"].map(words),
            "timestamp": assigned["timestamp"].to_numpy(dtype=np.float64) / 1000.0,
        }
    )
    return out.dropna(subset=["tag"]).reset_index(drop=True)


def _spotify(root: Path) -> pd.DataFrame | None:
    path = root / SPOTIFY_FOLDER / "data_w_genres.csv"
    if not path.exists():
        logger.warning("%s not found: HetRec items get no audio features", path)
        return None
    sp = pd.read_csv(path)
    sp["key_name"] = sp["artists"].astype(str).str.strip().str.lower()
    sp = sp.drop_duplicates("key_name").set_index("key_name")
    genres = sp["genres"].fillna("[]").astype(str).str.strip()
    genres = genres.where(genres != "[]", "")
    out = pd.DataFrame({f"audio_{c}": pd.to_numeric(sp[c], errors="coerce") for c in AUDIO_COLUMNS})
    out["spotify_genres"] = genres.str.split(",").map(
        lambda gs: "|".join(g.strip() for g in gs if g.strip())
    )
    return out


def load_hetrec(
    data_root: str | Path, *, simulation: ProvenanceSimulation | None = None
) -> EvalDataset:
    """Load HetRec Last.fm 2K from ``data_root/hetrec2011-lastfm-2k`` (read in place).

    Args:
        data_root: folder holding the shared datasets.
        simulation: provenance simulation (the data declares none).

    Returns:
        1,892 listeners x 17,632 artist items, 92,834 weighted interactions.

    Raises:
        DatasetError: when the files are missing.
    """
    root = Path(data_root)
    folder = root / FOLDER
    artists = _read(folder / "artists.dat", usecols=["id", "name"])
    plays = _read(folder / "user_artists.dat")
    stamps = _read(folder / "user_taggedartists-timestamps.dat")
    first = stamps.groupby(["userID", "artistID"])["timestamp"].min() / 1000.0
    first = first.where(first >= _EARLIEST)
    plays = plays.join(first.rename("timestamp"), on=["userID", "artistID"])
    items = pd.DataFrame(
        {
            "item_id": artists["id"].astype(str),
            "title": artists["name"].astype(str),
            "artist_id": artists["id"].astype(str),
        }
    )
    assignments = _tag_assignments(folder)
    ids = artists["id"].astype(str)
    tags = ids.map(tags_from_assignments(assignments, _TAGS_PER_ARTIST)).fillna("")
    static = pd.Series("", index=ids.to_numpy())
    spotify = _spotify(root)
    if spotify is not None:
        joined = spotify.reindex(artists["name"].astype(str).str.strip().str.lower())
        for col in spotify.columns:
            if col.startswith("audio_"):
                items[col] = joined[col].to_numpy()
        static = pd.Series(joined["spotify_genres"].fillna("").to_numpy(), index=ids.to_numpy())
        tags = join_tags(tags, pd.Series(static.to_numpy(), index=tags.index))
        logger.info(
            "Spotify audio features matched %d of %d artists",
            int(joined["audio_energy"].notna().sum()),
            len(items),
        )
    items["tags"] = tags.to_numpy()
    inter = finalize_interactions(
        plays.rename(columns={"userID": "user_id", "artistID": "item_id"})
    )
    ds = EvalDataset(
        name="hetrec-lastfm-2k",
        items=finalize_items(items),
        interactions=inter,
        artists=pd.DataFrame({"artist_id": items["item_id"], "name": items["title"]}),
        source=str(folder.resolve()),
        notes=(
            "Items are artists; weights are play counts.",
            "Interaction time = the listener's first tag on the artist; "
            f"{inter['timestamp'].notna().mean():.1%} of pairs are dated, undated pairs stay "
            "in training under the temporal split.",
            "Audio features and genres joined from Spotify by case-insensitive artist name.",
        ),
        dated_tags=DatedTags(assignments=assignments, static=static, per_item=_TAGS_PER_ARTIST),
    )
    return simulate_provenance(ds, simulation or ProvenanceSimulation())


__all__ = ["load_hetrec"]
