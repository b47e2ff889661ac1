"""Item-to-item neighbours from the build-time table, and the exact search cache: the same
candidates and the same slates as searching per request."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from recsys.artifacts import Manifest
from recsys.embeddings.neighbours import (
    ROWS,
    SCORES,
    NeighbourTable,
    check_neighbours,
    compute_neighbours,
    load_neighbours,
    save_neighbours,
)
from recsys.errors import ArtifactError
from recsys.params import CandidateQuotas, PolicyParams
from recsys.pipeline import PipelineRecommender, RecommendRequest
from recsys.pipeline.candidates import EmergingSource, ItemToItemSource, PersonalSource
from recsys.pipeline.search_cache import SearchCache, search_cache_hit_rate
from tests.recsys.pipeline.world import BruteIndex, World, make_world


@pytest.fixture()
def world() -> World:
    return make_world()


def _table(world: World, k: int) -> NeighbourTable:
    return compute_neighbours(world.spaces.indexes["fused"], world.spaces.vectors["fused"], k)


def _requests(world: World, quota: int = 20) -> list[RecommendRequest]:
    params = PolicyParams(candidates=CandidateQuotas(item_to_item=quota))
    reqs = [RecommendRequest(listener_id=f"u{u}", params=params) for u in range(12)]
    seeds = tuple(world.spaces.track_ids[i] for i in (3, 40, 77))
    reqs.append(RecommendRequest(listener_id="u1", context_track_ids=seeds, params=params))
    reqs.append(RecommendRequest(listener_id="nobody", context_track_ids=seeds[:1], params=params))
    return reqs


def test_lookup_gives_the_candidates_the_exact_search_gives(world: World) -> None:
    rec = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    source = ItemToItemSource(world.spaces)
    searched = [source.propose(rec.context(r)) for r in _requests(world)]
    world.spaces.neighbours = _table(world, 30)  # type: ignore[attr-defined]
    for req, before in zip(_requests(world), searched, strict=True):
        after = source.propose(rec.context(req))
        assert len(after.rows) > 0
        assert set(after.rows.tolist()) == set(before.rows.tolist())
        np.testing.assert_allclose(
            np.sort(after.scores), np.sort(before.scores), atol=2e-3
        )  # float16 storage


def test_a_larger_quota_than_the_table_searches(world: World) -> None:
    world.spaces.neighbours = _table(world, 5)  # type: ignore[attr-defined]
    rec = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    req = _requests(world, quota=20)[0]
    assert len(ItemToItemSource(world.spaces).propose(rec.context(req)).rows) == 20


def test_slates_are_the_same_with_the_table_and_with_cache_hits(world: World) -> None:
    searched = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    before = [searched.recommend(r) for r in _requests(world)]
    spaces = dataclasses.replace(world.spaces)
    spaces.neighbours = _table(world, 150)  # type: ignore[attr-defined]
    looked_up = PipelineRecommender(spaces=spaces, catalog=world.catalog, store=world.store)
    looked_up.ranked_cache.max_entries = 0  # (so the second round reaches the searches)
    cache = looked_up.sources[0].cache  # type: ignore[attr-defined]
    assert isinstance(cache, SearchCache)
    for _ in range(2):  # the second round is served from the cache
        after = [looked_up.recommend(r) for r in _requests(world)]
        for a, b in zip(before, after, strict=True):
            assert [i.track.track_id for i in a.items] == [i.track.track_id for i in b.items]
            assert [i.score for i in a.items] == pytest.approx([i.score for i in b.items])
    assert cache.misses > 0 and cache.hits >= cache.misses  # every second-round search hits
    assert search_cache_hit_rate(looked_up) == cache.hit_rate > 0.5


class CountingIndex(BruteIndex):
    calls = 0

    def search_rows(self, queries, k, *, exclude_rows=None, ef=None):  # type: ignore[no-untyped-def]
        self.calls += 1
        return super().search_rows(queries, k, exclude_rows=exclude_rows, ef=ef)


def test_cache_hits_only_the_same_vector_index_and_k_and_stays_bounded() -> None:
    rng = np.random.default_rng(0)
    index = CountingIndex(rng.normal(size=(50, 8)).astype(np.float32))
    other = CountingIndex(index.vectors)
    cache = SearchCache(max_entries=2)
    q = rng.normal(size=8).astype(np.float32)
    first = cache.search(index, q, 5)
    again = cache.search(index, q.copy(), 5)
    assert index.calls == 1 and again[1].tolist() == first[1].tolist()
    assert not again[1].flags.writeable
    cache.search(index, q, 6)  # another k
    cache.search(other, q, 5)  # another index (a reload)
    q2 = q.copy()
    q2[0] = np.nextafter(q2[0], np.float32(1))  # one new event moves the vector: a miss
    cache.search(index, q2, 5)
    assert (index.calls, other.calls) == (3, 1)
    assert len(cache) == 2 and cache.hits == 1 and cache.misses == 4
    cache.search(index, q, 5)  # evicted (least recently used)
    assert index.calls == 4
    off = SearchCache(max_entries=0)
    off.search(index, q, 5)
    off.search(index, q, 5)
    assert index.calls == 6 and len(off) == 0


def test_personal_source_without_cache_still_searches(world: World) -> None:
    rec = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    ctx = rec.context(_requests(world)[0])
    plain = PersonalSource(world.spaces).propose(ctx)
    cached = PersonalSource(world.spaces, cache=SearchCache()).propose(ctx)
    assert plain.rows.tolist() == cached.rows.tolist()


def test_emerging_source_cached_answers_equal_its_product(world: World) -> None:
    rec = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    cache = SearchCache()
    cached = EmergingSource(world.spaces, world.catalog, cache=cache)
    plain = EmergingSource(world.spaces, world.catalog)
    for req in _requests(world):
        ctx = rec.context(req)
        want = plain.propose(ctx)
        for _ in range(2):  # a miss, then a hit
            got = cached.propose(ctx)
            assert got.rows.tolist() == want.rows.tolist()
            assert got.scores.tobytes() == want.scores.tobytes()
    assert cache.hits >= len(_requests(world))
    # Another quota is another key: a miss, answered with that quota.
    misses = cache.misses
    params = PolicyParams(candidates=CandidateQuotas(emerging=3))
    other = cached.propose(rec.context(RecommendRequest(listener_id="u0", params=params)))
    assert cache.misses == misses + 1
    assert len(other.rows) == min(3, len(want.rows))


def _manifest(root: Path) -> Manifest:
    from recsys.artifacts import hash_files

    return Manifest.model_construct(files=hash_files(root))


def test_table_round_trips_memory_mapped_and_is_checked(world: World, tmp_path: Path) -> None:
    table = _table(world, 10)
    save_neighbours(table, tmp_path)
    manifest = _manifest(tmp_path)
    loaded = load_neighbours(tmp_path, manifest)
    # Plain ndarray views of the mappings (cheaper to index than np.memmap itself).
    assert loaded is not None and isinstance(loaded.rows.base, np.memmap)
    assert isinstance(loaded.scores.base, np.memmap) and not loaded.rows.flags.writeable
    assert loaded.rows.dtype == np.int32 and loaded.scores.dtype == np.float16
    np.testing.assert_array_equal(loaded.rows, table.rows)
    n = len(world.spaces.track_ids)
    check_neighbours(tmp_path, loaded, n)
    with pytest.raises(ArtifactError, match="one per track"):
        check_neighbours(tmp_path, loaded, n + 1)
    bad = table.rows.copy()
    bad[3, 2] = n
    with pytest.raises(ArtifactError, match="outside"):
        check_neighbours(tmp_path, NeighbourTable(rows=bad, scores=table.scores), n)
    with pytest.raises(ArtifactError, match="float16"):
        check_neighbours(tmp_path, NeighbourTable(rows=table.rows, scores=table.scores[:, :3]), n)
    np.save(tmp_path / ROWS, bad)  # changed after the manifest was written
    with pytest.raises(ArtifactError, match="sha256"):
        load_neighbours(tmp_path, manifest)
    without = Manifest.model_construct(
        files={k: v for k, v in manifest.files.items() if k != SCORES}
    )
    assert load_neighbours(tmp_path, without) is None  # an artifact set from before the table
