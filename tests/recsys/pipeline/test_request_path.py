"""The request path's faster steps give exactly what the steps they replaced gave.

Each test keeps the previous implementation as its oracle (numpy ``unique``/``isin``/
``bincount``, two masks, a two-pass reason writer) and compares results bit for bit on
random inputs and on the generated world's requests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace

import numpy as np
import pytest

from recsys.domain import EventType, FeedbackEvent, Listener
from recsys.params import PolicyParams
from recsys.pipeline import PipelineRecommender, RecommendRequest, RequestFilters
from recsys.pipeline.api import RecommendRequest as Request
from recsys.pipeline.candidates import (
    MISSING_RANK,
    CandidateSet,
    EmergingSource,
    Proposal,
    merge_candidates,
    top_k_desc,
)
from recsys.pipeline.catalog import AI_GENERATED, CatalogSnapshot
from recsys.pipeline.context import (
    _NEGATIVE,
    _PLAY,
    _SKIP,
    _TYPE_CODES,
    SPACES,
    ListenerContext,
    SpacesView,
    _first_seen_sums,
    _group_sum,
    _normalise,
    build_context,
)
from recsys.pipeline.filters import _member
from recsys.pipeline.first_stage import candidate_depth
from recsys.pipeline.policy import ReasonWriter, Slate, _relabel
from recsys.store import QuarantineRecord
from recsys.store.base import EventHistory
from tests.recsys.pipeline.world import T0, World, make_world


@pytest.fixture()
def world() -> World:
    return make_world()


def _requests(world: World) -> list[RecommendRequest]:
    seeds = tuple(world.spaces.track_ids[i] for i in (3, 40, 77))
    out = [RecommendRequest(listener_id=f"u{u}") for u in range(24)]
    out += [RecommendRequest(listener_id=f"u{u}", context_track_ids=seeds) for u in (1, 5)]
    out.append(RecommendRequest(listener_id="u2", query="genre1 vibes"))
    out.append(
        RecommendRequest(
            listener_id="u3",
            filters=RequestFilters(
                genres=("genre0", "genre2"),
                exclude_track_ids=tuple(world.spaces.track_ids[:30:3]),
            ),
        )
    )
    out.append(RecommendRequest(listener_id="nobody", params=PolicyParams(exploration=0.0)))
    return out


# --- the previous implementations (oracles) --------------------------------------------------


def _group_sum_reference(keys: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, inverse = np.unique(keys, return_inverse=True)
    sums = np.bincount(inverse.ravel(), weights=weights, minlength=len(uniq))
    return uniq.astype(np.int64), sums


def _context_reference(
    request: Request,
    *,
    listener: Listener | None,
    events: Sequence[FeedbackEvent],
    catalog: CatalogSnapshot,
    spaces: SpacesView,
    max_history: int = 200,
) -> ListenerContext:
    listener = listener or Listener(listener_id=request.listener_id)
    history = EventHistory.of(events)
    row_of = catalog.row_of.get
    rows = np.array([row_of(t, -1) for t in history.track_ids], dtype=np.int64)
    kinds = np.array(list(map(_TYPE_CODES.__getitem__, history.event_types)), dtype=np.int64)
    known = rows >= 0
    negative = known & _NEGATIVE[kinds]
    plays = np.flatnonzero(known & ~negative & (kinds == _PLAY))
    positive = known & ~negative & (kinds != _SKIP)
    pos = np.flatnonzero(positive)
    decayed = np.maximum(np.asarray(history.weights, dtype=np.float64)[pos], 0.0)
    decayed *= 0.5 ** (pos / 100.0)
    uniq, first, inverse = np.unique(rows[pos], return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")[:max_history]
    sums = np.bincount(inverse.ravel(), weights=decayed, minlength=len(uniq))
    hist = uniq[order].astype(np.int64)
    w = sums[order].astype(np.float32)
    if len(hist):
        w = np.log1p(w)
        w = w / w.sum() if w.sum() > 0 else np.full(len(w), 1.0 / len(w), dtype=np.float32)
    profiles: dict[str, np.ndarray] = {}
    if len(hist):
        for name in SPACES:
            vecs = spaces.vectors.get(name)
            if vecs is None:
                continue
            prof = _normalise(w @ vecs[hist])
            if prof is not None:
                profiles[name] = prof
    artists = catalog.artist_row[hist]
    genres = catalog.genre_code[hist]
    artist_keys, artist_shares = _group_sum_reference(
        artists[artists >= 0], w[artists >= 0].astype(np.float64)
    )
    genre_keys, genre_shares = _group_sum_reference(
        genres[genres >= 0], w[genres >= 0].astype(np.float64)
    )
    return ListenerContext(
        request=request,
        listener=listener,
        history_rows=hist,
        history_weights=w,
        recent_rows=rows[plays[: request.params.recent_play_exclusion]],
        disliked_rows=rows[negative],
        seed_rows=catalog.rows(request.context_track_ids),
        profiles=profiles,
        artist_keys=artist_keys,
        artist_shares=artist_shares,
        genre_keys=genre_keys,
        genre_shares=genre_shares,
    )


def _keep_reference(rec: PipelineRecommender, ctx: ListenerContext, rows: np.ndarray) -> np.ndarray:
    cat, filters = rec.catalog, rec.filters
    keep = ~filters.consent_mask()[rows]
    keep &= ~filters.held_mask()[rows]
    gone = np.concatenate([ctx.recent_rows, ctx.disliked_rows])
    if len(gone):
        keep &= ~np.isin(rows, gone)
    blocked_artists = [cat.artist_row_of.get(a) for a in ctx.listener.blocked_artist_ids]
    blocked = np.asarray([a for a in blocked_artists if a is not None], dtype=np.int64)
    if len(blocked):
        credited, owner = cat.credited_artist_rows(rows)
        hit = np.zeros(len(rows), dtype=bool)
        hit[owner[np.isin(credited, blocked)]] = True
        keep &= ~hit
    ai = cat.ai_code[rows]
    f = ctx.request.filters
    if ctx.opted_out or f.exclude_ai_generated:
        keep &= ai != AI_GENERATED
    if f.human_only:
        keep &= cat.is_human[rows] & (ai != AI_GENERATED)
    if f.genres:
        codes = [list(cat.genres).index(g) for g in f.genres if g in cat.genres]
        keep &= np.isin(cat.genre_code[rows], np.asarray(codes, dtype=np.int16))
    if f.exclude_track_ids:
        keep &= ~np.isin(rows, cat.rows(f.exclude_track_ids))
    return keep


def _reasons_reference(
    catalog: CatalogSnapshot,
    spaces: SpacesView,
    title_of: Callable[[int], str],
    ctx: ListenerContext,
    cands: CandidateSet,
    slate: Slate,
) -> list[tuple[str, ...]]:
    fused = spaces.vectors.get("fused")
    out: list[tuple[str, ...]] = []
    picked = cands.rows[slate.picks]
    hist = ctx.history_rows[:50]
    text_ranks = cands.ranks.get("text_query") if ctx.query_vec is not None else None
    closest_seed = closest_play = None
    if fused is not None and len(picked):
        if len(ctx.seed_rows):
            closest_seed = ctx.seed_rows[np.argmax(fused[ctx.seed_rows] @ fused[picked].T, 0)]
        if len(hist):
            closest_play = hist[np.argmax(fused[hist] @ fused[picked].T, axis=0)]
    for pos, j in enumerate(slate.picks.tolist()):
        row = int(cands.rows[j])
        reasons: list[str] = []
        if text_ranks is not None and text_ranks[j] < MISSING_RANK:
            reasons.append(f"matches '{ctx.request.query.strip()}'")
        if closest_seed is not None and int(closest_seed[pos]) != row:
            reasons.append(f"similar to {title_of(int(closest_seed[pos]))}")
        if slate.emerging[pos]:
            reasons.append("new human artist near your taste")
        if closest_play is not None:
            reasons.append(f"because you played {title_of(int(closest_play[pos]))}")
        if not reasons:
            reasons.append("popular on Liner Notes right now")
        if catalog.is_human[row] and not slate.emerging[pos]:
            reasons.append("by a human artist")
        out.append(tuple(reasons))
    return out


# --- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 7, 300])
def test_history_grouping_is_unique_bincount_bit_for_bit(n: int) -> None:
    rng = np.random.default_rng(n)
    rows = rng.integers(0, max(n // 3, 1), n).astype(np.int64) * 7919
    weights = rng.random(n) * 10.0 ** rng.integers(-3, 3, n)
    for limit in (200, 2):
        uniq, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")[:limit]
        sums = np.bincount(inverse.ravel(), weights=weights, minlength=len(uniq))
        got_rows, got_sums = _first_seen_sums(rows, weights, limit)
        np.testing.assert_array_equal(got_rows, uniq[order])
        np.testing.assert_array_equal(got_sums, sums[order])  # exact: same order of addition
    keys = rows % 13 - 2
    want_keys, want_sums = _group_sum_reference(keys, weights)
    got_keys, got_sums = _group_sum(keys, weights)
    np.testing.assert_array_equal(got_keys, want_keys)
    np.testing.assert_array_equal(got_sums, want_sums)


def test_context_is_the_previous_context(world: World) -> None:
    rec = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    for req in _requests(world):
        events = world.store.listener_events(req.listener_id, limit=300)
        listener = world.store.get_listener(req.listener_id)
        kwargs = {"listener": listener, "catalog": world.catalog, "spaces": world.spaces}
        want = _context_reference(req, events=events, **kwargs)  # type: ignore[arg-type]
        got = build_context(req, events=events, **kwargs)  # type: ignore[arg-type]
        for name in (
            "history_rows",
            "history_weights",
            "recent_rows",
            "disliked_rows",
            "seed_rows",
            "artist_keys",
            "artist_shares",
            "genre_keys",
            "genre_shares",
        ):
            a, b = getattr(want, name), getattr(got, name)
            # (Empty shares were int64 before, float64 now: nothing reads an empty one.)
            assert a.dtype == b.dtype or not len(a), name
            np.testing.assert_array_equal(b, a, err_msg=name)
        assert want.profiles.keys() == got.profiles.keys()
        for space, vec in want.profiles.items():
            np.testing.assert_array_equal(got.profiles[space], vec)
        for space, vecs in world.spaces.vectors.items():
            for count in (3, 50):
                expected = vecs[got.history_rows[:count]]
                np.testing.assert_array_equal(got.history_vecs(space, vecs, count), expected)
                np.testing.assert_array_equal(want.history_vecs(space, vecs, count), expected)
    del rec


def test_member_is_isin() -> None:
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 500, 400)
    for among in (np.empty(0, np.int64), rng.integers(0, 500, 1), rng.integers(-5, 600, 60)):
        np.testing.assert_array_equal(_member(rows, among), np.isin(rows, among))


def test_filters_keep_the_previous_rows(world: World) -> None:
    rec = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    world.store.record_quarantine(
        QuarantineRecord(track_id=t, quarantined=True, actor="screening", at=T0)
        for t in world.spaces.track_ids[5:60:11]
    )
    for req in _requests(world):
        ctx = rec.context(req)
        rows = rec.candidates(ctx).rows
        np.testing.assert_array_equal(rec.filters.keep(ctx, rows), _keep_reference(rec, ctx, rows))


def test_relabel_groups_exactly_as_unique() -> None:
    rng = np.random.default_rng(5)
    for n in (0, 1, 50, 700):
        values = rng.integers(0, 40, n) * 100_003
        labels = _relabel(values)
        _, inverse = np.unique(values, return_inverse=True)
        # Equal labels exactly where the values are equal, labels 0..m-1.
        np.testing.assert_array_equal(labels[:, None] == labels, inverse[:, None] == inverse)
        assert n == 0 or labels.max() + 1 == len(np.unique(values))


def test_reasons_and_slates_are_the_previous_ones(world: World) -> None:
    rec = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    for req in _requests(world):
        ctx = rec.context(req)
        cands = rec.candidates(ctx)
        cands = cands.subset(rec.filters.keep(ctx, cands.rows))
        feats = rec.features.build(ctx, cands)
        gathered: dict[str, np.ndarray] = {}
        np.testing.assert_array_equal(rec.features.build(ctx, cands, gathered), feats)
        np.testing.assert_array_equal(gathered["fused"], world.spaces.vectors["fused"][cands.rows])
        scores = rec.scorer("default").score(feats)
        slate = rec.policy.select(ctx, cands, scores)
        again = rec.policy.select(ctx, cands, scores, vecs=gathered["fused"])
        np.testing.assert_array_equal(again.picks, slate.picks)
        np.testing.assert_array_equal(again.scores, slate.scores)

        def title(row: int) -> str:
            return f"'{world.catalog.track_ids[row]} title'"

        want = _reasons_reference(world.catalog, world.spaces, title, ctx, cands, slate)
        assert ReasonWriter(world.catalog, world.spaces, title).reasons(ctx, cands, slate) == want
        named: list[int] = []

        def note(row: int, named: list[int] = named) -> str:
            named.append(row)
            return ""

        _reasons_reference(world.catalog, world.spaces, note, ctx, cands, slate)
        templates = ReasonWriter(world.catalog, world.spaces).templates(ctx, cands, slate)
        assert ReasonWriter.named_rows(templates) == named


def test_a_title_with_braces_is_written_as_it_is(world: World) -> None:
    rec = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    req = RecommendRequest(listener_id="u1", query="{} genre1 vibes")
    ctx = rec.context(req)
    cands = rec.candidates(ctx)
    slate = rec.policy.select(
        ctx, cands, rec.scorer("default").score(rec.features.build(ctx, cands))
    )
    got = ReasonWriter(world.catalog, world.spaces, lambda r: "'{}{0}'").reasons(ctx, cands, slate)
    want = _reasons_reference(world.catalog, world.spaces, lambda r: "'{}{0}'", ctx, cands, slate)
    assert got == want


def test_events_of_every_kind_group_as_before(world: World) -> None:
    rec = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    kinds = list(EventType)
    rng = np.random.default_rng(9)
    ids = [*world.spaces.track_ids[:40], "not-in-catalog"]
    events = [
        FeedbackEvent(
            event_id=f"x{i}",
            listener_id="mixed",
            track_id=str(rng.choice(ids)),
            event_type=kinds[i % len(kinds)],
            weight=float(rng.normal()),
            at=T0,
        )
        for i in range(250)
    ]
    req = RecommendRequest(listener_id="mixed")
    kwargs = {"listener": None, "catalog": world.catalog, "spaces": world.spaces}
    want = _context_reference(req, events=events, max_history=30, **kwargs)  # type: ignore[arg-type]
    got = build_context(req, events=events, max_history=30, **kwargs)  # type: ignore[arg-type]
    np.testing.assert_array_equal(got.history_rows, want.history_rows)
    np.testing.assert_array_equal(got.history_weights, want.history_weights)
    np.testing.assert_array_equal(got.disliked_rows, want.disliked_rows)
    np.testing.assert_array_equal(got.recent_rows, want.recent_rows)
    del rec


def _depth_reference(cands: CandidateSet) -> np.ndarray:
    depth = np.full(len(cands), np.inf)
    for ranks in cands.ranks.values():
        present = ranks < MISSING_RANK
        if not present.any():
            continue
        length = float(ranks[present].max()) + 1.0
        np.minimum(depth, np.where(present, (ranks + 1.0) / length, np.inf), out=depth)
    return depth


def test_candidate_depth_is_the_previous_depth_bit_for_bit() -> None:
    rng = np.random.default_rng(11)
    for n in (0, 1, 37, 650):
        ranks = {}
        for name, quota in (("a", 300), ("b", 7), ("c", 0), ("d", 50), ("e", n)):
            r = np.full(n, MISSING_RANK, np.float32)
            q = min(quota, n)
            r[rng.choice(n, q, replace=False)] = rng.permutation(q).astype(np.float32)
            ranks[name] = r
        cands = CandidateSet(
            rows=np.arange(n), ranks=ranks, scores={s: np.zeros(n, np.float32) for s in ranks}
        )
        np.testing.assert_array_equal(candidate_depth(cands), _depth_reference(cands))


def _top_k_reference(scores: np.ndarray, k: int) -> np.ndarray:
    """The previous selection: a partition of the negated scores, then a stable sort."""
    if k <= 0 or len(scores) == 0:
        return np.empty(0, np.int64)
    part = np.argpartition(-scores, k - 1)[:k] if len(scores) > k else np.arange(len(scores))
    return part[np.argsort(-scores[part], kind="stable")]


@pytest.mark.parametrize("n", [0, 1, 5, 50, 51, 4000])
def test_top_k_is_the_partition_where_scores_differ_and_index_order_on_ties(n: int) -> None:
    rng = np.random.default_rng(n)
    distinct = rng.permutation(n).astype(np.float32) / 7.0  # no two equal
    tied = rng.integers(0, 5, n).astype(np.float32)  # many equal
    for k in (0, 1, 10, 50, n, n + 3):
        np.testing.assert_array_equal(top_k_desc(distinct, k), _top_k_reference(distinct, k))
        expected = np.lexsort((np.arange(n), -tied))[:k]  # score down, then index up
        np.testing.assert_array_equal(top_k_desc(tied, k), expected)


def test_emerging_source_proposes_what_the_partition_proposed(world: World) -> None:
    source = EmergingSource(world.spaces, world.catalog)
    rec = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    compared = 0
    for request in _requests(world):
        ctx = rec.context(request)
        got = source.propose(ctx)
        pool = source.pool(request.params.emerging_exposure_quantile)
        query = ctx.profiles.get("fused")
        if query is None:
            continue
        scores = (np.ascontiguousarray(world.spaces.vectors["fused"][pool]) @ query).astype(
            np.float32
        )
        best = _top_k_reference(scores, request.params.candidates.emerging)
        if ctx.query_vec is None:
            np.testing.assert_array_equal(got.rows, pool[best])
            np.testing.assert_array_equal(got.scores, scores[best])
            compared += 1
    assert compared >= 20


def _merge_reference(proposals: Sequence[Proposal], names: Sequence[str]) -> CandidateSet:
    parts = [p.rows for p in proposals]
    all_rows = np.concatenate(parts) if parts else np.empty(0, np.int64)
    uniq, inverse = np.unique(all_rows, return_inverse=True)
    ranks = {s: np.full(len(uniq), MISSING_RANK, np.float32) for s in names}
    scores = {s: np.zeros(len(uniq), np.float32) for s in names}
    start = 0
    for p in proposals:
        idx = inverse[start : start + len(p.rows)]
        start += len(p.rows)
        ranks[p.source][idx[::-1]] = np.arange(len(p.rows), dtype=np.float32)[::-1]
        scores[p.source][idx[::-1]] = p.scores[::-1]
    return CandidateSet(rows=uniq.astype(np.int64), ranks=ranks, scores=scores)


def test_merge_and_subset_are_the_previous_ones_bit_for_bit() -> None:
    rng = np.random.default_rng(5)
    names = ("a", "b", "c", "d", "e")
    for trial in range(300):
        proposals = []  # repeated rows within and across proposals, a source twice, none
        for source in rng.choice(names, int(rng.integers(0, 7))):
            n = int(rng.integers(0, 200))
            dtype = np.float32 if trial % 2 else np.float64
            proposals.append(
                Proposal(
                    source=str(source),
                    rows=rng.integers(0, 300, n),
                    scores=rng.normal(size=n).astype(dtype),
                )
            )
        got, expected = merge_candidates(proposals, names), _merge_reference(proposals, names)
        mask = rng.random(len(got)) < 0.5
        for keep in (None, mask, np.flatnonzero(mask)):
            a = got if keep is None else got.subset(keep)
            b = expected if keep is None else expected.subset(keep)
            np.testing.assert_array_equal(a.rows, b.rows)
            assert a.rows.dtype == b.rows.dtype
            for s in names:
                np.testing.assert_array_equal(a.ranks[s], b.ranks[s])
                np.testing.assert_array_equal(a.scores[s], b.scores[s])
                assert a.ranks[s].dtype == b.ranks[s].dtype == np.float32
                assert a.scores[s].dtype == b.scores[s].dtype == np.float32
            assert [a.sources_of(i) for i in range(len(a))] == [
                b.sources_of(i) for i in range(len(b))
            ]


def _credits_reference(cat: CatalogSnapshot, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = cat.credit_ptr[rows]
    lengths = cat.credit_ptr[rows + 1] - starts
    owner = np.repeat(np.arange(len(rows)), lengths)
    offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return cat.credit_artist[np.repeat(starts, lengths) + offsets], owner


def test_credited_artist_rows_are_the_previous_ones(world: World) -> None:
    cat = world.catalog
    rng = np.random.default_rng(8)
    for size in (0, 1, 40, 500):
        rows = rng.integers(0, len(cat), size)
        got, want = cat.credited_artist_rows(rows), _credits_reference(cat, rows)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype
    # Tracks with zero to three credits (the world's tracks have one each).
    for trial in range(50):
        lengths = rng.integers(0, 4, 300)
        ptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        dtype = np.int32 if trial % 2 else np.int64
        artist = rng.integers(0, 40, int(ptr[-1])).astype(dtype)
        rows = rng.integers(0, 300, int(rng.integers(0, 200)))
        many = SimpleNamespace(credit_ptr=ptr, credit_artist=artist)
        got = CatalogSnapshot.credited_artist_rows(many, rows)  # type: ignore[arg-type]
        for a, b in zip(got, _credits_reference(many, rows), strict=True):  # type: ignore[arg-type]
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype


def _features_reference(
    rec: PipelineRecommender, ctx: ListenerContext, cands: CandidateSet
) -> np.ndarray:
    """The previous per-track and per-source columns: one numpy step each (a candidate set
    without source matrices takes the per-source loop)."""
    fb = rec.features
    out = fb.build(ctx, CandidateSet(rows=cands.rows, ranks=cands.ranks, scores=cands.scores))
    col = {name: i for i, name in enumerate(fb.names)}
    cat = rec.catalog
    rows = cands.rows

    def lookup(known: np.ndarray, values: np.ndarray, keys: np.ndarray) -> np.ndarray:
        found = np.zeros(len(keys), dtype=np.float32)
        if not len(known):
            return found
        pos = np.minimum(np.searchsorted(known, keys), len(known) - 1)
        hit = known[pos] == keys
        found[hit] = values[pos[hit]]
        return found

    out[:, fb._static_cols] = fb._static[rows]
    artists, genres = cat.artist_row[rows], cat.genre_code[rows]
    out[:, col["artist_affinity"]] = lookup(ctx.artist_keys, ctx.artist_shares, artists)
    out[:, col["genre_affinity"]] = lookup(ctx.genre_keys, ctx.genre_shares, genres)
    emerging = cat.emerging_tracks(ctx.request.params.emerging_exposure_quantile)
    out[:, col["emerging"]] = emerging[rows]
    out[:, col["history_len"]] = np.log1p(len(ctx.history_rows))
    return out


def test_features_are_the_previous_ones_bit_for_bit(world: World) -> None:
    rec = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=world.store)
    checked = 0
    for request in _requests(world):
        ctx = rec.context(request)
        merged = rec.candidates(ctx)
        assert merged.columns is not None
        for cands in (merged, merged.subset(np.arange(0, len(merged), 3))):
            got = rec.features.build(ctx, cands)
            np.testing.assert_array_equal(got, _features_reference(rec, ctx, cands))
            checked += int(np.count_nonzero(got[:, rec.features.names.index("artist_affinity")]))
    assert checked > 0  # some candidates share an artist with the history
