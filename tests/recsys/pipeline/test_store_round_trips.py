"""Store round trips per Recommend, on both store backends.

On PostgreSQL every store read is a round trip to another process, so the request path reads
the served tracks and their artists in one batch each (``Store.get_tracks``/``get_artists``),
never one call per item. These tests fail if a per-item lookup comes back, and check that the
batched reads stay fresh: a label changed through another store handle (another replica)
shows at the next request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from recsys.domain import AiInvolvement, Provenance
from recsys.pipeline import PipelineRecommender, RecommendRequest
from recsys.pipeline.slate_log import SlateLogger
from recsys.store import IngestBatch, SqliteStore, Store
from tests.recsys.pipeline.world import World, make_world

PER_REQUEST = {
    "get_listener",
    "listener_history",
    "consent_version",
    "held_ids",
    "get_tracks",
    "get_artists",
    "log_slates",
}
"""The store calls one Recommend makes once the consent state is loaded (the slate log is
written synchronously here; the service writes it in the background)."""


class CountingStore:
    """Forwards every call to ``inner`` and counts them by method name."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.inner, name)
        if not callable(found):
            return found

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return found(*args, **kwargs)

        return counted


@pytest.fixture(params=["sqlite", "postgres"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens handles on one database of each backend (several handles: several replicas)."""
    opened: list[Store] = []

    def open_one() -> Store:
        store: Store
        if request.param == "sqlite":
            store = SqliteStore(str(tmp_path / "liner.db"))
        else:
            from recsys.store.postgres import PostgresStore

            store = PostgresStore(request.getfixturevalue("postgres_url"), pool_size=1)
        opened.append(store)
        return store

    try:
        yield open_one
    finally:
        for store in opened:
            store.close()


def _filled(store: Store, world: World) -> Store:
    m = world.store
    store.ingest(
        IngestBatch(
            artists=list(m.artists.values()),
            tracks=list(m.tracks.values()),
            listeners=list(m.listeners.values()),
            events=m.events,
            consent=m.ledger,
        )
    )
    store.finish_screening(screened=store.unscreened_marks())
    return store


def _recommender(world: World, store: Any) -> PipelineRecommender:
    return PipelineRecommender(
        spaces=world.spaces,
        catalog=world.catalog,
        store=store,
        slate_logger=SlateLogger(store, background=False),
    )


def test_store_calls_per_recommend_do_not_grow_with_the_slate(
    open_store: Callable[[], Store],
) -> None:
    world = make_world()
    counting = CountingStore(_filled(open_store(), world))
    rec = _recommender(world, counting)
    rec.recommend(RecommendRequest(listener_id="u0"))  # loads the consent state once
    per_k: dict[int, list[Counter[str]]] = {}
    for k in (3, 10):
        for listener in ("u0", "u4", "u7", "nobody"):
            counting.calls.clear()
            out = rec.recommend(RecommendRequest(listener_id=listener, k=k, explain=True))
            assert len(out.items) == k and all(i.artists for i in out.items)
            per_k.setdefault(k, []).append(Counter(counting.calls))
    for calls in per_k[3] + per_k[10]:
        assert set(calls) <= PER_REQUEST, f"unexpected store calls: {calls}"
        assert all(n == 1 for n in calls.values()), f"a store call repeated: {calls}"
    # The reasons name played tracks by title: read in the same batch as the items.
    assert per_k[3] == per_k[10]


def test_postgres_round_trips_per_recommend(postgres_url: str) -> None:
    """On PostgreSQL, each batched read is one statement, whatever the slate size."""
    from recsys.store.postgres import PostgresStore

    world = make_world()
    store = _filled(PostgresStore(postgres_url, pool_size=1), world)
    try:
        statements = Counter[str]()
        query = store._query

        def counted(sql: str, params: Any = None) -> list[Any]:
            statements[sql.split()[0]] += 1
            return query(sql, params)

        store._query = counted  # type: ignore[method-assign]
        rec = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=store)
        rec.recommend(RecommendRequest(listener_id="u1"))
        for k in (3, 10):
            statements.clear()
            rec.recommend(RecommendRequest(listener_id="u1", k=k, explain=True))
            # listener, history, consent version, held versions, tracks, artists
            assert sum(statements.values()) == 6, statements
    finally:
        store.close()


def test_a_label_changed_through_another_replica_shows_at_the_next_request(
    open_store: Callable[[], Store],
) -> None:
    world = make_world()
    rec = _recommender(world, _filled(open_store(), world))
    other = open_store()
    req = RecommendRequest(listener_id="u3", k=5)  # u3 opted out of AI music
    first, second = (i.track for i in rec.recommend(req).items[:2])
    assert {first.provenance.ai_involvement, second.provenance.ai_involvement} == {
        AiInvolvement.NONE
    }
    other.set_provenance(first.track_id, Provenance(ai_involvement=AiInvolvement.GENERATED))
    other.set_provenance(second.track_id, Provenance(ai_involvement=AiInvolvement.ASSISTED))
    served = {i.track.track_id: i.track for i in rec.recommend(req).items}
    assert first.track_id not in served
    assert served[second.track_id].provenance.ai_involvement is AiInvolvement.ASSISTED


def test_converse_tools_read_tracks_and_artists_in_batches() -> None:
    """The agent's profile and facts read every track and artist they show in one batch
    each, fresh on every call (no per-item lookups, no cache across calls)."""
    from agent.pipeline_backend import PipelineBackend

    world = make_world()
    counting = CountingStore(world.store)
    backend = PipelineBackend(_recommender(world, counting))
    profile = backend.profile("u0")
    assert profile.plays >= 5 and profile.top_artists
    assert counting.calls == Counter(get_listener=1, listener_events=1, get_tracks=1, get_artists=1)
    counting.calls.clear()
    facts = backend.facts(list(world.spaces.track_ids[:12]))
    assert len(facts) == 12 and all(f.artists for f in facts)
    assert counting.calls == Counter(get_tracks=1, get_artists=1)
    counting.calls.clear()
    backend.facts(list(world.spaces.track_ids[:12]))
    assert counting.calls == Counter(get_tracks=1, get_artists=1)
