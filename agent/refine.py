"""Tools that narrow and order a working set: filter by constraints, rank by preferences."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from pydantic import Field

from agent.backend import TrackFacts
from agent.bus import Candidate
from agent.tools import SET_NAME, Term, ToolArgs, ToolContext, ToolResult, facts_by_id
from recsys.domain import AiInvolvement, AiPart


class YearSpan(ToolArgs):
    first: int = Field(ge=1000, le=2100)
    """First release year refused."""
    last: int = Field(ge=1000, le=2100)
    """Last release year refused (included)."""


class FilterArgs(ToolArgs):
    source: str = Field(pattern=SET_NAME)
    """Working set to read."""
    into: str = Field("filtered", pattern=SET_NAME)
    """Working set to write."""
    genres: list[Term] = Field(default_factory=list, max_length=20)
    """Keep tracks of any of these genres (or carrying them as tags)."""
    tags: list[Term] = Field(default_factory=list, max_length=20)
    """Keep tracks carrying any of these tags (or of these genres)."""
    exclude_tags: list[Term] = Field(default_factory=list, max_length=20)
    """Drop tracks carrying any of these tags or genres."""
    tempo_min: float | None = Field(None, ge=20, le=300)
    """Slowest tempo in BPM (tracks of unknown tempo are dropped)."""
    tempo_max: float | None = Field(None, ge=20, le=300)
    """Fastest tempo in BPM (tracks of unknown tempo are dropped)."""
    keep_unmeasured_tempo: bool = False
    """Keep tracks of unknown tempo under the tempo bounds (bounds implied by words such as
    "upbeat"; a bound given as a figure drops them)."""
    year_min: int | None = Field(None, ge=1900, le=2100)
    """Earliest release year (tracks of unknown year are dropped)."""
    year_max: int | None = Field(None, ge=1900, le=2100)
    """Latest release year (tracks of unknown year are dropped)."""
    exclude_years: list[YearSpan] = Field(default_factory=list, max_length=20)
    """Drop tracks released in any of these spans ("no 80s": 1980-1989); tracks of unknown
    year are dropped too."""
    min_duration_s: int | None = Field(None, ge=0, le=7200)
    """Shortest length in seconds."""
    max_duration_s: int | None = Field(None, ge=0, le=7200)
    """Longest length in seconds."""
    human_only: bool = False
    """Only tracks by human artists with no AI generation."""
    no_ai_generated: bool = False
    """Drop fully AI-generated tracks."""
    no_ai_any: bool = False
    """Only tracks labelled with no AI involvement at all."""
    no_ai_vocals: bool = False
    """Drop tracks whose vocals AI made or helped with, and fully AI-generated tracks."""
    new_artists_only: bool = False
    """Only emerging artists."""
    exclude_artists: list[Term] = Field(default_factory=list, max_length=50)
    """Artist ids or names to drop."""
    relax_to: int = Field(0, ge=0, le=1000)
    """If fewer than this many meet the genre/tag constraint, append tracks that meet every
    other constraint after them (the other constraints are never relaxed)."""


def _matches_genre(f: TrackFacts, a: FilterArgs) -> bool:
    labels = {t.casefold() for t in f.track.tags} | {f.track.genre.casefold()}
    wanted = {t.casefold() for t in a.genres + a.tags}
    return not wanted or bool(labels & wanted)


def _keeps(f: TrackFacts, a: FilterArgs) -> bool:
    labels = {t.casefold() for t in f.track.tags} | {f.track.genre.casefold()}
    ai = f.track.provenance.ai_involvement
    # A bound on a fact the track does not have drops it: the listener asked for the bound.
    checks = (
        not labels & {t.casefold() for t in a.exclude_tags},
        a.tempo_min is None
        or (f.tempo is None and a.keep_unmeasured_tempo)
        or (f.tempo is not None and f.tempo >= a.tempo_min),
        a.tempo_max is None
        or (f.tempo is None and a.keep_unmeasured_tempo)
        or (f.tempo is not None and f.tempo <= a.tempo_max),
        a.year_min is None or (f.year is not None and f.year >= a.year_min),
        a.year_max is None or (f.year is not None and f.year <= a.year_max),
        not a.exclude_years
        or (
            f.year is not None
            and not any(span.first <= f.year <= span.last for span in a.exclude_years)
        ),
        a.min_duration_s is None or f.track.duration_ms >= a.min_duration_s * 1000,
        a.max_duration_s is None or f.track.duration_ms <= a.max_duration_s * 1000,
        not a.human_only or f.is_human,
        not (a.no_ai_generated or a.no_ai_vocals) or ai is not AiInvolvement.GENERATED,
        not a.no_ai_any or ai is AiInvolvement.NONE,
        not a.no_ai_vocals or AiPart.VOCALS not in f.track.provenance.ai_parts,
        not a.new_artists_only or f.emerging,
    )
    if not all(checks):
        return False
    banned = {x.casefold() for x in a.exclude_artists}
    return not any(
        x.artist_id.casefold() in banned or x.name.casefold() in banned for x in f.artists
    )


def filter_candidates(ctx: ToolContext, args: FilterArgs) -> ToolResult:
    """Keep the candidates that meet every constraint, in their current order."""
    cands = ctx.bus.get(args.source)
    facts = facts_by_id(ctx, cands)
    passing = [c for c in cands if c.track_id in facts and _keeps(facts[c.track_id], args)]
    kept = [c for c in passing if _matches_genre(facts[c.track_id], args)]
    relaxed = len(kept) < args.relax_to
    if relaxed:
        kept += [c for c in passing if not _matches_genre(facts[c.track_id], args)]
    n = ctx.bus.put(args.into, kept)
    data: dict[str, object] = {"dropped": len(cands) - n, "relaxed": relaxed}
    if (args.tempo_min is not None or args.tempo_max is not None) and not (
        args.keep_unmeasured_tempo
    ):
        data["no_tempo"] = sum(1 for f in facts.values() if f.tempo is None)
    if args.year_min is not None or args.year_max is not None or args.exclude_years:
        data["no_year"] = sum(1 for f in facts.values() if f.year is None)
    return ToolResult(count=n, wrote=args.into, data=data)


class RankArgs(ToolArgs):
    source: str = Field(pattern=SET_NAME)
    """Working set to read."""
    into: str = Field("ranked", pattern=SET_NAME)
    """Working set to write."""
    prefer: list[Term] = Field(default_factory=list, max_length=20)
    """Words the listener wants more of (moods, genres, activities)."""
    avoid: list[Term] = Field(default_factory=list, max_length=20)
    """Words the listener wants less of."""
    novelty: float = Field(0.0, ge=0.0, le=1.0)
    """0 favours familiar, popular tracks; 1 favours little-known ones."""
    human_boost: float = Field(0.1, ge=0.0, le=0.5)
    """Bounded boost for human artists, as in the pipeline's policy."""
    max_per_artist: int = Field(2, ge=1, le=5)
    """At most this many tracks per artist."""
    k: int = Field(10, ge=1, le=100)
    """How many tracks to keep."""


def _rank_scores(ctx: ToolContext, args: RankArgs, cands: list[Candidate]) -> np.ndarray:
    base = np.array([c.score for c in cands], dtype=np.float64)
    spread = base.max() - base.min() if len(base) else 0.0
    score = (base - base.min()) / spread if spread > 0 else np.ones_like(base)
    ids = [c.track_id for c in cands]
    terms = args.prefer + args.avoid
    if terms:
        sims = ctx.backend.term_similarity(ids, terms)
        n_pref = len(args.prefer)
        if n_pref:
            score = score + 1.5 * sims[:, :n_pref].max(axis=1)
        if args.avoid:
            score = score - 1.5 * np.clip(sims[:, n_pref:].max(axis=1), 0.0, None)
    facts = facts_by_id(ctx, cands)
    pop = np.array([facts[t].popularity if t in facts else 0.0 for t in ids])
    if len(pop) and pop.max() > 0:
        pop = np.log1p(pop * 1e4) / np.log1p(pop.max() * 1e4)
        score = score + 0.3 * ((1 - args.novelty) * pop - args.novelty * pop)
    human = np.array([facts[t].is_human if t in facts else False for t in ids], dtype=np.float64)
    return np.asarray(score * (1 + args.human_boost * human))


def rank_candidates(ctx: ToolContext, args: RankArgs) -> ToolResult:
    """Order candidates by fit to preferences and dislikes, with a per-artist limit."""
    cands = ctx.bus.get(args.source)
    if not cands:
        ctx.bus.put(args.into, [])
        return ToolResult(count=0, wrote=args.into)
    score = _rank_scores(ctx, args, cands)
    facts = facts_by_id(ctx, cands)
    order = np.lexsort((np.arange(len(cands)), -score))
    per_artist: dict[str, int] = {}
    kept: list[Candidate] = []
    for i in order:
        cand = cands[int(i)]
        artist = facts[cand.track_id].track.primary_artist_id if cand.track_id in facts else None
        key = artist or cand.track_id
        if per_artist.get(key, 0) >= args.max_per_artist:
            continue
        per_artist[key] = per_artist.get(key, 0) + 1
        kept.append(replace(cand, score=float(score[i])))
        if len(kept) == args.k:
            break
    n = ctx.bus.put(args.into, kept)
    return ToolResult(count=n, wrote=args.into)


__all__ = ["FilterArgs", "RankArgs", "YearSpan", "filter_candidates", "rank_candidates"]
