"""``liner eval --task query``: requests from held-out listening, and the served pipeline asked
with and without them (offline_eval/query_requests.py, offline_eval/query_task.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from offline_eval.cli import eval_command
from offline_eval.datasets import EvalDataset, finalize_interactions, finalize_items
from offline_eval.query_requests import make_requests, norm_term
from offline_eval.query_task import run_query_evaluation
from offline_eval.splits import make_split
from recsys.demo import DemoConfig, generate_demo, write_folder


def _catalog() -> EvalDataset:
    """Six genres of ten items, each item also tagged with its genre's mood; each listener
    plays two genres, the later plays held out."""
    genres = ["jazz", "metal", "folk", "pop", "blues", "soul"]
    items = pd.DataFrame(
        {
            "item_id": [f"i{g}_{j}" for g in range(6) for j in range(10)],
            "title": [f"{genres[g]} song {j}" for g in range(6) for j in range(10)],
            "artist_id": [f"a{g}_{j % 3}" for g in range(6) for j in range(10)],
            "genre": [genres[g] for g in range(6) for _ in range(10)],
            "tags": [
                f"mood-{g}|late_night" if j % 2 else f"mood-{g}"
                for g in range(6)
                for j in range(10)
            ],
            "ai_involvement": "NONE",
        }
    )
    rows = [
        {"user_id": f"u{u}", "item_id": f"i{g}_{j}", "weight": 1.0, "timestamp": 1000.0 * t}
        for u in range(30)
        for t, (g, j) in enumerate(
            [((u + s) % 6, (u + 3 * s + r) % 10) for r in range(6) for s in range(2)]
        )
    ]
    return EvalDataset(
        name="tiny",
        items=finalize_items(items),
        interactions=finalize_interactions(pd.DataFrame(rows)),
    )


@pytest.mark.parametrize("kind", ["query", "seed"])
def test_requests_name_what_the_relevant_held_out_items_carry(kind: str) -> None:
    ds = _catalog()
    split = make_split(ds.interactions, "temporal", seed=0)
    requests, table = make_requests(ds, split.train, split.test, kind=kind, seed=1)
    assert len(requests) >= 10
    titles = {norm_term(t) for t in ds.items["title"]}
    pos = table.position
    for r in requests:
        held = set(split.test.loc[split.test["user_id"] == r.user, "item_id"].astype(str))
        seen = set(split.train.loc[split.train["user_id"] == r.user, "item_id"].astype(str))
        assert r.relevant and r.relevant <= held - seen
        assert all(set(r.terms) <= table.terms[pos[i]] for i in r.relevant)
        assert all(t in table.usable for t in r.terms)
        if kind == "query":
            assert r.query and norm_term(r.query) not in titles and not r.seeds
            assert "-" not in r.query and "_" not in r.query  # written as people type
        else:
            assert not r.query and 1 <= len(r.seeds) <= 3 and set(r.seeds) <= seen
            assert all(r.terms[0] in table.terms[pos[s]] for s in r.seeds)
    if kind == "query":
        assert any(len(r.terms) == 2 for r in requests)
        assert all(" " in r.query for r in requests if len(r.terms) == 2)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("query-eval")
    world = generate_demo(DemoConfig(tracks=200, listeners=40, seed=5, audio=False))
    write_folder(world, root / "data")
    return root


def test_the_served_pipeline_answers_query_requests_better_than_without_the_query(
    demo: Path,
) -> None:
    docs = run_query_evaluation(
        data=demo / "data",
        out=demo / "out",
        options={"text_model": "hash"},
        n_boot=30,
        max_requests=40,
        progress=False,
    )
    assert set(docs) == {"query", "seed"}
    for kind, folder in (("query", demo / "out"), ("seed", demo / "out" / "seeds")):
        written = json.loads((folder / "metrics.json").read_text())
        assert (folder / "report.html").is_file() and written["models"] == docs[kind]["models"]
        assert not written["failed_models"], written["failed_models"]
        assert {"liner", "liner-no-boost", "term-popularity"} <= set(written["models"])
    query = docs["query"]["models"]
    assert {"bm25", "text-embedding", "liner-no-query"} <= set(query)
    assert query["liner"]["ndcg@10"]["value"] > 1.5 * query["liner-no-query"]["ndcg@10"]["value"]
    paired = docs["query"]["paired_without_request"]["liner"]["ndcg@10"]
    assert paired["diff"] > 0 and paired["significant"]


def test_the_cli_names_an_unknown_model_before_building_anything(demo: Path) -> None:
    out = CliRunner().invoke(
        eval_command,
        ["--task", "query", "--data", str(demo / "data"), "--out", str(demo / "cli"),
         "--models", "liner,nonsense"],
    )  # fmt: skip
    assert out.exit_code != 0 and "nonsense" in out.output
    assert not (demo / "cli").exists()


def _playlist_folder(demo: Path, name: str) -> tuple[Path, pd.DataFrame, pd.Series, pd.Series]:
    """A copy of the demo data folder (without its interactions, which the test writes), the
    interactions, each listener's main genre, and which plays are of that genre."""
    folder = demo / name
    folder.mkdir()
    for f in (demo / "data").iterdir():
        if f.is_file() and f.name != "interactions.csv":
            (folder / f.name).write_bytes(f.read_bytes())
    inter = pd.read_csv(demo / "data" / "interactions.csv", dtype=str, keep_default_na=False)
    items = pd.read_csv(demo / "data" / "items.csv", dtype=str, keep_default_na=False)
    genre = inter["item_id"].map(items.set_index("item_id")["genre"])
    main = genre.groupby(inter["user_id"]).agg(lambda g: g.value_counts().index[0])
    mine = genre.eq(inter["user_id"].map(main))
    return folder, inter, main, mine


def test_playlist_titles_are_asked_as_written_and_answered_by_the_pipeline(demo: Path) -> None:
    # The demo folder with a playlist per listener: their plays of their main genre, titled
    # the way people title playlists. The relevant items are that playlist's held-out tracks.
    folder, inter, main, mine = _playlist_folder(demo, "playlists")
    inter["playlist_id"] = ("pl-" + inter["user_id"]).where(mine, "")
    inter.to_csv(folder / "interactions.csv", index=False)
    titles = {u: f"my {g.upper()} mix 🎧" for u, g in main.items()}
    pd.DataFrame(
        {"playlist_id": [f"pl-{u}" for u in titles], "name": list(titles.values())}
    ).to_csv(folder / "playlists.csv", index=False)
    docs = run_query_evaluation(
        data=folder, out=demo / "out-pl", kinds=["playlist"], options={"text_model": "hash"},
        n_boot=30, max_requests=40, progress=False,
    )  # fmt: skip
    assert set(docs) == {"playlist"}
    doc = json.loads((demo / "out-pl" / "playlists" / "metrics.json").read_text())
    assert {"liner", "liner-no-query", "bm25", "text-embedding", "term-popularity"} <= set(
        doc["models"]
    )
    assert not doc["failed_models"]
    assert all(e["query"].startswith("my ") and e["query"].endswith("🎧") for e in doc["examples"])
    ndcg = {m: v["ndcg@10"]["value"] for m, v in doc["models"].items()}
    assert ndcg["liner"] > ndcg["liner-no-query"]


def test_a_listener_with_several_playlists_is_asked_once_per_playlist(demo: Path) -> None:
    """Every listener's plays split into two playlists (their main genre and the rest): each
    test listener holding held-out tracks in both gets a request per playlist, told apart by
    ``listener#playlist``, each relevant set that playlist's held-out tracks only."""
    from offline_eval.datasets import load_folder

    folder, inter, main, mine = _playlist_folder(demo, "two-playlists")
    inter["playlist_id"] = ("main-" + inter["user_id"]).where(mine, "rest-" + inter["user_id"])
    inter.to_csv(folder / "interactions.csv", index=False)
    users = sorted(inter["user_id"].unique())
    pd.DataFrame(
        {
            "playlist_id": [f"{p}-{u}" for u in users for p in ("main", "rest")],
            "name": [t for u in users for t in (f"{main[u]} mix", "everything else")],
        }
    ).to_csv(folder / "playlists.csv", index=False)
    ds = load_folder(folder)
    split = make_split(ds.interactions, "user-kfold", seed=0)
    requests, _ = make_requests(ds, split.train, split.test, kind="playlist", seed=0)
    by_user: dict[str, list[str]] = {}
    for r in requests:
        by_user.setdefault(r.user, []).append(r.qid)
    assert len({r.qid for r in requests}) == len(requests)
    assert any(len(q) == 2 for q in by_user.values())
    held = split.test.assign(item_id=split.test["item_id"].astype(str))
    for r in requests:
        playlist = r.qid.split("#", 1)[1] if "#" in r.qid else None
        assert len(by_user[r.user]) == 1 or playlist is not None
        if playlist is not None:
            tracks = set(inter.loc[inter["playlist_id"] == playlist, "item_id"])
            mine_held = set(held.loc[held["user_id"] == r.user, "item_id"])
            assert r.relevant == frozenset(tracks & mine_held)
            assert r.query == (
                "everything else" if playlist.startswith("rest") else f"{main[r.user]} mix"
            )
    capped, _ = make_requests(ds, split.train, split.test, kind="playlist", seed=0, max_requests=3)
    assert len(capped) == 3
