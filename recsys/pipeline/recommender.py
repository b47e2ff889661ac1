"""The full recommendation pipeline: candidates → hard filters → features → rerank → policy.

Each stage is timed into ``Recommendation.stage_ms``; every served slate is logged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from recsys.domain import Artist, Listener, ServedSlate, SlateItem, Track
from recsys.pipeline.api import Recommendation, RecommendedItem, RecommendRequest
from recsys.pipeline.candidates import (
    CandidateSet,
    CandidateSource,
    ExternalScorer,
    default_sources,
    merge_candidates,
)
from recsys.pipeline.catalog import AI_GENERATED, CatalogSnapshot
from recsys.pipeline.context import ListenerContext, SpacesView, build_context
from recsys.pipeline.features import FeatureBuilder
from recsys.pipeline.filters import HardFilters
from recsys.pipeline.first_stage import first_stage
from recsys.pipeline.policy import ArtistFirstPolicy, ReasonWriter, Slate
from recsys.pipeline.query import QueryAssessment, QueryStage, QueryStageConfig
from recsys.pipeline.reranker import PLAIN_SUFFIX, LinearScorer, Scorer, align
from recsys.pipeline.search_cache import SearchCache
from recsys.pipeline.slate_log import SlateLogger
from recsys.pipeline.track_facts import AudioFactsTable
from recsys.store import Store
from recsys.store.base import EventHistory

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

EVENTS_PER_REQUEST = 300
"""Most recent events read per request (history, recent plays, dislikes)."""

RANKED_CACHE_ENTRIES = 256
"""Requests whose ranked candidates :attr:`PipelineRecommender.ranked_cache` keeps (about
165 KB each at the service benchmark's quotas: the features, scores, the candidates' fused
vectors and the history's vectors; ~42 MB per process when full)."""

_RANKED_STAGES = ("candidates", "filters", "features", "rerank")


@dataclass(frozen=True, kw_only=True, eq=False)
class _Ranked:
    """What the policy chooses a slate from: the request's context, its filtered and
    first-stage candidates with the query stage's assessment, their features, the fused
    vectors the features gathered, and the reranker's (query-adjusted) scores."""

    ctx: ListenerContext
    cands: CandidateSet
    assessment: QueryAssessment
    feats: np.ndarray
    scores: np.ndarray
    fused: np.ndarray | None
    blocked: np.ndarray
    """The filters' blocked mask these were computed with (held here so its ``id`` in the
    cache key is never reused by a newer mask while the entry lives)."""


@dataclass
class TrackLookup:
    """Tracks and artists by id from the store, for the agent's tools (served items read the
    store on every request, see ``PipelineRecommender._served_records``).

    Reads are batched: :meth:`tracks` and :meth:`artists` make one store read for all the ids
    given. With the default ``ttl_seconds`` of 0 every call reads the store, so a label changed
    through any replica shows at the next call; a positive ``ttl_seconds`` caches records that
    long (stale labels for that long: only for callers that may show them).
    """

    store: Store
    ttl_seconds: float = 0.0
    max_cached: int = 100_000
    _tracks: dict[str, tuple[float, Track | None]] = field(default_factory=dict)
    _artists: dict[str, tuple[float, Artist | None]] = field(default_factory=dict)

    def track(self, track_id: str) -> Track | None:
        return self.tracks((track_id,)).get(track_id)

    def artist(self, artist_id: str) -> Artist | None:
        return self.artists((artist_id,)).get(artist_id)

    def tracks(self, track_ids: Iterable[str]) -> dict[str, Track]:
        """The stored tracks among ``track_ids`` by id, in one store read."""
        return self._many(self._tracks, self.store.get_tracks, track_ids)

    def artists(self, artist_ids: Iterable[str]) -> dict[str, Artist]:
        """The stored artists among ``artist_ids`` by id, in one store read."""
        return self._many(self._artists, self.store.get_artists, artist_ids)

    def _many(
        self,
        cache: dict[str, tuple[float, _T | None]],
        read: Callable[[list[str]], dict[str, _T]],
        ids: Iterable[str],
    ) -> dict[str, _T]:
        wanted = list(dict.fromkeys(ids))
        if self.ttl_seconds <= 0:
            return read(wanted) if wanted else {}
        now = time.monotonic()
        found: dict[str, _T] = {}
        stale: list[str] = []
        for i in wanted:
            hit = cache.get(i)
            if hit is None or now - hit[0] > self.ttl_seconds:
                stale.append(i)
            elif hit[1] is not None:
                found[i] = hit[1]
        if stale:
            fresh = read(stale)
            if len(cache) + len(stale) > self.max_cached:
                cache.clear()
            for i in stale:
                cache[i] = (now, fresh.get(i))
            found.update(fresh)
        return found


def is_plain(request: RecommendRequest) -> bool:
    """Whether a request carries neither a query nor seed tracks: the plain reranker's
    requests (:meth:`PipelineRecommender.scorer`)."""
    return not request.query.strip() and not request.context_track_ids


class PipelineRecommender:
    """Serves slates through the full pipeline.

    Args:
        spaces: the embedding spaces (``EmbeddingSpaces`` or anything shaped like it).
        catalog: the catalog snapshot aligned with ``spaces.track_ids``.
        store: catalog, listeners, events, live consent and quarantine, slate log.
        scorers: rerankers by model id (``PolicyParams.reranker_model_id`` picks one); a
            missing id falls back to ``default``, then to a linear scorer.
        sources: candidate sources; default :func:`default_sources`.
        external: collaborative scorers added as sources and features.
        slate_logger: where served slates go; None logs nothing.
        query_config: thresholds of the query stage (its weights are in ``PolicyParams``).
        audio_facts: measured tempo, key, loudness and energy by catalog row, shown on items.

    Example:
        rec = load_recommender(Path("var/artifacts"), store, LinerSettings())
        slate = rec.recommend(RecommendRequest(listener_id="u1", k=10))
    """

    def __init__(
        self,
        *,
        spaces: SpacesView,
        catalog: CatalogSnapshot,
        store: Store,
        scorers: Mapping[str, Scorer] | None = None,
        sources: Sequence[CandidateSource] | None = None,
        external: Sequence[ExternalScorer] = (),
        slate_logger: SlateLogger | None = None,
        query_config: QueryStageConfig | None = None,
        audio_facts: AudioFactsTable | None = None,
    ) -> None:
        self.spaces = spaces
        self.audio_facts = audio_facts or AudioFactsTable({})
        self.catalog = catalog
        self.store = store
        self.query_stage = QueryStage(catalog, spaces, query_config or QueryStageConfig())
        self.sources = list(
            sources or default_sources(spaces, catalog, external, query=self.query_stage)
        )
        self.source_names = tuple(s.name for s in self.sources)
        self.features = FeatureBuilder(spaces, catalog, self.source_names)
        self.filters = HardFilters(catalog, store)
        self.policy = ArtistFirstPolicy(catalog, spaces)
        self.lookup = TrackLookup(store)
        self.scorers = dict(scorers or {})
        self.fallback = LinearScorer(feature_names=self.features.names)
        self.slate_logger = slate_logger
        self.ranked_cache = SearchCache(max_entries=RANKED_CACHE_ENTRIES)
        """Exact cache of the ranked candidates (:class:`_Ranked`) by everything they are
        computed from: the listener's record and the events read for this request, the
        request's slate size, parameters, query, seeds and filters, the filters' blocked
        mask (a new mask whenever consent or the integrity holds change) and the reranker.
        A listener asking again with nothing changed skips the candidates, filters,
        features and reranker; the policy, the store's track records and the reasons run
        on every request. ``max_entries = 0`` turns it off."""

    def scorer(self, model_id: str, *, plain: bool = False) -> Scorer:
        """The reranker for ``model_id``, falling back to ``default`` then linear. A ``plain``
        request (neither a query nor seeds, :func:`is_plain`) gets that model's
        ``<id>-plain`` twin when the build trained one (learned from listener examples alone:
        the query and seed examples do not shape the ranking of plain requests)."""
        found_id = model_id if model_id in self.scorers else "default"
        if plain and (twin := self.scorers.get(found_id + PLAIN_SUFFIX)) is not None:
            return twin
        found = self.scorers.get(found_id)
        return found if found is not None else self.fallback

    def context(self, request: RecommendRequest) -> ListenerContext:
        """Resolve the request against the store (listener, recent events)."""
        return self._context(request, *self._listener_state(request))

    def _listener_state(self, request: RecommendRequest) -> tuple[Listener | None, EventHistory]:
        """The listener's record and recent events, read from the store."""
        limit = max(EVENTS_PER_REQUEST, request.params.recent_play_exclusion)
        return (
            self.store.get_listener(request.listener_id),
            self.store.listener_history(request.listener_id, limit=limit),
        )

    def _context(
        self, request: RecommendRequest, listener: Listener | None, history: EventHistory
    ) -> ListenerContext:
        return build_context(
            request, listener=listener, events=history, catalog=self.catalog, spaces=self.spaces
        )

    def candidates(self, ctx: ListenerContext) -> CandidateSet:
        """Run every source and merge their proposals."""
        return merge_candidates([s.propose(ctx) for s in self.sources], self.source_names)

    def recommend(self, request: RecommendRequest) -> Recommendation:
        """Serve one slate (see the module docstring for the stages)."""
        stage_ms: dict[str, float] = {}
        t = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal t
            now = time.perf_counter()
            stage_ms[name] = (now - t) * 1000.0
            t = now

        listener, history = self._listener_state(request)
        blocked = self.filters.blocked_mask()
        scorer = self.scorer(request.params.reranker_model_id, plain=is_plain(request))
        if self.ranked_cache.max_entries > 0:
            key = _ranked_key(request, listener, history, blocked, scorer)
            ranked = self.ranked_cache.memo(
                key, lambda: self._rank(request, listener, history, blocked, scorer, lap)
            )
            if ranked.ctx.request is not request:  # (a hit: this request's own context)
                lap("context")
                for name in _RANKED_STAGES:
                    stage_ms[name] = 0.0
                own = listener or Listener(listener_id=request.listener_id)
                ctx = dataclasses.replace(ranked.ctx, request=request, listener=own)
                ranked = dataclasses.replace(ranked, ctx=ctx)
        else:
            ranked = self._rank(request, listener, history, blocked, scorer, lap)
        ctx, cands, feats, scores = ranked.ctx, ranked.cands, ranked.feats, ranked.scores
        slate = self.policy.select(ctx, cands, scores, vecs=ranked.fused)
        reasons, tracks, artists = self._served_records(ctx, cands, slate)
        contributions: Sequence[dict[str, float]] = []
        if request.explain:
            x = align(feats, self.features.names, scorer.feature_names)
            contributions = scorer.explain(x[slate.picks])
        items, kept = self._items(
            ctx, cands, slate.picks, slate.scores, reasons, contributions, tracks, artists
        )
        lap("policy")
        # Items dropped after the draw make the logged probabilities wrong: log none then.
        whole = len(kept) == len(slate.picks)
        self._log(request, items, feats, kept, slate.propensities if whole else None)
        stage_ms["total"] = sum(stage_ms.values())
        logger.info(
            "recommend request=%s listener=%s variant=%s candidates=%d items=%d ms=%.2f",
            request.request_id,
            request.listener_id,
            request.variant,
            len(cands),
            len(items),
            stage_ms["total"],
        )
        return Recommendation(
            request_id=request.request_id,
            listener_id=request.listener_id,
            variant=request.variant,
            items=tuple(items),
            stage_ms=stage_ms,
            notes=ranked.assessment.notes,
        )

    def _rank(
        self,
        request: RecommendRequest,
        listener: Listener | None,
        history: EventHistory,
        blocked: np.ndarray,
        scorer: Scorer,
        lap: Callable[[str], None],
    ) -> _Ranked:
        """The stages before the policy: context, candidates, hard filters (with ``blocked``,
        the mask read for this request), the query stage, the first stage, the features
        and the reranker."""
        ctx = self._context(request, listener, history)
        lap("context")
        cands = self.candidates(ctx)
        lap("candidates")
        cands = cands.subset(np.flatnonzero(self.filters.keep(ctx, cands.rows, blocked=blocked)))
        assessment = self.query_stage.assess(ctx, cands.rows)
        if not assessment.keep.all():  # (a subset keeping all would copy every column)
            kept = np.flatnonzero(assessment.keep)
            cands, assessment = cands.subset(kept), assessment.subset(kept)
        pool = first_stage(cands, request.params.rerank_pool, request.k)
        if pool is not None:
            cands, assessment = cands.subset(pool), assessment.subset(pool)
        lap("filters")
        gathered: dict[str, np.ndarray] = {}
        feats = self.features.build(ctx, cands, gathered)
        lap("features")
        x = align(feats, self.features.names, scorer.feature_names)
        scores = self.query_stage.adjust(ctx, scorer.score(x), assessment)
        lap("rerank")
        return _Ranked(
            ctx=ctx,
            cands=cands,
            assessment=assessment,
            feats=feats,
            scores=scores,
            fused=gathered.get("fused"),
            blocked=blocked,
        )

    def _served_records(
        self, ctx: ListenerContext, cands: CandidateSet, slate: Slate
    ) -> tuple[list[tuple[str, ...]], dict[str, Track], dict[str, Artist]]:
        """The reasons of each pick, and the store's records of the picked tracks, of the
        tracks the reasons name and of the picked tracks' artists.

        Two store reads per request whatever the slate size (the tracks, then their artists),
        fresh on every request: a label or credit change made through any replica shows at the
        next request. Reasons name seeds and plays by title: they are found once as templates
        with the rows they name, whose titles come with the picked tracks' read.
        """
        track_ids = self.catalog.track_ids
        writer = ReasonWriter(self.catalog, self.spaces)
        templates = writer.templates(ctx, cands, slate)
        named = writer.named_rows(templates)
        picked = [str(track_ids[r]) for r in cands.rows[slate.picks]]
        tracks = self.store.get_tracks([*picked, *(str(track_ids[r]) for r in named)])
        artists = self.store.get_artists(
            a for tid in picked if (t := tracks.get(tid)) is not None for a in t.artist_ids
        )

        def title(row: int) -> str:
            track = tracks.get(str(track_ids[row]))
            return f"'{track.title}'" if track is not None else str(track_ids[row])

        return writer.fill(templates, title), tracks, artists

    def _items(
        self,
        ctx: ListenerContext,
        cands: CandidateSet,
        picks: np.ndarray,
        scores: np.ndarray,
        reasons: Sequence[tuple[str, ...]],
        contributions: Sequence[dict[str, float]],
        tracks: Mapping[str, Track],
        artists: Mapping[str, Artist],
    ) -> tuple[list[RecommendedItem], np.ndarray]:
        items: list[RecommendedItem] = []
        kept: list[int] = []
        for i, j in enumerate(picks.tolist()):
            tid = str(self.catalog.track_ids[cands.rows[j]])
            track = tracks.get(tid)
            if track is None:
                logger.warning("track %s is in the artifacts but not in the store; skipped", tid)
                continue
            # The snapshot's label may be older than the store's: a track relabelled as
            # AI-generated since the artifacts loaded was not counted against the AI cap or
            # the opt-out, so it is left out until the next reload.
            live_generated = track.provenance.is_ai_generated
            if live_generated and self.catalog.ai_code[cands.rows[j]] != AI_GENERATED:
                continue
            items.append(
                RecommendedItem(
                    track=track,
                    artists=tuple(artists[a] for a in track.artist_ids if a in artists),
                    position=len(items),
                    score=float(scores[i]),
                    reasons=reasons[i],
                    contributions=contributions[i] if contributions else {},
                    sources=cands.sources_of(j),
                    audio=self.audio_facts.of_row(int(cands.rows[j])),
                )
            )
            kept.append(j)
        return items, np.asarray(kept, dtype=np.int64)

    def _log(
        self,
        request: RecommendRequest,
        items: Sequence[RecommendedItem],
        feats: np.ndarray,
        picks: np.ndarray,
        propensities: np.ndarray | None = None,
    ) -> None:
        if self.slate_logger is None:
            return
        names = self.features.names
        slate_items = []
        probs: list[float | None] = (
            [None] * len(items) if propensities is None else propensities.tolist()
        )
        for item, j, prob in zip(items, picks.tolist(), probs, strict=True):
            slate_items.append(
                SlateItem(
                    track_id=item.track.track_id,
                    position=item.position,
                    score=item.score,
                    features=dict(zip(names, feats[j].tolist(), strict=True)),
                    sources=item.sources,
                    propensity=prob,
                )
            )
        self.slate_logger.log(
            ServedSlate(
                request_id=request.request_id,
                listener_id=request.listener_id,
                surface=request.surface,
                variant=request.variant,
                served_at=dt.datetime.now(dt.UTC),
                items=tuple(slate_items),
                ai_features=request.surface == "agent",
                propensity=None if propensities is None else float(np.prod(propensities)),
            )
        )

    def close(self) -> None:
        """Flush the slate log."""
        if self.slate_logger is not None:
            self.slate_logger.close()


def _ranked_key(
    request: RecommendRequest,
    listener: Listener | None,
    history: EventHistory,
    blocked: np.ndarray,
    scorer: Scorer,
) -> tuple[object, ...]:
    """Everything :meth:`PipelineRecommender._rank` depends on besides the recommender's own
    artifacts: the listener's record (what the stages read of it) and events as read, what
    of the request shapes the candidates and their scores (not its id, surface, variant
    label or ``explain``), the blocked mask (by identity: a new array whenever consent or
    holds change) and the reranker (by identity: a reload builds a new recommender and
    cache)."""
    return (
        request.listener_id,
        None
        if listener is None
        else (listener.listener_id, listener.ai_preference, tuple(listener.blocked_artist_ids)),
        tuple(history.track_ids),
        tuple(history.event_types),
        tuple(history.weights),
        request.k,
        request.params,
        request.query,
        request.context_track_ids,
        request.filters,
        id(blocked),
        id(scorer),
    )


__all__ = ["EVENTS_PER_REQUEST", "RANKED_CACHE_ENTRIES", "PipelineRecommender", "TrackLookup"]
