"""The agent's tools: typed arguments (pydantic, so each has a JSON schema) and one guardrail.

Every tool that writes tracks to the bus passes them through :func:`guarded`, which asks the
backend which tracks may be shown to *the session's* listener. The listener comes from the
session, never from a tool argument, so a plan cannot borrow another listener's permissions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from agent.backend import DiscoveryBackend, TrackFacts
from agent.bus import Candidate, CandidateBus

SET_NAME = r"^[a-z][a-z0-9_]{0,31}$"
Term = Annotated[str, Field(min_length=1, max_length=500)]
"""One word, phrase, id or name in a tool's list argument."""
SetName = Annotated[str, Field(pattern=SET_NAME)]
"""The name of a working set."""


class ToolArgs(BaseModel):
    """Base of every tool's arguments: unknown fields are errors, docstrings are schemas."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)


@dataclass
class ToolContext:
    """What a tool runs against: the backend, the bus, and the session's listener."""

    backend: DiscoveryBackend
    bus: CandidateBus
    listener_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class ToolResult:
    """What a tool reports back: the set it wrote, its size, and a small JSON summary."""

    count: int
    wrote: str | None = None
    data: dict[str, Any] | None = None


def guarded(
    ctx: ToolContext, scored: Sequence[tuple[str, float]], reason: str, source: str
) -> list[Candidate]:
    """Keep only tracks the session's listener may be shown, with their scores, a reason and
    the source that proposed them."""
    allowed = set(ctx.backend.permitted([tid for tid, _ in scored], ctx.listener_id))
    return [
        Candidate(track_id=t, score=s, reasons=(reason,), sources=(source,))
        for t, s in scored
        if t in allowed
    ]


class SearchTracksArgs(ToolArgs):
    query: str = Field(min_length=1, max_length=500)
    """Free text: moods, genres, activities, descriptions."""
    k: int = Field(200, ge=1, le=1000)
    """How many tracks to keep."""
    into: str = Field("search", pattern=SET_NAME)
    """Working set to write."""


def search_tracks(ctx: ToolContext, args: SearchTracksArgs) -> ToolResult:
    """Search tracks by text (semantic search over titles, artists, tags and genres)."""
    hits = ctx.backend.search_text(args.query, args.k)
    n = ctx.bus.put(args.into, guarded(ctx, hits, f"matches '{args.query}'", "search"))
    return ToolResult(count=n, wrote=args.into)


class SimilarArgs(ToolArgs):
    seed_tracks: list[Term] = Field(default_factory=list, max_length=50)
    """Track ids or titles to start from."""
    seed_artists: list[Term] = Field(default_factory=list, max_length=20)
    """Artist ids or names to start from."""
    k: int = Field(200, ge=1, le=1000)
    """How many tracks to keep."""
    into: str = Field("similar", pattern=SET_NAME)
    """Working set to write."""


def similar(ctx: ToolContext, args: SimilarArgs) -> ToolResult:
    """Tracks similar to seed tracks or artists (the seeds themselves are left out)."""
    backend = ctx.backend
    seeds: list[str] = []
    names: list[str] = []
    for ref in args.seed_tracks:
        found = backend.facts([ref])
        tracks = [f.track for f in found] or backend.find_tracks(ref, limit=1)
        seeds += [t.track_id for t in tracks]
        names += [t.title for t in tracks]
    seed_artist_ids: set[str] = set()
    for ref in args.seed_artists:
        for artist in backend.find_artists(ref, limit=1):
            seed_artist_ids.add(artist.artist_id)
            seeds += backend.artist_track_ids(artist.artist_id)
            names.append(artist.name)
    if not seeds:
        ctx.bus.put(args.into, [])
        unresolved = [*args.seed_tracks, *args.seed_artists][:10]
        hint = (
            "no seed matched a track id, title, artist id or name; find one with "
            "search_tracks or label_lookup and pass its id"
            if unresolved
            else "give seed_tracks or seed_artists"
        )
        data = {"resolved": [], "unresolved": unresolved, "hint": hint}
        return ToolResult(count=0, wrote=args.into, data=data)
    hits = backend.similar_tracks(seeds, args.k + len(seeds))
    seed_set = set(seeds)
    hits = [(t, s) for t, s in hits if t not in seed_set][: args.k]
    if seed_artist_ids:
        facts = {f.track.track_id: f for f in backend.facts([t for t, _ in hits])}
        hits = [
            (t, s)
            for t, s in hits
            if t in facts and not seed_artist_ids & set(facts[t].track.artist_ids)
        ]
    label = ", ".join(names[:3])
    n = ctx.bus.put(args.into, guarded(ctx, hits, f"similar to {label}", "similar"))
    return ToolResult(count=n, wrote=args.into, data={"resolved": names[:10]})


class ListenerProfileArgs(ToolArgs):
    pass


def listener_profile(ctx: ToolContext, args: ListenerProfileArgs) -> ToolResult:
    """The session listener's taste: top genres, tags and artists, and their AI preference."""
    if ctx.listener_id is None:
        return ToolResult(count=0, data={"known": False})
    p = ctx.backend.profile(ctx.listener_id)
    data = {
        "known": p.known,
        "top_genres": list(p.top_genres),
        "top_tags": list(p.top_tags),
        "top_artists": list(p.top_artists),
        "ai_opt_out": p.ai_opt_out,
        "plays": p.plays,
    }
    return ToolResult(count=p.plays, data=data)


class PersonalArgs(ToolArgs):
    k: int = Field(100, ge=1, le=500)
    """How many tracks to keep."""
    into: str = Field("personal", pattern=SET_NAME)
    """Working set to write."""


def personal_recommendations(ctx: ToolContext, args: PersonalArgs) -> ToolResult:
    """The full recommendation pipeline's slate for the session listener."""
    if ctx.listener_id is None:
        ctx.bus.put(args.into, [])
        return ToolResult(count=0, wrote=args.into)
    rec = ctx.backend.recommend(ctx.listener_id, args.k)
    scored = [(item.track.track_id, item.score) for item in rec.items]
    by_id = {item.track.track_id: item for item in rec.items}
    cands = [
        Candidate(
            track_id=c.track_id,
            score=c.score,
            reasons=by_id[c.track_id].reasons or c.reasons,
            sources=tuple(dict.fromkeys(("personal", *by_id[c.track_id].sources))),
        )
        for c in guarded(ctx, scored, "picked for you", "personal")
    ]
    n = ctx.bus.put(args.into, cands)
    return ToolResult(count=n, wrote=args.into)


class MergeArgs(ToolArgs):
    sources: list[SetName] = Field(min_length=1, max_length=8)
    """Working sets to merge; a track in several sets scores higher."""
    into: str = Field("merged", pattern=SET_NAME)
    """Working set to write."""


def merge(ctx: ToolContext, args: MergeArgs) -> ToolResult:
    """Merge working sets by reciprocal-rank fusion, keeping every reason."""
    scores: dict[str, float] = {}
    reasons: dict[str, tuple[str, ...]] = {}
    sources: dict[str, tuple[str, ...]] = {}
    for name in args.sources:
        for rank, cand in enumerate(ctx.bus.get(name)):
            tid = cand.track_id
            scores[tid] = scores.get(tid, 0.0) + 1.0 / (60 + rank)
            reasons[tid] = tuple(dict.fromkeys(reasons.get(tid, ()) + cand.reasons))
            sources[tid] = tuple(dict.fromkeys(sources.get(tid, ()) + cand.sources))
    ordered = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    cands = [
        Candidate(track_id=t, score=s, reasons=reasons[t], sources=sources[t]) for t, s in ordered
    ]
    n = ctx.bus.put(args.into, cands)
    return ToolResult(count=n, wrote=args.into)


ToolFn = Callable[[ToolContext, Any], ToolResult]


def facts_by_id(ctx: ToolContext, cands: Sequence[Candidate]) -> dict[str, TrackFacts]:
    """Facts of the candidates' tracks, by id."""
    return {f.track.track_id: f for f in ctx.backend.facts([c.track_id for c in cands])}


__all__ = [
    "SET_NAME",
    "ListenerProfileArgs",
    "MergeArgs",
    "PersonalArgs",
    "SearchTracksArgs",
    "SetName",
    "SimilarArgs",
    "Term",
    "ToolArgs",
    "ToolContext",
    "ToolFn",
    "ToolResult",
    "facts_by_id",
    "guarded",
    "listener_profile",
    "merge",
    "personal_recommendations",
    "search_tracks",
    "similar",
]
