"""The tag-query task: hold-outs, leak-free item text, known answers for BM25, and the whole
`liner eval --task tag-query` path with the three models (tiny generated data, fake text model).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from offline_eval import LeakageError, run_evaluation
from offline_eval.cli import eval_command
from offline_eval.datasets import EvalDataset, finalize_interactions, finalize_items
from offline_eval.tag_query import (
    build_corpus,
    check_no_tag_leakage,
    hold_out,
    tag_assignments,
)
from offline_eval.tag_task import TagQueryTask
from offline_eval.tasks import register_task
from tests.agent.fakes import trigram_vector

STYLES = {
    "rock": ("guitar", "loud"),
    "ambient": ("calm", "drone"),
    "jazz": ("smooth", "sax"),
    "rap": ("urban", "beats"),
}


class FakeTextModel:
    """Character-trigram vectors: deterministic, no network, fast."""

    name = "fake-trigram"

    def encode(self, sentences: list[str], **kwargs: Any) -> np.ndarray:
        return np.stack([trigram_vector(s) for s in sentences])


def styled(n_items: int = 160, source: str = "") -> EvalDataset:
    """Item i has style i % 4 (its title names it) and that style's two mood tags."""
    styles = list(STYLES)
    items = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(n_items)],
            "title": [f"{styles[i % 4]} artist {i}" for i in range(n_items)],
            "tags": ["|".join((styles[i % 4], *STYLES[styles[i % 4]])) for i in range(n_items)],
            "ai_involvement": "NONE",
        }
    )
    items.loc[0, "integrity_flag"] = True
    plays = pd.DataFrame(
        {"user_id": [f"u{i % 7}" for i in range(n_items)], "item_id": items["item_id"]}
    )
    return EvalDataset(
        name="styled",
        items=finalize_items(items),
        interactions=finalize_interactions(plays),
        source=source,
    )


def test_random_pair_holdout_text_is_leak_free() -> None:
    ds = styled()
    assignments, genres = tag_assignments(ds)
    assert len(assignments) == 3 * 160 and not any(genres)
    train, test, kind, cutoff = hold_out(assignments, test_fraction=0.2, seed=3)
    assert kind == "tag-pairs" and cutoff is None and 60 < len(test) < 130
    corpus = build_corpus(ds, train, genres, np.ones(160))
    check_no_tag_leakage(corpus, train, test)
    hidden = test.iloc[0]
    row = corpus.item_ids.index(hidden["item_id"])
    assert hidden["tag"] not in corpus.tags[row]
    bad = build_corpus(ds, assignments, genres, np.ones(160))  # text from every assignment
    with pytest.raises(LeakageError, match="not training assignments"):
        check_no_tag_leakage(bad, train, test)


def test_timed_assignments_are_cut_in_time_and_genres_kept(tmp_path: Path) -> None:
    """HetRec's raw layout (written here, generated): the last 20% of assignments by time."""
    rows = [
        (u, i, t, 1_200_000_000_000 + 1000 * n)
        for n, (u, i, t) in enumerate(
            (u, i, 1 + (i + u) % 3) for u in range(5) for i in range(1, 21)
        )
    ]
    pd.DataFrame(rows, columns=["userID", "artistID", "tagID", "timestamp"]).to_csv(
        tmp_path / "user_taggedartists-timestamps.dat", sep="\t", index=False
    )
    pd.DataFrame({"tagID": [1, 2, 3], "tagValue": ["Post-Rock", "sad", "loud"]}).to_csv(
        tmp_path / "tags.dat", sep="\t", index=False
    )
    items = pd.DataFrame(
        {
            "item_id": [str(i) for i in range(1, 21)],
            "title": [f"band {i}" for i in range(1, 21)],
            "tags": ["post-rock|shoegaze"] * 20,  # adapter-style: listener words + a genre
        }
    )
    ds = EvalDataset(
        name="timed",
        items=finalize_items(items),
        interactions=finalize_interactions(pd.DataFrame({"user_id": ["u"], "item_id": ["1"]})),
        source=str(tmp_path),
    )
    assignments, genres = tag_assignments(ds)
    assert set(assignments["tag"]) == {"post-rock", "sad", "loud"}
    assert all(g == {"shoegaze"} for g in genres)
    train, test, kind, cutoff = hold_out(assignments, test_fraction=0.2, seed=0)
    assert kind == "tag-temporal" and len(test) == 20
    assert train["timestamp"].max() < cutoff <= test["timestamp"].min()


@pytest.fixture
def options(tmp_path: Path) -> dict[str, dict[str, Any]]:
    model = FakeTextModel()
    opts = {"text_model": model, "cache_dir": tmp_path / "cache"}
    return {"agent": opts, "text-embedding": opts}


def test_three_models_on_the_task_with_a_known_answer(
    tmp_path: Path, options: dict[str, dict[str, Any]]
) -> None:
    register_task("tag-query-tiny", lambda: TagQueryTask(min_relevant=4, max_queries=50))
    result = run_evaluation(
        eval_dataset=styled(),
        task="tag-query-tiny",
        out=tmp_path / "out",
        n_boot=50,
        model_options=options,
        progress=False,
    )
    doc = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert set(doc["models"]) == {"agent", "bm25", "text-embedding"} and not doc["failed_models"]
    assert doc["split"] == "tag-pairs" and doc["control"] == "bm25"
    for est in doc["models"].values():
        lo, hi = est["ndcg@10"]["ci"]
        assert lo <= est["ndcg@10"]["value"] <= hi
        assert {"recall@10", "mrr@10"} <= set(est)
    # Each style's name is in every one of its items' titles, and items already tagged with it
    # are left out of answers: what remains for a style query are exactly its hidden items.
    per_query = result.scorecards["bm25"].per_user["ndcg@10"]
    style_queries = [q for q, t in _query_text(result).items() if t in STYLES]
    assert style_queries and (per_query[style_queries] == 1.0).all()
    assert (tmp_path / "out" / "report.html").is_file()
    assert list((tmp_path / "cache").glob("tag-query-text-*.npz"))


def _query_text(result: Any) -> dict[str, str]:
    task = TagQueryTask(min_relevant=4, max_queries=50)
    task.build(styled(), None)  # type: ignore[arg-type]  # the interaction split is unused
    assert task.queries is not None
    return task.queries.text


def test_cli_runs_on_a_data_folder_and_refuses_listener_models(tmp_path: Path) -> None:
    ds = styled()
    folder = tmp_path / "data"
    folder.mkdir()
    ds.items[["item_id", "title", "tags"]].to_csv(folder / "items.csv", index=False)
    ds.interactions[["user_id", "item_id"]].to_csv(folder / "interactions.csv", index=False)
    out = tmp_path / "cli"
    res = CliRunner().invoke(
        eval_command,
        [
            *("--task", "tag-query", "--data", str(folder), "--out", str(out)),
            *("--models", "bm25,popularity", "--bootstrap", "20", "--no-progress"),
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "metrics.json").read_text())
    assert list(doc["models"]) == ["bm25"] and doc["split"] == "tag-pairs"
    assert "cannot answer text queries" in doc["failed_models"]["popularity"]
    assert doc["models"]["bm25"]["ndcg@10"]["value"] > 0.3
