"""Query and seed training examples: drawn from the label period's plays, and learned.

The world: each listener has played its own genre; in the later period it also plays tracks
of the next genre whose text is close to what that genre's name embeds to. Only a reranker
that learned the query features puts more of those tracks first for the genre's name.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from recsys.domain import EventType, FeedbackEvent
from recsys.params import PolicyParams
from recsys.pipeline import PipelineRecommender, RecommendRequest
from recsys.pipeline.candidates import default_sources
from recsys.pipeline.query import QueryStage
from recsys.pipeline.query_training import (
    ENV_SWITCH,
    QueryEncoder,
    QueryTrainingConfig,
    TermTable,
    draw_examples,
)
from recsys.pipeline.reranker import LightGbmReranker
from recsys.pipeline.training import histories_by_listener, train_from_events
from tests.recsys.pipeline.world import T0, World, make_world

QUERY_FEATURES = ("query_sim", "seed_sim", "rank_text_query", "score_text_query")


def _special(g: int) -> list[str]:
    """Two tracks of each human artist of genre ``g`` whose text is near the genre's name."""
    return [f"t{g}_{a}_{i}" for a in range(5) for i in range(2)]


def _world() -> tuple[World, pd.DataFrame]:
    world = make_world(seed=3)
    rng = np.random.default_rng(3)
    text = world.spaces.vectors["text"]  # changed in place: the text index shares it
    row = {t: i for i, t in enumerate(world.spaces.track_ids)}
    for g, name in enumerate(world.genres):
        rows = [row[t] for t in _special(g)]
        raw = rng.normal(size=text.shape[1])
        direction = np.asarray(raw / np.linalg.norm(raw), dtype=np.float32)
        moved = text[rows] + direction
        text[rows] = moved / np.linalg.norm(moved, axis=1, keepdims=True)
        world.spaces.queries[name] = direction
    events = []
    for u in range(24):
        g, nxt = u % 3, (u % 3 + 1) % 3
        picks = rng.permutation(_special(nxt))[:5]
        for j in range(10):
            own = f"t{g}_{rng.integers(0, 5)}_{rng.integers(0, 6)}"
            events.append(
                FeedbackEvent(
                    event_id=f"late{u}_{j}",
                    listener_id=f"u{u}",
                    track_id=str(picks[j // 2]) if j % 2 else own,
                    event_type=EventType.PLAY,
                    at=T0 + dt.timedelta(days=10 + j),
                )
            )
    world.store.add_events(events)
    frame = world.store.read_frame("events").assign(
        event_id=[e.event_id for e in world.store.events]
    )
    return world, frame


def _train(
    world: World, frame: pd.DataFrame, encoder: QueryEncoder | None = None
) -> LightGbmReranker | None:
    return train_from_events(
        events=frame,
        spaces=world.spaces,
        track_ids=world.spaces.track_ids,
        tracks=world.store.tracks,
        artists=list(world.store.iter_artists()),
        listeners=world.store.listeners,
        sources_for=lambda cat, spaces: default_sources(spaces, cat),
        train_cutoff=T0 + dt.timedelta(days=14),
        valid_cutoff=T0 + dt.timedelta(days=17),
        text_model=encoder,
    )


class GenreTextModel:
    """Embeds a request as the direction of the genre it names (as the world's spaces do)."""

    name = "genre-text"

    def __init__(self, world: World) -> None:
        self.queries = world.spaces.queries

    def encode(self, sentences: list[str], **kwargs: object) -> np.ndarray:
        dim = next(iter(self.queries.values())).shape[0]
        out = np.full((len(sentences), dim), 1e-3, np.float32)
        for i, s in enumerate(sentences):
            for name, vec in self.queries.items():
                if name in s.split():
                    out[i] = vec
        return out


def test_drawn_queries_name_terms_the_relevant_later_plays_carry() -> None:
    world, frame = _world()
    before = frame[frame["at"] < pd.Timestamp(T0 + dt.timedelta(days=10))]
    window = frame[frame["at"] >= pd.Timestamp(T0 + dt.timedelta(days=10))]
    cat = world.catalog
    table = TermTable(cat, QueryStage(cat, world.spaces), 0.5)
    config = QueryTrainingConfig(seeded_query_share=1.0, seed_share=1.0)
    drawn = draw_examples(
        table, window, histories_by_listener(before), np.random.default_rng(0), config
    )
    queries = [d for d in drawn if d.query]
    assert len(queries) == 24 and len(drawn) == 48
    titles = {t.title.casefold() for t in world.store.tracks.values()}
    phrasings = set()
    for d in queries:
        named = table.named(d.query)
        assert len(named) == 1 and d.query.casefold() not in titles
        phrasings.add(d.query.replace(next(iter(named)), "{q}"))
        genres = {world.store.tracks[str(cat.track_ids[r])].genre for r in d.relevant}
        assert genres == set(named)
        played_before = set(before.loc[before["listener_id"] == d.listener_id, "track_id"])
        assert d.seeds and set(d.seeds) <= played_before
    assert len(phrasings) >= 3, phrasings  # not only the bare term


def test_query_encoder_remembers_and_loads_nothing_when_given_a_model() -> None:
    class Model:
        name = "m"
        calls = 0

        def encode(self, sentences: list[str], **kwargs: object) -> np.ndarray:
            Model.calls += 1
            return np.ones((len(sentences), 4), np.float32) * len(sentences[0])

    enc = QueryEncoder(Model())
    enc.prime(["jazz", "metal"])
    assert enc.vector("metal").shape == (4,) and Model.calls == 1
    assert abs(float(np.linalg.norm(enc.vector("jazz"))) - 1.0) < 1e-6  # as serving's


def test_an_unloadable_text_model_leaves_the_seed_examples() -> None:
    world, frame = _world()
    enc = QueryEncoder(name="/nonexistent/text-model")
    model = _train(world, frame, enc)
    assert model is not None


def _learned_and_hits(model: LightGbmReranker, world: World) -> tuple[float, int]:
    """Gain of the query features, and how many of each genre's query-near tracks the learned
    model alone (the explicit stage's weights off) puts in 24 listeners' top 5 per genre."""
    gain = model.booster.feature_importance(importance_type="gain")
    named = dict(zip(model.feature_names, gain, strict=True))
    rec = PipelineRecommender(
        spaces=world.spaces, catalog=world.catalog, store=world.store, scorers={"default": model}
    )
    params = PolicyParams(query_weight=0.0, seed_weight=0.0)
    hits = 0
    for u in range(24):
        for g, name in enumerate(world.genres):
            req = RecommendRequest(listener_id=f"u{u}", k=5, query=name, params=params)
            out = rec.recommend(req)
            assert all(i.track.genre == name for i in out.items)  # the stage's gate
            hits += sum(i.track.track_id in _special(g) for i in out.items)
    return float(sum(named.get(f, 0.0) for f in QUERY_FEATURES)), hits


def test_the_reranker_learns_the_query_features_only_from_query_examples(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, frame = _world()
    monkeypatch.setenv(ENV_SWITCH, "0")
    off = _train(world, frame)
    assert off is not None
    off_gain, off_hits = _learned_and_hits(off, world)
    monkeypatch.setenv(ENV_SWITCH, "1")
    on = _train(world, frame, QueryEncoder(GenreTextModel(world)))
    assert on is not None
    on_gain, on_hits = _learned_and_hits(on, world)
    assert off_gain == 0.0 and on_gain > 0.0
    assert on_hits > off_hits, (on_hits, off_hits)  # 165 vs 149 of 360 when written
