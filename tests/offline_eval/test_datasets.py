from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from offline_eval.datasets import ADAPTERS, ProvenanceSimulation, load_dataset, load_folder
from offline_eval.errors import DatasetError

DATA_ROOT = Path(__file__).resolve().parents[3] / "shared" / "datasets"


def write_minimal(folder: Path) -> None:
    folder.mkdir()
    pd.DataFrame({"item_id": ["t1", "t2", "t3"], "title": ["A", "B", "C"]}).to_csv(
        folder / "items.csv", index=False
    )
    pd.DataFrame({"user_id": ["u1", "u1", "u2"], "item_id": ["t1", "t2", "t9"]}).to_csv(
        folder / "interactions.csv", index=False
    )


def test_minimal_folder_gets_documented_defaults(tmp_path: Path) -> None:
    write_minimal(tmp_path / "mini")
    ds = load_folder(tmp_path / "mini")
    assert ds.name == "mini"
    assert list(ds.items["artist_id"]) == ["t1", "t2", "t3"]  # each item its own artist
    assert ds.interactions["weight"].tolist() == [1.0, 1.0]  # unknown item t9 dropped
    assert ds.interactions["timestamp"].isna().all()
    assert ds.provenance_simulated and "SIMULATED" in ds.provenance_description
    assert not ds.has_integrity_truth


def test_declared_labels_times_credits_and_truth(tmp_path: Path) -> None:
    folder = tmp_path / "full"
    write_minimal(folder)
    items = pd.read_csv(folder / "items.csv").assign(
        ai_involvement=["NONE", "GENERATED", "ASSISTED"], artist_ids=["a1|a2", "a3", ""]
    )
    items.to_parquet(folder / "items.parquet")  # Parquet wins over CSV
    pd.DataFrame(
        {"user_id": ["u1"], "item_id": ["t1"], "timestamp": ["2024-05-01T12:00:00Z"]}
    ).to_csv(folder / "interactions.csv", index=False)
    pd.DataFrame({"item_id": ["t2", "t3"], "abuse_kinds": ["", "upload_burst"]}).to_csv(
        folder / "truth.csv", index=False
    )
    ds = load_folder(folder)
    assert not ds.provenance_simulated
    assert list(ds.items["provider_group"]) == ["human", "ai_generated", "ai_assisted"]
    assert list(ds.items["artist_id"]) == ["a1", "a3", "t3"]
    assert ds.interactions["timestamp"].iloc[0] == pd.Timestamp("2024-05-01T12:00:00Z").timestamp()
    assert ds.has_integrity_truth and list(ds.items["integrity_flag"]) == [False, False, True]


def test_missing_required_column_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    write_minimal(folder)
    pd.DataFrame({"item_id": ["t1"]}).to_csv(folder / "items.csv", index=False)
    with pytest.raises(DatasetError, match=r"items lacks required column\(s\) \['title'\]"):
        load_folder(folder)
    with pytest.raises(DatasetError, match="not a directory"):
        load_folder(tmp_path / "nope")


def test_simulation_is_seeded_and_declared(tmp_path: Path) -> None:
    write_minimal(tmp_path / "mini")
    sim = ProvenanceSimulation(ai_generated_share=0.5, ai_assisted_share=0.0, seed=3)
    a = load_folder(tmp_path / "mini", simulation=sim)
    b = load_folder(tmp_path / "mini", simulation=sim)
    assert a.items["ai_involvement"].tolist() == b.items["ai_involvement"].tolist()
    assert "seed 3" in a.provenance_description and "50%" in a.provenance_description


def test_unknown_dataset_name() -> None:
    with pytest.raises(DatasetError, match="unknown dataset"):
        load_dataset("nope", DATA_ROOT)
    assert set(ADAPTERS) == {"demo", "hetrec-lastfm-2k", "tidytuesday-spotify"}


@pytest.mark.skipif(not (DATA_ROOT / "hetrec2011-lastfm-2k").exists(), reason="no shared data")
def test_hetrec_adapter_reads_in_place() -> None:
    ds = load_dataset("hetrec-lastfm-2k", DATA_ROOT)
    assert len(ds.items) == 17632 and len(ds.interactions) == 92834
    assert ds.interactions["user_id"].nunique() == 1892
    dated = ds.interactions["timestamp"].notna().mean()
    assert 0.2 < dated < 0.25
    assert ds.items["audio_energy"].notna().sum() > 4000  # Spotify join by name
    assert ds.items["tags"].ne("").mean() > 0.5
    assert ds.provenance_simulated


def test_tags_visible_hides_tagging_after_the_cutoff_and_on_test_pairs() -> None:
    from offline_eval.datasets.base import DatedTags, EvalDataset, finalize_items
    from offline_eval.splits import make_split

    items = finalize_items(pd.DataFrame({"item_id": ["a", "b", "c"], "title": ["A", "B", "C"]}))
    inter = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2", "u2", "u1"],
            "item_id": ["a", "b", "a", "c", "c"],
            "weight": 1.0,
            "timestamp": [10.0, 20.0, 30.0, 40.0, 50.0],
        }
    )
    tagged = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u1", "u2"],
            "item_id": ["a", "b", "c", "c"],
            "tag": ["early", "late", "late", "held"],
            "timestamp": [10.0, 45.0, 50.0, 40.0],
        }
    )
    static = pd.Series(["genre-a", "", "genre-c"], index=["a", "b", "c"])
    ds = EvalDataset(
        name="t",
        items=items,
        interactions=inter,
        dated_tags=DatedTags(assignments=tagged, static=static),
    )
    temporal = make_split(inter, "temporal", test_fraction=0.4)
    seen = ds.tags_visible(temporal).items.set_index("item_id")["tags"]
    assert seen.to_dict() == {"a": "early|genre-a", "b": "", "c": "genre-c"}
    # without a cut-off, tags on a held-out (listener, item) pair are hidden
    kfold = dataclasses.replace(temporal, cutoff=None, test=inter.iloc[[3]])
    seen = ds.tags_visible(kfold).items.set_index("item_id")["tags"]
    assert seen["c"] == "late|genre-c" and seen["b"] == "late"
    assert ds.tags_visible(temporal).notes[-1].startswith("Item tags rebuilt from the 1 of 4")
