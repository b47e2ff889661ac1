"""The query stage: a request's words and seeds change the slate, and a query that matches
nothing says so (``recsys/pipeline/query.py``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pydantic
import pytest

from recsys.domain import Artist, Credit, Track
from recsys.params import PolicyParams
from recsys.pipeline import PipelineRecommender, RecommendRequest, RequestFilters
from recsys.pipeline.catalog import CatalogSnapshot
from recsys.pipeline.query import QueryStageConfig, QueryVocabulary, normalise_term
from tests.recsys.pipeline.world import World, make_world


@pytest.fixture()
def world() -> World:
    return make_world()


@pytest.fixture()
def rec(world: World) -> PipelineRecommender:
    return PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)


def genres(out: Any) -> list[str]:
    return [i.track.genre for i in out.items]


def test_a_query_moves_the_slate_to_matching_tracks(rec: PipelineRecommender) -> None:
    # u0 listens to genre0 only; before the query stage the slate stayed genre0 for any query.
    plain = rec.recommend(RecommendRequest(listener_id="u0", k=8))
    assert genres(plain).count("genre0") >= 6
    asked = rec.recommend(RecommendRequest(listener_id="u0", k=8, query="some Genre1 please"))
    assert genres(asked) == ["genre1"] * 8
    assert asked.notes == ()


def test_seeds_move_the_slate_and_are_not_served_back(
    world: World, rec: PipelineRecommender
) -> None:
    seeds = ("t2_0_0", "t2_1_1", "t2_2_2")
    plain = rec.recommend(RecommendRequest(listener_id="u0", k=8))
    out = rec.recommend(RecommendRequest(listener_id="u0", k=8, context_track_ids=seeds))
    assert genres(plain).count("genre2") == 0
    assert genres(out).count("genre2") >= 6
    assert genres(out)[:3] == ["genre2"] * 3
    assert not set(seeds) & {i.track.track_id for i in out.items}


@pytest.mark.parametrize("query", ["xyzzy plugh", "genre7"], ids=["unknown-words", "no-such"])
def test_a_query_that_matches_nothing_says_so(
    world: World, rec: PipelineRecommender, query: str
) -> None:
    # A new listener gets nothing and the note; a listener with history gets their own
    # taste, and the same note says that nothing matched.
    cold = rec.recommend(RecommendRequest(listener_id="nobody", k=8, query=query))
    assert cold.items == ()
    assert cold.notes and "matches" in cold.notes[0]
    out = rec.recommend(RecommendRequest(listener_id="u0", k=8, query=query))
    assert out.notes and f"nothing in the catalog matches '{query}'" in out.notes[0]
    assert "your listening" in out.notes[0]
    plain = rec.recommend(RecommendRequest(listener_id="u0", k=8))
    assert genres(out).count("genre0") >= 6 and len(out.items) == len(plain.items)
    strict = PipelineRecommender(
        spaces=world.spaces,
        catalog=world.catalog,
        store=world.store,
        query_config=QueryStageConfig(history_fallback=False),
    )
    assert strict.recommend(RecommendRequest(listener_id="u0", k=8, query=query)).items == ()


def test_matches_hidden_by_the_filters_are_reported_not_replaced(
    world: World, rec: PipelineRecommender
) -> None:
    # Only genre1's AI persona (artist 5) remains when human_only removes the rest.
    blocked = tuple(t for t in world.store.tracks if t.startswith("t1_") and "_5_" not in t)
    out = rec.recommend(
        RecommendRequest(
            listener_id="u0",
            k=8,
            query="genre1",
            filters=RequestFilters(human_only=True, exclude_track_ids=blocked),
        )
    )
    assert out.items == ()
    assert "nothing you may be shown matches 'genre1'" in out.notes[0]


def test_no_query_and_no_seeds_leave_the_slate_as_it_was(world: World) -> None:
    params = PolicyParams(query_weight=0.0, seed_weight=0.0)
    base = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    for listener in ("u0", "u1", "u5"):
        a = base.recommend(RecommendRequest(listener_id=listener, k=10))
        b = base.recommend(RecommendRequest(listener_id=listener, k=10, params=params))
        assert [i.track.track_id for i in a.items] == [i.track.track_id for i in b.items]


@pytest.mark.parametrize(
    ("field", "value"), [("query_weight", 6.5), ("seed_weight", -1.0)], ids=["query", "seed"]
)
def test_weights_are_bounded(field: str, value: float) -> None:
    with pytest.raises(pydantic.ValidationError):
        PolicyParams.model_validate({field: value})


def _catalog(tags: dict[str, tuple[str, tuple[str, ...]]]) -> CatalogSnapshot:
    tracks = {
        tid: Track(
            track_id=tid, title=tid, genre=g, tags=t, credits=(Credit(artist_id="a", share=1.0),)
        )
        for tid, (g, t) in tags.items()
    }
    artist = Artist(artist_id="a", name="A", rights_holder_id="a")
    return CatalogSnapshot.build(track_ids=list(tracks), tracks=tracks, artists=[artist])


def test_vocabulary_reads_phrases_hyphens_and_word_forms() -> None:
    cat = _catalog(
        {
            "a": ("jazz", ("rainy-day", "smooth-jazz")),
            "b": ("metal", ("black-metal", "running")),
            "c": ("classical", ("rainy-day",)),
        }
    )
    vocab = QueryVocabulary(cat)
    terms = vocab.terms("Rainy day JAZZ for reading")
    assert [t.term for t in terms] == ["rainy day", "jazz"]
    assert vocab.match(terms, cat.rows(["a", "b", "c"])).round(3).tolist() == [1.0, 0.0, 0.333]
    assert [t.term for t in vocab.terms("heavy metal to run")] == ["metal", "run"]
    assert normalise_term("Indie-Pop") == "indie pop"


def test_seeds_of_one_genre_keep_the_slate_in_it_unless_the_gate_is_off(world: World) -> None:
    seeds = ("t2_0_0", "t2_1_1", "t1_2_2")  # two of genre2, one of genre1
    req = RecommendRequest(listener_id="u0", k=8, context_track_ids=seeds)
    gated = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    assert genres(gated.recommend(req)) == ["genre2"] * 8
    off = QueryStageConfig(seed_gate_share=0.0, seed_genre_bonus=0.0)
    ungated = PipelineRecommender(
        spaces=world.spaces, catalog=world.catalog, store=world.store, query_config=off
    )
    assert set(genres(ungated.recommend(req))) != {"genre2"}


def test_tracks_the_catalog_says_nothing_about_are_not_gated_out(world: World) -> None:
    # Artist 2 of genre0 lost its genre: a "genre0" request may still rank those tracks
    # (below the matches) unless gate_undescribed asks the gate to drop them too.
    undescribed = [r for r, t in enumerate(world.catalog.track_ids) if t.startswith("t0_2_")]
    codes = world.catalog.genre_code.copy()
    codes[undescribed] = -1
    catalog = dataclasses.replace(world.catalog, genre_code=codes)
    bare = set(world.catalog.track_ids[undescribed])
    req = RecommendRequest(listener_id="u0", k=30, query="genre0")
    for strict in (False, True):
        rec = PipelineRecommender(
            spaces=world.spaces, catalog=catalog, store=world.store,
            query_config=QueryStageConfig(gate_undescribed=strict),
        )  # fmt: skip
        ids = [i.track.track_id for i in rec.recommend(req).items]
        assert all(t.startswith("t0_") for t in ids)  # nothing of another known genre
        assert bool(bare & set(ids)) is not strict
        if not strict:
            first_bare = min(i for i, t in enumerate(ids) if t in bare)
            assert first_bare >= 5  # the matches lead


def test_seeds_in_a_catalog_of_tags_only_gate_by_their_shared_tag(world: World) -> None:
    # HetRec's items have tags and no genre: the seeds' shared tag plays the genre's part.
    cat = world.catalog
    n = len(cat.track_ids)
    tagged = dataclasses.replace(
        cat,
        genre_code=np.full(n, -1, dtype=cat.genre_code.dtype),
        tag_ptr=np.arange(n + 1, dtype=np.int64),
        tag_code=cat.genre_code.astype(np.int32),
        tags=tuple(cat.genres),
    )
    seeds = ("t2_0_0", "t2_1_1", "t1_2_2")  # two of genre2, one of genre1
    rec = PipelineRecommender(spaces=world.spaces, catalog=tagged, store=world.store)
    out = rec.recommend(RecommendRequest(listener_id="u0", k=8, context_track_ids=seeds))
    assert [i.track.genre for i in out.items] == ["genre2"] * 8


def test_vocabulary_says_how_much_of_a_query_it_names() -> None:
    cat = _catalog({"a": ("jazz", ("rainy-day", "summer")), "b": ("metal", ())})
    vocab = QueryVocabulary(cat)
    assert vocab.read("jazz")[1] == 1.0
    assert vocab.read("play me some rainy day jazz please")[1] == 1.0
    assert vocab.read("summer vibes")[1] == 0.5
    assert vocab.read("Summer Vibes 2019 🌴")[1] == 0.5  # numbers and emoji are not words
    assert vocab.read("wrkout 2019") == ([], 0.0)


def _tags_only(cat: CatalogSnapshot) -> CatalogSnapshot:
    """The catalog with each track's genre as its only tag and no genre (as HetRec)."""
    n = len(cat.track_ids)
    return dataclasses.replace(
        cat,
        genre_code=np.full(n, -1, dtype=cat.genre_code.dtype),
        tag_ptr=np.arange(n + 1, dtype=np.int64),
        tag_code=cat.genre_code.astype(np.int32),
        tags=tuple(cat.genres),
        genres=(),
    )


def test_the_boost_is_scaled_by_how_much_the_request_says(world: World) -> None:
    from recsys.pipeline.query import QueryStage

    tagged = _tags_only(world.catalog)
    rec = PipelineRecommender(spaces=world.spaces, catalog=tagged, store=world.store)
    req = RecommendRequest(listener_id="u0", k=8, query="genre1 vibes")
    ctx = rec.context(req)

    def strength(cfg: QueryStageConfig, catalog: CatalogSnapshot, query: str) -> float:
        stage = QueryStage(catalog, world.spaces, cfg)
        terms, coverage = stage.vocabulary.read(query)  # type: ignore[union-attr]
        return stage.strength(rec.context(dataclasses.replace(req, query=query)), terms, coverage)

    off = QueryStageConfig(specificity_power=0.0)
    assert strength(off, tagged, "genre1 vibes") == 1.0
    assert strength(QueryStageConfig(), tagged, "genre1 vibes") == pytest.approx(0.0625)
    assert strength(QueryStageConfig(), tagged, "genre1") == 1.0
    assert strength(QueryStageConfig(), tagged, "nasty bits") == 0.0
    # A named catalog genre is an explicit request, whatever else the words say.
    assert strength(QueryStageConfig(), world.catalog, "genre1 vibes") == 1.0
    # u0 listens to genre0 only: a genre1 request adds everything to the history, a genre0
    # request nothing.
    redundant = QueryStageConfig(specificity_power=0.0, history_redundancy=1.0)
    assert strength(redundant, tagged, "genre1") == pytest.approx(1.0)
    assert strength(redundant, tagged, "genre0") < 0.2
    assert ctx.history_rows.size


def test_a_vague_request_does_not_gate_out_the_history(world: World) -> None:
    """ "genre1 vibes" in a catalog of tags names half of what it says: not gated, so u0's
    genre0 history may stay (shown here without the boost, which in this small world moves
    every score by more than the taste does); graded off, the same request is gated."""
    tagged = _tags_only(world.catalog)
    no_boost = PolicyParams(query_weight=0.0)

    def slate(cfg: QueryStageConfig, query: str) -> list[str]:
        rec = PipelineRecommender(
            spaces=world.spaces, catalog=tagged, store=world.store, query_config=cfg
        )
        out = rec.recommend(RecommendRequest(listener_id="u0", k=8, query=query, params=no_boost))
        return [i.track.genre for i in out.items]

    assert "genre0" in slate(QueryStageConfig(), "genre1 vibes")
    assert slate(QueryStageConfig(), "genre1") == ["genre1"] * 8
    assert slate(QueryStageConfig(specificity_power=0.0), "genre1 vibes") == ["genre1"] * 8


def _mixed_listener(world: World, name: str = "mix") -> World:
    """The world with tight genre clusters (the default world's tracks are mostly noise, so
    no words could pick a genre out of a history), a listener who played six genre0 and six
    genre1 tracks (two playlists in one history), and a title that names no catalog term
    but reads a little like genre1 (closer in text to genre1's tracks than to the others)."""
    from recsys.domain import EventType, FeedbackEvent
    from tests.recsys.pipeline.world import T0, FakeSpaces

    rng = np.random.default_rng(3)
    centres = np.linalg.qr(rng.normal(size=(16, 16)))[0][: len(world.genres)]
    genre = [world.genres.index(str(world.catalog.genres[c])) for c in world.catalog.genre_code]
    tight = centres[genre] + 0.25 * rng.normal(size=(len(genre), 16)) / 4.0

    def unit(x: np.ndarray) -> np.ndarray:
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    vectors = {s: unit(tight + 0.05 * rng.normal(size=tight.shape)) for s in world.spaces.vectors}
    genre1 = vectors["text"][np.asarray(genre) == 1].mean(axis=0)
    # A title only loosely like genre1 in text (cosine ~0.3 to its tracks, ~0 to the rest).
    elsewhere = np.linalg.qr(rng.normal(size=(16, 16)))[0][-1]
    title = 0.3 * genre1 / np.linalg.norm(genre1) + 0.95 * elsewhere
    spaces = FakeSpaces(
        track_ids=world.spaces.track_ids,
        vectors=vectors,
        queries={"late night drive": title.astype(np.float32)},
    )
    plays = [f"t0_{a}_{i}" for a in (0, 1) for i in range(3)]
    plays += [f"t1_{a}_{i}" for a in (0, 1) for i in range(3)]
    world.store.add_events(
        FeedbackEvent(
            event_id=f"{name}{j}",
            listener_id=name,
            track_id=tid,
            event_type=EventType.PLAY,
            at=T0 + dt.timedelta(hours=j),
            weight=1.0,
        )
        for j, tid in enumerate(plays)
    )
    return dataclasses.replace(world, spaces=spaces)


def test_a_title_naming_nothing_focuses_on_the_part_of_the_history_it_reads_like(
    world: World,
) -> None:
    """ "late night drive" names no catalog term, so no words gate or boost it; its focus
    (the history weighted by text closeness to it) ranks a mixed listener's genre1
    candidates first even when the learned scores say nothing, and the served slate stays
    on genre1."""
    from recsys.pipeline.query import QueryStage

    world = _mixed_listener(world)
    rec = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    req = RecommendRequest(listener_id="mix", k=10, query="late night drive")
    ctx = rec.context(req)
    rows = rec.candidates(ctx).rows
    genre = np.asarray([str(world.catalog.genres[c]) for c in world.catalog.genre_code[rows]])
    for cfg, on_top in ((QueryStageConfig(), 10), (QueryStageConfig(focus_weight=0.0), 0)):
        assessment = QueryStage(world.catalog, world.spaces, cfg).assess(ctx, rows)
        assert assessment.keep.all() and assessment.strength == 0.0  # no catalog term named
        scores = QueryStage(world.catalog, world.spaces, cfg).adjust(
            ctx, np.zeros(len(rows)), assessment
        )
        top = genre[np.argsort(-scores, kind="stable")[:10]]
        assert (top == "genre1").sum() >= on_top
    served = rec.recommend(req)
    assert served.notes == () and [i.track.genre for i in served.items] == ["genre1"] * 10


def test_the_focus_is_strong_only_when_the_words_pick_part_of_the_history(world: World) -> None:
    """The focus strength is how much farther the words move the taste vector than the same
    weights given to the history in shuffled orders: far for a listener whose history mixes
    genre0 and genre1 asking for genre1, not at all for u0 (genre0 only), whose history the
    same words cannot narrow."""
    from recsys.pipeline.query import QueryStage

    world = _mixed_listener(world)
    rec = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    stage = QueryStage(world.catalog, world.spaces)

    def moved(listener: str) -> float:
        ctx = rec.context(RecommendRequest(listener_id=listener, k=10, query="late night drive"))
        centre, strength = stage.focus(ctx)
        assert centre is not None
        return strength

    assert moved("mix") > 0.5
    assert moved("u0") < 0.1
    cold = rec.context(RecommendRequest(listener_id="nobody", k=10, query="late night drive"))
    assert stage.focus(cold) == (None, 0.0)
