"""Held tracks (unscreened, disputed, quarantined) never reach a slate, whatever the request,
and the agent's permission check holds them back too; released, they are served again."""

from __future__ import annotations

import pytest

from recsys.domain import AiPreference
from recsys.params import PolicyParams
from recsys.pipeline import PipelineRecommender, RecommendRequest, RequestFilters
from recsys.pipeline.slate_log import SlateLogger
from tests.recsys.pipeline.world import World, make_world

FILTERS = {
    "default": RequestFilters(),
    "human-only": RequestFilters(human_only=True),
    "no-ai-generated": RequestFilters(exclude_ai_generated=True),
}


@pytest.fixture()
def world() -> World:
    return make_world()


def _served(world: World, rec: PipelineRecommender, filters: RequestFilters) -> set[str]:
    served: set[str] = set()
    for listener in list(world.store.iter_listeners())[:12]:
        req = RecommendRequest(
            listener_id=listener.listener_id,
            k=10,
            filters=filters,
            params=PolicyParams(human_artist_boost=0.0, mmr_lambda=1.0),
        )
        served.update(i.track.track_id for i in rec.recommend(req).items)
    return served


@pytest.mark.parametrize("name", list(FILTERS), ids=list(FILTERS))
def test_held_tracks_are_never_served(
    world: World, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = PipelineRecommender(
        spaces=world.spaces,
        catalog=world.catalog,
        store=world.store,
        slate_logger=SlateLogger(world.store, background=False),
    )
    before = _served(world, rec, FILTERS[name])
    # Declared-human tracks the listeners were being served: half disputed, half unscreened.
    human = sorted(t for t in before if world.store.tracks[t].provenance.ai_involvement == "NONE")
    assert len(human) >= 4, "the world should serve declared-human tracks"
    disputed, unscreened = frozenset(human[::2]), frozenset(human[1::2])
    monkeypatch.setattr(world.store, "disputed_ids", lambda: disputed)
    monkeypatch.setattr(world.store, "unscreened_ids", lambda: unscreened)
    assert not _served(world, rec, FILTERS[name]) & (disputed | unscreened)
    opted_out = [
        u.listener_id
        for u in world.store.iter_listeners()
        if u.ai_preference is AiPreference.OPT_OUT
    ]
    for listener_id in opted_out:
        items = rec.recommend(RecommendRequest(listener_id=listener_id, k=10)).items
        assert not {i.track.track_id for i in items} & (disputed | unscreened)
    # The agent's tools ask the same filters.
    rows = world.catalog.rows(sorted(disputed | unscreened))
    assert rec.filters.quarantine_mask()[rows].all()
    monkeypatch.setattr(world.store, "disputed_ids", lambda: frozenset())
    monkeypatch.setattr(world.store, "unscreened_ids", lambda: frozenset())
    assert _served(world, rec, FILTERS[name]) & (disputed | unscreened)
