"""Invariants of the full pipeline on a generated world, across listeners and variants."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import Counter

import pytest

from recsys.domain import (
    IMITATION_SCOPES,
    AiInvolvement,
    ConsentAction,
    ConsentEntry,
    Provenance,
)
from recsys.params import CandidateQuotas, PolicyParams
from recsys.pipeline import PipelineRecommender, RecommendRequest, RequestFilters
from recsys.pipeline.slate_log import SlateLogger
from recsys.store import QuarantineRecord
from tests.recsys.pipeline.world import T0, World, make_world

VARIANTS = {
    "defaults": PolicyParams(),
    "max-boost-no-ai": PolicyParams(human_artist_boost=0.5, ai_generated_cap=0.0),
    "max-ai-three-slots": PolicyParams(
        ai_generated_cap=0.3, emerging_artist_slots=3, max_tracks_per_artist=1, mmr_lambda=0.5
    ),
    "relevance-only": PolicyParams(
        human_artist_boost=0.0, mmr_lambda=1.0, max_tracks_per_artist=5, emerging_artist_slots=1
    ),
    "tiny-quotas": PolicyParams(
        candidates=CandidateQuotas(personal=5, item_to_item=5, emerging=3, popular=5),
        recent_play_exclusion=0,
    ),
}


@pytest.fixture()
def world() -> World:
    return make_world()


@pytest.fixture()
def rec(world: World) -> PipelineRecommender:
    return PipelineRecommender(
        spaces=world.spaces,
        catalog=world.catalog,
        store=world.store,
        slate_logger=SlateLogger(world.store, background=False),
    )


def _check_slate(world: World, req: RecommendRequest, items: tuple, *, banned: set[str]) -> None:
    params = req.params
    listener = world.store.get_listener(req.listener_id)
    assert len(items) <= req.k
    assert [i.position for i in items] == list(range(len(items)))
    gen = 0
    per_artist: Counter[str] = Counter()
    emerging_artists = {
        str(world.catalog.artist_ids[a])
        for a in range(len(world.catalog.artist_ids))
        if world.catalog.emerging_artists(params.emerging_exposure_quantile)[a]
    }
    emerging = 0
    for item in items:
        track = item.track
        # Labels and credits are never off.
        assert isinstance(track.provenance.ai_involvement, AiInvolvement)
        assert track.credits and [a.artist_id for a in item.artists] == list(track.artist_ids)
        assert item.reasons
        assert track.track_id not in banned
        assert track.track_id not in req.filters.exclude_track_ids
        if track.provenance.is_ai_generated:
            gen += 1
            assert listener is None or listener.ai_preference.value != "opt_out"
        for a in track.artist_ids:
            per_artist[a] += 1
        if listener is not None:
            assert not set(track.artist_ids) & set(listener.blocked_artist_ids)
        emerging += track.primary_artist_id in emerging_artists
    assert gen <= math.floor(params.ai_generated_cap * len(items) + 1e-9)
    assert max(per_artist.values(), default=0) <= params.max_tracks_per_artist
    assert emerging >= min(params.emerging_artist_slots, len(items))


@pytest.mark.parametrize("variant", list(VARIANTS), ids=list(VARIANTS))
def test_invariants_hold_for_every_listener(
    world: World, rec: PipelineRecommender, variant: str
) -> None:
    world.store.record_quarantine(
        [QuarantineRecord(track_id="t0_2_0", quarantined=True, actor="screening", at=T0)]
    )
    for listener in world.store.iter_listeners():
        recent = {
            e.track_id
            for e in world.store.listener_events(listener.listener_id)[
                : VARIANTS[variant].recent_play_exclusion
            ]
        }
        req = RecommendRequest(listener_id=listener.listener_id, k=10, params=VARIANTS[variant])
        out = rec.recommend(req)
        assert len(out.items) == 10
        _check_slate(world, req, out.items, banned={"t0_2_0"} | recent)


def test_cold_listener_query_and_filters(world: World, rec: PipelineRecommender) -> None:
    req = RecommendRequest(
        listener_id="nobody",
        k=8,
        query="genre1 vibes",
        filters=RequestFilters(human_only=True, exclude_track_ids=("t1_2_0",)),
    )
    out = rec.recommend(req)
    assert len(out.items) == 8
    assert all(i.track.genre == "genre1" for i in out.items[:3])
    assert all(a.kind.value == "human" for i in out.items for a in i.artists)
    assert any("matches 'genre1 vibes'" in r for i in out.items for r in i.reasons)
    _check_slate(world, req, out.items, banned=set())


def test_revocation_changes_the_very_next_response(world: World, rec: PipelineRecommender) -> None:
    params = PolicyParams(ai_generated_cap=0.3, human_artist_boost=0.0, mmr_lambda=1.0)
    req = RecommendRequest(listener_id="u0", k=10, params=params, context_track_ids=("t0_5_0",))
    before = rec.recommend(req)
    served = {i.track.track_id for i in before.items}
    assert served & set(world.imitating), "the world should serve an imitating track first"
    world.store.append_consent(
        [
            ConsentEntry(
                entry_id="revoke",
                rights_holder_id=world.referenced_holder,
                scope=IMITATION_SCOPES[1],
                action=ConsentAction.REVOKE,
                actor="rights-admin",
                at=T0 + dt.timedelta(days=30),
            )
        ]
    )
    after = rec.recommend(req)
    assert not {i.track.track_id for i in after.items} & set(world.imitating)


def test_explain_stage_times_and_slate_log(world: World, rec: PipelineRecommender) -> None:
    out = rec.recommend(RecommendRequest(listener_id="u1", k=5, explain=True, variant="exp:a"))
    assert {"candidates", "filters", "features", "rerank", "policy"} <= set(out.stage_ms)
    assert all(i.contributions for i in out.items)
    (slate,) = world.store.slates
    assert slate.request_id == out.request_id and slate.variant == "exp:a"
    assert [s.track_id for s in slate.items] == [i.track.track_id for i in out.items]
    assert set(slate.items[0].features) == set(rec.features.names)
    assert slate.items[0].sources


def test_background_logger_flushes_on_close(world: World) -> None:
    logger = SlateLogger(world.store, flush_seconds=60.0)
    rec = PipelineRecommender(
        spaces=world.spaces, catalog=world.catalog, store=world.store, slate_logger=logger
    )
    for u in range(5):
        rec.recommend(RecommendRequest(listener_id=f"u{u}", k=3))
    rec.close()
    assert len(world.store.slates) == 5 and logger.written == 5


def test_known_answer_is_ranked_first(world: World, rec: PipelineRecommender) -> None:
    # u0 (genre0) played and liked the star; its unplayed track nearest the taste wins.
    vecs = world.spaces.vectors["fused"]
    ctx = rec.context(RecommendRequest(listener_id="u0"))
    target = world.catalog.row_of["t0_4_3"]  # never played: nobody plays artists 3-5
    assert target not in set(ctx.history_rows.tolist())
    vecs[target] = ctx.profiles["fused"]
    params = PolicyParams(human_artist_boost=0.0, mmr_lambda=1.0)
    out = rec.recommend(RecommendRequest(listener_id="u0", k=5, params=params))
    assert out.items[0].track.track_id == world.spaces.track_ids[target]


def test_a_track_relabelled_ai_generated_after_load_is_held_back(
    world: World, rec: PipelineRecommender
) -> None:
    req = RecommendRequest(listener_id="u3", k=5)  # u3 opted out of AI music
    first = rec.recommend(req).items[0].track
    relabelled = dataclasses.replace(
        first, provenance=Provenance(ai_involvement=AiInvolvement.GENERATED)
    )
    world.store.tracks[first.track_id] = relabelled
    rec.lookup.ttl_seconds = 0.0
    out = rec.recommend(req)
    assert first.track_id not in {i.track.track_id for i in out.items}
    assert all(not i.track.provenance.is_ai_generated for i in out.items)
