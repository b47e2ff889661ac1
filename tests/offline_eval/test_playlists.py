"""Named playlists in the data folder format: read by ``liner ingest`` and the harness's folder
loader, refused with a clear error when malformed, and turned into playlist-title requests
(offline_eval/datasets/playlists.py, recsys/ingest/listening.py, offline_eval/query_requests.py).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from offline_eval.datasets import load_folder
from offline_eval.errors import DatasetError
from offline_eval.query_requests import make_requests, title_terms
from offline_eval.splits import Split
from recsys.ingest import IngestValidationError, run_ingest
from recsys.store import SqliteStore
from tests.recsys.ingest.folders import valid_tables, write_folder

Tables = dict[str, pd.DataFrame]


def with_playlists(playlist_ids: list[str], names: dict[str, str]) -> Tables:
    tables = valid_tables()
    tables["interactions"] = tables["interactions"].assign(playlist_id=playlist_ids)
    tables["playlists"] = pd.DataFrame({"playlist_id": list(names), "name": list(names.values())})
    return tables


GOOD = with_playlists(
    ["p1", "p1", "", "", "p2", "p2", "p2", ""], {"p1": "chill vibes 🌴", "p2": "wrkout 2019"}
)


def test_the_folder_loader_keeps_who_put_which_track_in_which_named_playlist(
    tmp_path: Path,
) -> None:
    ds = load_folder(write_folder(tmp_path / "data", GOOD))
    assert ds.playlists is not None
    got = ds.playlists.sort_values(["playlist_id", "item_id"]).to_dict("records")
    assert got == [
        {"playlist_id": "p1", "name": "chill vibes 🌴", "user_id": "u1", "item_id": "t1"},
        {"playlist_id": "p1", "name": "chill vibes 🌴", "user_id": "u1", "item_id": "t2"},
        {"playlist_id": "p2", "name": "wrkout 2019", "user_id": "u3", "item_id": "t4"},
    ]
    assert load_folder(write_folder(tmp_path / "plain", valid_tables())).playlists is None


@pytest.mark.parametrize(
    ("ids", "names", "says"),
    [
        (["p1", "", "", "", "", "", "", "p9"], {"p1": "a"}, "'p9'"),
        (["p1", "", "", "", "", "", "", ""], {"p1": "  "}, "have no name"),
        (["p1", "", "", "", "", "", "", ""], {}, "no playlists.csv"),
    ],
    ids=["unknown-playlist", "blank-name", "no-playlists-file"],
)
def test_malformed_playlists_are_refused_by_loader_and_ingest(
    tmp_path: Path, ids: list[str], names: dict[str, str], says: str
) -> None:
    tables = with_playlists(ids, names)
    if not names:
        del tables["playlists"]
    folder = write_folder(tmp_path / "bad", tables)
    with pytest.raises(DatasetError, match=says):
        load_folder(folder)
    store = SqliteStore(tmp_path / "liner.db")
    try:
        with pytest.raises(IngestValidationError, match="playlist") as err:
            run_ingest(folder, store)
        assert "Fix" in str(err.value) or "fix" in str(err.value)
        assert store.read_frame("tracks").empty  # refused whole: nothing written
    finally:
        store.close()


def test_ingest_accepts_named_playlists(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "liner.db")
    try:
        result = run_ingest(write_folder(tmp_path / "data", GOOD), store)
        assert result.new_events == 8
    finally:
        store.close()


def test_a_playlist_request_asks_with_the_title_as_written(tmp_path: Path) -> None:
    ds = load_folder(write_folder(tmp_path / "data", GOOD))
    pairs = ds.interactions.drop_duplicates(["user_id", "item_id"])
    test = pairs[pairs["item_id"].isin(["t2", "t4"]) & pairs["user_id"].isin(["u1", "u3"])]
    train = pairs.drop(test.index)
    split = Split(kind="user-kfold", train=train, test=test, description="hand-made")
    requests, _ = make_requests(ds, split.train, split.test, kind="playlist")
    got = {r.user: (r.query, sorted(r.relevant)) for r in requests}
    # u3's only held-out track t4 is in "wrkout 2019", but u3 has no other track in training
    # beyond t4 itself, so only u1 asks.
    assert got == {"u1": ("chill vibes 🌴", ["t2"])}


def test_title_terms_find_catalog_terms_through_case_punctuation_and_emoji() -> None:
    usable = {"tropical house": 1.0, "hits": 1.0, "r&b": 1.0, "hip hop": 1.0}
    assert title_terms("Tropical House 🌴 2020 Hits!", usable) == ("tropical house", "hits")
    assert title_terms("HIP-HOP / R&B", usable) == ("hip hop", "r&b")
    assert title_terms("chill vibes", usable) == ()
