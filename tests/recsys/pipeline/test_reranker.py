"""The LightGBM reranker: lambdarank training, text save/load parity, explanations, and
training from an event log with a time split."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from recsys.domain import EventType, FeedbackEvent
from recsys.errors import ArtifactError
from recsys.pipeline import PipelineRecommender, RecommendRequest
from recsys.pipeline.candidates import Proposal, default_sources, merge_candidates
from recsys.pipeline.loader import load_scorers
from recsys.pipeline.reranker import LightGbmReranker, RankingData, align
from recsys.pipeline.training import train_from_events
from tests.recsys.pipeline.world import T0, make_world


def _ranking_data(rng: np.random.Generator, n_groups: int) -> RankingData:
    groups = np.full(n_groups, 30)
    x = rng.normal(size=(int(groups.sum()), 4)).astype(np.float32)
    # Relevance depends on feature "a" only; "noise" features carry nothing.
    y = (x[:, 0] > 1.0).astype(np.float32)
    return RankingData(features=x, labels=y, groups=groups, feature_names=("a", "b", "c", "d"))


def test_lambdarank_learns_the_signal_and_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    model = LightGbmReranker.fit(
        _ranking_data(rng, 60), _ranking_data(rng, 20), model_id="m1", num_boost_round=40
    )
    assert model.meta["valid"]["ndcg@10"] >= 0.95
    test = _ranking_data(rng, 5).features
    assert roc_auc_score(test[:, 0] > 1.0, model.score(test)) >= 0.95
    path = model.save(tmp_path)
    assert path == tmp_path / "reranker" / "m1.txt" and path.read_text().startswith("tree")
    loaded = LightGbmReranker.load(tmp_path, "m1")
    np.testing.assert_allclose(loaded.score(test), model.score(test), rtol=1e-6)
    top = loaded.explain(test[:3], top=2)
    assert len(top) == 3 and all(next(iter(t)) == "a" for t in top)
    assert set(load_scorers(tmp_path)) == {"m1"}
    with pytest.raises(ArtifactError, match="not found"):
        LightGbmReranker.load(tmp_path, "missing")


def test_align_reorders_and_zero_fills() -> None:
    x = np.asarray([[1.0, 2.0]], dtype=np.float32)
    np.testing.assert_array_equal(align(x, ("a", "b"), ("b", "z", "a")), [[2.0, 0.0, 1.0]])


def test_merge_keeps_best_rank_per_source() -> None:
    a = Proposal(source="a", rows=np.asarray([5, 3]), scores=np.asarray([0.9, 0.8], np.float32))
    b = Proposal(source="b", rows=np.asarray([3, 7]), scores=np.asarray([0.5, 0.4], np.float32))
    merged = merge_candidates([a, b], ["a", "b"])
    assert merged.rows.tolist() == [3, 5, 7]
    assert merged.ranks["a"].tolist() == [1, 0, 5000]
    assert merged.ranks["b"].tolist() == [0, 5000, 1]
    assert merged.sources_of(0) == ("a", "b")


def test_training_from_events_serves_with_the_trained_model(tmp_path: Path) -> None:
    world = make_world(seed=1)
    rng = np.random.default_rng(1)
    events = []
    # A later period: each listener keeps playing tracks of its genre.
    for u in range(24):
        g = u % 3
        for j in range(12):
            a, i = rng.integers(0, 5), rng.integers(0, 6)
            events.append(
                FeedbackEvent(
                    event_id=f"late{u}_{j}",
                    listener_id=f"u{u}",
                    track_id=f"t{g}_{a}_{i}",
                    event_type=EventType.PLAY,
                    at=T0 + dt.timedelta(days=10 + j),
                )
            )
    world.store.add_events(events)
    frame = world.store.read_frame("events").assign(
        event_id=[e.event_id for e in world.store.events]
    )
    model = train_from_events(
        events=frame,
        spaces=world.spaces,
        track_ids=world.spaces.track_ids,
        tracks=world.store.tracks,
        artists=list(world.store.iter_artists()),
        listeners=world.store.listeners,
        sources_for=lambda cat, spaces: default_sources(spaces, cat),
        train_cutoff=T0 + dt.timedelta(days=14),
        valid_cutoff=T0 + dt.timedelta(days=18),
    )
    assert model is not None and model.meta["n_train_queries"] >= 10
    model.save(tmp_path)
    rec = PipelineRecommender(
        spaces=world.spaces,
        catalog=world.catalog,
        store=world.store,
        scorers=load_scorers(tmp_path),
    )
    out = rec.recommend(RecommendRequest(listener_id="u0", k=5, explain=True))
    assert rec.scorer("default") is not rec.fallback
    assert out.items and all(i.contributions for i in out.items)
    # The listener's genre dominates the slate.
    assert sum(i.track.genre == "genre0" for i in out.items) >= 4


def test_training_queries_come_from_at_most_max_listeners(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import recsys.pipeline.training as training

    world = make_world(seed=1)
    rng = np.random.default_rng(1)
    events = [
        FeedbackEvent(
            event_id=f"late{u}_{j}",
            listener_id=f"u{u}",
            track_id=f"t{u % 3}_{rng.integers(0, 5)}_{rng.integers(0, 6)}",
            event_type=EventType.PLAY,
            at=T0 + dt.timedelta(days=10 + j),
        )
        for u in range(24)
        for j in range(12)
    ]
    world.store.add_events(events)
    frame = world.store.read_frame("events").assign(
        event_id=[e.event_id for e in world.store.events]
    )
    monkeypatch.setattr(training, "MAX_LISTENERS", 6)
    monkeypatch.setenv("LINER_QUERY_EXAMPLES", "0")  # listener queries only
    model = train_from_events(
        events=frame,
        spaces=world.spaces,
        track_ids=world.spaces.track_ids,
        tracks=world.store.tracks,
        artists=list(world.store.iter_artists()),
        listeners=world.store.listeners,
        sources_for=lambda cat, spaces: default_sources(spaces, cat),
        train_cutoff=T0 + dt.timedelta(days=14),
        valid_cutoff=T0 + dt.timedelta(days=18),
    )
    assert model is not None and 5 <= model.meta["n_train_queries"] <= 6
