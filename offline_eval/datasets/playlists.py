"""Named playlists of a data folder (docs/data-format.md, ``playlists``): which interactions
were made in which playlist, and the playlist's title as its author wrote it.

A folder names playlists in two places: ``playlists`` (``playlist_id``, ``name``; one row per
playlist) and the optional ``interactions.playlist_id`` column (the playlist an event was
played from or added to; empty for none). The harness keeps the membership as one frame
(``playlist_id``, ``name``, ``user_id``, ``item_id``) beside the interactions, because splits
merge events into (listener, item) pairs and would lose the column.
"""

from __future__ import annotations

import logging

import pandas as pd

from offline_eval.errors import DatasetError

logger = logging.getLogger(__name__)

MEMBERSHIP_COLUMNS = ("playlist_id", "name", "user_id", "item_id")


def _examples(values: pd.Series | list[str], n: int = 3) -> str:
    shown = [repr(str(v)) for v in list(values)[:n]]
    return ", ".join(shown) + (" ..." if len(values) > n else "")


def playlist_membership(
    playlists: pd.DataFrame | None, interactions: pd.DataFrame, *, file: str = "playlists"
) -> pd.DataFrame | None:
    """The membership frame (``playlist_id``, ``name``, ``user_id``, ``item_id``), or None
    when the folder names no playlists.

    Args:
        playlists: the ``playlists`` table as read (``playlist_id``, ``name``), or None.
        interactions: the raw interactions (``user_id``, ``item_id``, maybe ``playlist_id``).
        file: the table's name for error messages.

    Raises:
        DatasetError: a required column is missing, a playlist id is repeated or has no
            name, or an interaction names a playlist the file does not list.
    """
    has_column = "playlist_id" in interactions.columns
    if playlists is None:
        if (
            has_column
            and interactions["playlist_id"].fillna("").astype(str).str.strip().ne("").any()
        ):
            raise DatasetError(
                "interactions has a playlist_id column but the folder has no playlists.csv. "
                "Fix: add playlists.csv with columns playlist_id,name (docs/data-format.md), "
                "or drop the column"
            )
        return None
    missing = [c for c in ("playlist_id", "name") if c not in playlists.columns]
    if missing:
        raise DatasetError(
            f"{file} lacks required column(s) {missing}. Fix: give every playlist a "
            "playlist_id and its title in name (docs/data-format.md)"
        )
    ids = playlists["playlist_id"].fillna("").astype(str).str.strip()
    if ids.eq("").any():
        rows = [str(i + 2) for i in ids.index[ids.eq("")]]
        raise DatasetError(f"{file} has rows without a playlist_id (lines {_examples(rows)}). "
                           "Fix: give every playlist an id")  # fmt: skip
    repeated = ids[ids.duplicated()].unique()
    if len(repeated):
        raise DatasetError(
            f"{file} lists playlist_id {_examples(repeated)} more than once. Fix: one row per "
            "playlist (the tracks belong in interactions.playlist_id)"
        )
    names = playlists["name"].fillna("").astype(str)
    blank = names.str.strip().eq("")
    if blank.any():
        raise DatasetError(
            f"{file}: playlist(s) {_examples(ids[blank])} have no name. Fix: write the title "
            "as the playlist's author wrote it (emoji and typos are fine)"
        )
    if not has_column:
        logger.warning(
            "%s lists %d playlists but interactions has no playlist_id column; "
            "no interaction belongs to a playlist", file, len(ids)
        )  # fmt: skip
        return None
    inter = interactions.assign(
        playlist_id=interactions["playlist_id"].fillna("").astype(str).str.strip()
    )
    inter = inter[inter["playlist_id"].ne("")]
    unknown = sorted(set(inter["playlist_id"]) - set(ids))
    if unknown:
        raise DatasetError(
            f"interactions name playlist_id {_examples(unknown)} that {file} does not list. "
            "Fix: add them to playlists.csv with their name, or clear the cell"
        )
    by_id = pd.Series(names.to_numpy(), index=ids.to_numpy())
    out = pd.DataFrame(
        {
            "playlist_id": inter["playlist_id"].to_numpy(),
            "name": inter["playlist_id"].map(by_id).to_numpy(),
            "user_id": inter["user_id"].astype(str).to_numpy(),
            "item_id": inter["item_id"].astype(str).to_numpy(),
        }
    )
    return out.drop_duplicates().reset_index(drop=True)


__all__ = ["MEMBERSHIP_COLUMNS", "playlist_membership"]
