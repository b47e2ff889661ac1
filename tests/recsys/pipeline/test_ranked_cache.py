"""The exact cache of ranked candidates (``PipelineRecommender.ranked_cache``): a hit serves
what the stages would compute now, item for item; a new event, a hold, a consent change or
another request shape is a miss."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from recsys.domain import (
    IMITATION_SCOPES,
    ConsentAction,
    ConsentEntry,
    EventType,
    FeedbackEvent,
)
from recsys.params import PolicyParams
from recsys.pipeline import PipelineRecommender, RecommendRequest, RequestFilters
from recsys.pipeline.recommender import RANKED_CACHE_ENTRIES
from recsys.store import QuarantineRecord
from tests.recsys.pipeline.world import T0, World, make_world

_STAGES = ("context", "candidates", "filters", "features", "rerank", "policy", "total")


@pytest.fixture()
def world() -> World:
    return make_world()


def _requests(world: World) -> list[RecommendRequest]:
    seeds = tuple(world.spaces.track_ids[i] for i in (3, 40, 77))
    out = [RecommendRequest(listener_id=f"u{u}") for u in range(12)]
    out += [RecommendRequest(listener_id=f"u{u}", context_track_ids=seeds) for u in (1, 5)]
    out.append(RecommendRequest(listener_id="u2", query="genre1 vibes"))
    out.append(RecommendRequest(listener_id="u2", query="genre1 vibes", k=5))
    out.append(
        RecommendRequest(
            listener_id="u3",
            filters=RequestFilters(
                genres=("genre0", "genre2"), exclude_track_ids=tuple(world.spaces.track_ids[:30:3])
            ),
        )
    )
    out.append(RecommendRequest(listener_id="u4", params=PolicyParams(human_artist_boost=0.5)))
    out.append(RecommendRequest(listener_id="nobody"))
    return out


_Item = tuple[str, float, tuple[str, ...], tuple[str, ...], int]


def _served(
    rec: PipelineRecommender, req: RecommendRequest
) -> tuple[tuple[_Item, ...], tuple[str, ...]]:
    """What a client sees of a slate, with a fresh request id (a new request each time)."""
    out = rec.recommend(dataclasses.replace(req, request_id=""))
    items = [(i.track.track_id, i.score, i.reasons, i.sources, i.position) for i in out.items]
    return tuple(items), out.notes


def _pair(world: World) -> tuple[PipelineRecommender, PipelineRecommender]:
    cached = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    fresh = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    fresh.ranked_cache.max_entries = 0
    return cached, fresh


def test_hits_serve_exactly_what_the_stages_compute(world: World) -> None:
    cached, fresh = _pair(world)
    assert cached.ranked_cache.max_entries == RANKED_CACHE_ENTRIES
    reqs = _requests(world)
    for _ in range(3):
        for req in reqs:
            assert _served(cached, req) == _served(fresh, req)
    # Every request shape is computed once, then served from the cache.
    assert cached.ranked_cache.misses == len(reqs)
    assert cached.ranked_cache.hits == 2 * len(reqs)
    assert fresh.ranked_cache.hits == fresh.ranked_cache.misses == 0
    hit = cached.recommend(dataclasses.replace(reqs[0], request_id="again", explain=True))
    assert set(hit.stage_ms) == set(_STAGES) and hit.request_id == "again"
    assert all(i.contributions for i in hit.items)  # explained from the cached features
    want = fresh.recommend(dataclasses.replace(reqs[0], explain=True))
    assert [i.contributions for i in hit.items] == [i.contributions for i in want.items]


def test_a_new_event_a_hold_or_a_consent_change_is_a_miss(world: World) -> None:
    cached, fresh = _pair(world)
    req = RecommendRequest(listener_id="u1")
    first = _served(cached, req)
    assert _served(cached, req) == first and cached.ranked_cache.hits == 1
    # A new play: another history, recomputed.
    world.store.add_events(
        [
            FeedbackEvent(
                event_id="late-play",
                listener_id="u1",
                track_id=world.spaces.track_ids[11],
                event_type=EventType.PLAY,
                at=T0 + dt.timedelta(days=400),
            )
        ]
    )
    played = _served(cached, req)
    assert cached.ranked_cache.misses == 2 and played == _served(fresh, req)
    # A hold on the top track: a new blocked mask, recomputed without it.
    top = played[0][0][0]
    world.store.record_quarantine(
        [QuarantineRecord(track_id=top, quarantined=True, actor="screening", at=T0)]
    )
    held = _served(cached, req)
    assert cached.ranked_cache.misses == 3 and held == _served(fresh, req)
    assert top not in [item[0] for item in held[0]]
    # A consent change (a new ledger version) likewise.
    holder = world.catalog.artist_rights_holder[0]
    world.store.append_consent(
        [
            ConsentEntry(
                entry_id="grant-1",
                actor="rights-admin",
                rights_holder_id=str(holder),
                scope=IMITATION_SCOPES[0],
                action=ConsentAction.GRANT,
                at=T0,
            )
        ]
    )
    assert _served(cached, req) == _served(fresh, req) and cached.ranked_cache.misses == 4
    # The same state again: a hit.
    assert _served(cached, req) == _served(fresh, req) and cached.ranked_cache.misses == 4


def test_the_cache_stays_bounded(world: World) -> None:
    cached, fresh = _pair(world)
    cached.ranked_cache.max_entries = 3
    for u in range(8):
        req = RecommendRequest(listener_id=f"u{u}")
        assert _served(cached, req) == _served(fresh, req)
    assert len(cached.ranked_cache) == 3
