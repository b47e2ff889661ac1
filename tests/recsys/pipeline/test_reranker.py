"""The LightGBM reranker: lambdarank training, text save/load parity, explanations, and
training from an event log with a time split."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from recsys.domain import EventType, FeedbackEvent
from recsys.errors import ArtifactError
from recsys.params import PolicyParams
from recsys.pipeline import PipelineRecommender, RecommendRequest
from recsys.pipeline.candidates import Proposal, default_sources, merge_candidates
from recsys.pipeline.loader import load_scorers
from recsys.pipeline.reranker import (
    PLAIN_SUFFIX,
    LightGbmReranker,
    RankingData,
    SmoothedStop,
    align,
)
from recsys.pipeline.training import train_from_events, train_rerankers
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
    # A later period: each listener keeps playing tracks of its genre.
    model = train_from_events(**_training_kwargs(world, _late_plays(world)))
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
    frame = _late_plays(world)
    monkeypatch.setattr(training, "MAX_LISTENERS", 6)
    monkeypatch.setenv("LINER_QUERY_EXAMPLES", "0")  # listener queries only
    model = train_from_events(**_training_kwargs(world, frame))
    assert model is not None and 5 <= model.meta["n_train_queries"] <= 6


def _late_plays(world: Any) -> pd.DataFrame:
    """24 listeners keep playing their genre after the world's history (the events frame)."""
    rng = np.random.default_rng(1)
    world.store.add_events(
        [
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
    )
    return world.store.read_frame("events").assign(
        event_id=[e.event_id for e in world.store.events]
    )


def _training_kwargs(world: Any, frame: pd.DataFrame) -> dict[str, Any]:
    return {
        "events": frame,
        "spaces": world.spaces,
        "track_ids": world.spaces.track_ids,
        "tracks": world.store.tracks,
        "artists": list(world.store.iter_artists()),
        "listeners": world.store.listeners,
        "sources_for": lambda cat, spaces: default_sources(spaces, cat),
        "train_cutoff": T0 + dt.timedelta(days=14),
        "valid_cutoff": T0 + dt.timedelta(days=18),
    }


@dataclass
class _Spy:
    """A scorer that records that it was asked."""

    model_id: str
    feature_names: tuple[str, ...]
    calls: list[str]

    def score(self, features: np.ndarray) -> np.ndarray:
        self.calls.append(self.model_id)
        return np.zeros(len(features))

    def explain(self, features: np.ndarray, top: int = 5) -> list[dict[str, float]]:
        return [{} for _ in features]


def test_plain_requests_get_the_plain_reranker_and_queries_or_seeds_the_query_aware_one(
    tmp_path: Path,
) -> None:
    world = make_world(seed=1)
    models = train_rerankers(**_training_kwargs(world, _late_plays(world)))
    assert set(models) == {"default", "default" + PLAIN_SUFFIX}
    plain, aware = models["default" + PLAIN_SUFFIX], models["default"]
    assert plain.meta["examples"] == ["listener"] and aware.meta["examples"] == [
        "listener",
        "query",
    ]
    # the query-aware model also learned from the query and seed examples
    assert aware.meta["n_train_queries"] > plain.meta["n_train_queries"] >= 10
    for model_id, model in models.items():
        model.save(tmp_path, model_id)
    assert set(load_scorers(tmp_path)) == set(models)

    calls: list[str] = []
    rec = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    rec.scorers = {
        m: _Spy(model_id=m, feature_names=rec.features.names, calls=calls) for m in models
    }
    seeds = ("t1_0_0",)
    for request, expected in (
        (RecommendRequest(listener_id="u0", k=5), "default" + PLAIN_SUFFIX),
        (RecommendRequest(listener_id="u0", k=5, query="genre1"), "default"),
        (RecommendRequest(listener_id="u0", k=5, context_track_ids=seeds), "default"),
    ):
        rec.recommend(request)
        assert calls[-1] == expected, request
    # a model id the build did not train falls back to the default pair
    other = PolicyParams(reranker_model_id="other")
    rec.recommend(RecommendRequest(listener_id="u0", k=5, params=other))
    assert calls[-1] == "default" + PLAIN_SUFFIX
    rec.recommend(RecommendRequest(listener_id="u0", k=5, query="genre1", params=other))
    assert calls[-1] == "default"
    # a build with the query-aware model only serves every request with it
    del rec.scorers["default" + PLAIN_SUFFIX]
    rec.recommend(RecommendRequest(listener_id="u0", k=5))
    assert calls[-1] == "default"


def test_examples_come_from_the_candidates_serving_reranks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a first-stage pool, every example (positives and negatives) is among the
    candidates serving's first stage would keep; with pool 0 they come from every candidate."""
    import recsys.pipeline.training as training

    world = make_world(seed=1)
    frame = _late_plays(world)
    monkeypatch.setattr(training, "POOL_K", 1)  # the pool floor is 4 per slate position
    monkeypatch.setenv("LINER_QUERY_EXAMPLES", "0")
    kwargs = _training_kwargs(world, frame)
    small = training.reranker_examples(**kwargs, pool=6)
    every = training.reranker_examples(**kwargs, pool=0)
    assert small is not None and every is not None
    for ex in (small, every):
        assert len(ex.train["query"].groups) == 0 and len(ex.train["listener"].groups) >= 5
    # (a listener whose later plays all fall outside the pool gives no query)
    assert len(every.train["listener"].groups) >= len(small.train["listener"].groups)
    assert small.train["listener"].groups.max() <= 6
    assert every.train["listener"].groups.max() > 6


def test_more_hold_out_draws_add_training_queries_and_keep_validation() -> None:
    """With the per-listener hold-out, each draw holds out another random share of a
    listener's tied (undated) tracks; validation comes from the first draw only."""
    import recsys.pipeline.training as training

    world = make_world(seed=1)
    frame = _late_plays(world).assign(at=T0)  # every event at one time: no time split
    kwargs = {**_training_kwargs(world, frame), "train_cutoff": None, "valid_cutoff": None}
    one = training.reranker_examples(**kwargs, draws=1)
    two = training.reranker_examples(**kwargs, draws=2)
    assert one is not None and two is not None
    assert one.split.startswith("listener hold-out") and two.split == one.split
    n_one, n_two = len(one.train["listener"].groups), len(two.train["listener"].groups)
    assert n_one >= 10 and n_two > 1.5 * n_one
    np.testing.assert_array_equal(two.valid["listener"].labels, one.valid["listener"].labels)


def test_an_averaged_model_scores_the_mean_of_its_members_and_round_trips(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(3)
    train, valid, test = (_ranking_data(rng, n) for n in (60, 20, 5))
    members = [
        LightGbmReranker.fit(train, valid, seed=s, num_boost_round=30, early_stopping_rounds=5)
        for s in range(3)
    ]
    # bagging and feature fractions differ by seed: the members are not one model thrice
    scores = [m.score(test.features) for m in members]
    assert not np.allclose(scores[0], scores[1])
    bag = LightGbmReranker.average(members, model_id="bag")
    mean = np.mean(scores, axis=0)
    np.testing.assert_allclose(bag.score(test.features), mean, rtol=1e-9, atol=1e-12)
    assert bag.meta["best_iteration"] == sum(m.meta["best_iteration"] for m in members)
    bag.save(tmp_path)
    loaded = LightGbmReranker.load(tmp_path, "bag")  # compiled, as serving loads it
    np.testing.assert_allclose(loaded.score(test.features), mean, rtol=1e-6, atol=1e-9)
    assert len(loaded.explain(test.features[:2], top=2)) == 2
    other = RankingData(
        features=train.features,
        labels=train.labels,
        groups=train.groups,
        feature_names=("a", "b", "c", "x"),
    )
    with pytest.raises(ValueError, match="different features"):
        LightGbmReranker.average([members[0], LightGbmReranker.fit(other, num_boost_round=3)])


def test_without_early_stopping_every_round_is_kept_and_the_curve_recorded() -> None:
    rng = np.random.default_rng(4)
    train, valid = _ranking_data(rng, 40), _ranking_data(rng, 10)
    full = LightGbmReranker.fit(train, valid, num_boost_round=30, early_stopping_rounds=0)
    assert full.meta["best_iteration"] == 30 and len(full.meta["valid_curve"]) == 3
    stopped = LightGbmReranker.fit(train, valid, num_boost_round=30, early_stopping_rounds=2)
    assert stopped.meta["best_iteration"] < 30


def test_the_build_averages_the_fits_it_is_set_to_and_keys_the_step_on_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import recsys.pipeline.build_step as build_step
    from tests.recsys.test_build_keys import _Ctx

    world = make_world(seed=1)
    monkeypatch.setenv("LINER_QUERY_EXAMPLES", "0")
    fit = {"num_boost_round": 12, "early_stopping_rounds": 0}
    kwargs = _training_kwargs(world, _late_plays(world))
    bag = train_rerankers(**kwargs, plain=False, members=2, fit=fit)["default"]
    one = train_rerankers(**kwargs, plain=False, fit=fit)["default"]
    assert [m["best_iteration"] for m in bag.meta["members"]] == [12, 12]
    assert bag.meta["best_iteration"] == 24 and one.meta["best_iteration"] == 12
    x = np.random.default_rng(0).random((20, len(one.feature_names))).astype(np.float32)
    assert not np.allclose(bag.score(x), one.score(x))  # the second fit (seed 1) counts
    ctx: Any = _Ctx(tmp_path)
    default = build_step.reranker_inputs(ctx)
    monkeypatch.setattr(build_step, "RERANKER_MEMBERS", 3)
    assert build_step.reranker_inputs(ctx) != default
    monkeypatch.setattr(build_step, "RERANKER_MEMBERS", 1)
    monkeypatch.setattr(build_step, "RERANKER_FIT", {"early_stopping_rounds": 150})
    assert build_step.reranker_inputs(ctx) != default


def _stop_round(callback: Any, curve: list[float]) -> int | None:
    """The round ``callback`` stops boosting at on the validation ``curve`` (None: never)."""
    from types import SimpleNamespace

    import lightgbm as lgb

    for i, v in enumerate(curve):
        env = SimpleNamespace(iteration=i, evaluation_result_list=[("valid_0", "ndcg@10", v, True)])
        try:
            callback(env)
        except lgb.callback.EarlyStopException as stop:
            return int(stop.best_iteration) + 1
    return None


def test_a_bump_in_one_rounds_ndcg_does_not_stop_the_smoothed_early_stop() -> None:
    """One noisy round early in the curve (as on HetRec's test-period build, #18) stops early
    stopping on single rounds there; the windowed mean follows the rising trend."""
    rising = [0.40 + 0.002 * i for i in range(80)]
    curve = [*rising[:5], 0.50, *rising[6:], *[rising[-1]] * 30]
    one_round = SmoothedStop(window=1, patience=10)  # LightGBM's own rule
    assert _stop_round(one_round, curve) == 6  # kept the bump
    smoothed = SmoothedStop(window=5, patience=10)
    assert _stop_round(smoothed, curve) == smoothed.best_round
    assert 75 <= smoothed.best_round <= 85
    # a curve that really peaks early is still stopped early
    peaked = SmoothedStop(window=5, patience=10)
    assert _stop_round(peaked, [0.5, 0.55, 0.6, 0.6, 0.6, *[0.45] * 40]) == 3


def test_fit_keeps_the_smoothed_stops_round() -> None:
    rng = np.random.default_rng(5)
    train, valid = _ranking_data(rng, 40), _ranking_data(rng, 10)
    model = LightGbmReranker.fit(
        train, valid, num_boost_round=60, early_stopping_rounds=5, smooth=4
    )
    assert 1 <= model.meta["best_iteration"] <= 60
    assert model.booster.best_iteration == model.meta["best_iteration"]
    # the rounds run out before the smoothed stop fires: the best window's round is kept too
    short = LightGbmReranker.fit(
        train, valid, num_boost_round=12, early_stopping_rounds=50, smooth=4
    )
    kept = short.meta["best_iteration"]
    assert 1 <= kept <= 12 and short.booster.current_iteration() == 12
    x = _ranking_data(rng, 3).features
    np.testing.assert_allclose(short.score(x), short.booster.predict(x, num_iteration=kept))
