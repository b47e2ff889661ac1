"""Collaborative item graphs (item-kNN, EASE) as served candidate sources, and the
reranker's per-listener hold-out when the log's times cannot split it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.pipeline.item_graph import (
    GraphConfig,
    ItemGraphScorer,
    fit_graphs,
    listening_matrix,
    load_graphs,
    save_graphs,
    top_per_row,
)
from recsys.pipeline.training import listener_holdout, time_split_usable


def _events(pairs: list[tuple[str, str]], at: list[pd.Timestamp] | None = None) -> pd.DataFrame:
    n = len(pairs)
    stamp = pd.Timestamp("2020-01-01", tz="UTC")
    return pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "listener_id": [u for u, _ in pairs],
            "track_id": [t for _, t in pairs],
            "event_type": "play",
            "at": at if at is not None else [stamp] * n,
            "weight": 1.0,
        }
    )


def _blocks() -> tuple[pd.DataFrame, np.ndarray]:
    """Two taste blocks: listeners u0-u9 play t0-t4, u10-u19 play t5-t9."""
    pairs = [(f"u{u}", f"t{t}") for u in range(20) for t in range(5) if (u * 7 + t) % 5 != 0]
    pairs = [(u, t if int(u[1:]) < 10 else f"t{int(t[1:]) + 5}") for u, t in pairs]
    return _events(pairs), np.asarray([f"t{i}" for i in range(10)])


def test_graphs_link_tracks_of_the_same_listeners_only() -> None:
    events, ids = _blocks()
    graphs = fit_graphs(events, ids, np.ones(10, bool), GraphConfig(neighbours=3))
    for name, g in graphs.items():
        dense = g.toarray()
        assert dense.shape == (10, 10), name
        assert not dense[:5, 5:].any() and not dense[5:, :5].any(), name
        assert dense[:5, :5].any() and np.all(np.diag(dense) == 0), name
        assert (np.diff(g.indptr) <= 3).all(), name


def test_consent_mask_keeps_tracks_out_of_the_graphs() -> None:
    events, ids = _blocks()
    mask = np.ones(10, bool)
    mask[2] = False
    for g in fit_graphs(events, ids, mask, GraphConfig()).values():
        dense = g.toarray()
        assert not dense[2].any() and not dense[:, 2].any()


def test_scorer_sums_history_rows_and_round_trips(tmp_path: Path) -> None:
    events, ids = _blocks()
    graphs = fit_graphs(events, ids, np.ones(10, bool), GraphConfig())
    save_graphs(graphs, tmp_path)
    loaded = load_graphs(tmp_path, 10)
    assert [s.name for s in loaded] == ["graph_itemknn", "graph_ease"]
    assert load_graphs(tmp_path, 11) == []  # another catalog: not used

    class Ctx:
        history_rows = np.asarray([0, 1])

    scores = loaded[0].score_all(Ctx())  # type: ignore[arg-type]
    expected = graphs["itemknn"][[0, 1]].sum(axis=0).A1
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    assert scores[2:5].min() > 0 and not scores[5:].any()
    Ctx.history_rows = np.asarray([], np.int64)
    assert not ItemGraphScorer("x", graphs["ease"]).score_all(Ctx()).any()  # type: ignore[arg-type]


def test_listening_matrix_is_binary_and_skips_unknown_tracks() -> None:
    events = _events([("a", "t0"), ("a", "t0"), ("a", "zz"), ("b", "t1")])
    x = listening_matrix(events, np.asarray(["t0", "t1"]))
    assert x.shape == (2, 2) and x.toarray().tolist() == [[1, 0], [0, 1]]


def test_top_per_row_keeps_the_largest() -> None:
    m = sp.csr_matrix(np.asarray([[0.1, 0.5, 0.3, 0.0], [0.2, 0.0, 0.0, 0.0]]))
    assert top_per_row(m, 2).toarray().tolist() == [[0.0, 0.5, 0.3, 0.0], [0.2, 0, 0, 0]]


def test_tied_times_cannot_split_and_hold_out_is_per_listener() -> None:
    events, _ = _blocks()
    t = events["at"]
    assert time_split_usable(t, t.quantile(0.7), t.quantile(0.85)) is not None
    spread = pd.Series(pd.date_range("2020-01-01", periods=100, freq="D", tz="UTC"))
    assert time_split_usable(spread, spread.quantile(0.7), spread.quantile(0.85)) is None
    history, held = listener_holdout(events, fraction=0.25, seed=0)
    assert len(history) + len(held) == len(events)
    pairs = set(zip(held["listener_id"], held["track_id"], strict=True))
    assert not pairs & set(zip(history["listener_id"], history["track_id"], strict=True))
    assert held.groupby("listener_id").size().eq(1).all()  # 4 tracks each: one held out


def test_hold_out_takes_each_listeners_latest_dated_tracks() -> None:
    day = pd.Timestamp("2020-01-01", tz="UTC")
    at = [day, day, day, day + pd.Timedelta(days=3), day + pd.Timedelta(days=2)]
    events = _events([("a", f"t{i}") for i in range(5)], at=at)
    _, held = listener_holdout(events, fraction=0.4, seed=3)
    assert sorted(held["track_id"]) == ["t3", "t4"]


def test_undated_log_trains_the_served_reranker_on_a_listener_hold_out() -> None:
    """Every event at one instant (an undated import): no time split exists, yet a reranker
    is trained, and the item graphs are among its sources and features."""
    from recsys.pipeline.candidates import default_sources
    from recsys.pipeline.training import train_from_events
    from tests.recsys.pipeline.world import T0, make_world

    world = make_world(seed=1)
    frame = world.store.read_frame("events")
    frame = frame.assign(event_id=[f"e{i}" for i in range(len(frame))], at=pd.Timestamp(T0))
    ids = np.asarray(world.spaces.track_ids)
    graphs = fit_graphs(frame, ids, np.ones(len(ids), bool), GraphConfig())
    scorers = [ItemGraphScorer(name=f"graph_{n}", graph=g) for n, g in graphs.items()]
    model = train_from_events(
        events=frame,
        spaces=world.spaces,
        track_ids=world.spaces.track_ids,
        tracks=world.store.tracks,
        artists=list(world.store.iter_artists()),
        listeners=world.store.listeners,
        sources_for=lambda cat, spaces: default_sources(spaces, cat, scorers),
    )
    assert model is not None and model.meta["split"].startswith("listener hold-out")
    assert "100%" in model.meta["split"]
    assert {"rank_graph_itemknn", "score_graph_ease"} <= set(model.feature_names)
