"""Tools that describe tracks: explanations for a listener, AI labels and credits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pydantic import Field

from agent.backend import TrackFacts
from agent.tools import Term, ToolArgs, ToolContext, ToolResult
from recsys.pipeline.api import RecommendedItem


def served_item(
    f: TrackFacts,
    *,
    position: int = 0,
    score: float = 0.0,
    reasons: Sequence[str] = (),
    sources: Sequence[str] = (),
) -> RecommendedItem:
    """A track as served: the same :class:`RecommendedItem` a ``Recommend`` slate holds (track
    facts, AI label with references, credited artists, measured audio facts)."""
    audio = f.audio
    if audio.tempo_bpm is None and f.tempo is not None:
        audio = replace(audio, tempo_bpm=round(f.tempo, 1))
    return RecommendedItem(
        track=f.track,
        artists=f.artists,
        position=position,
        score=score,
        reasons=tuple(reasons),
        sources=tuple(sources),
        audio=audio,
    )


def item_card(item: RecommendedItem) -> dict[str, Any]:
    """The JSON of a served item, exactly as ``Recommend``, ``Converse``, `liner agent --json`
    and the MCP tools show it (:func:`recsys.api.answers.item_json` of the API message)."""
    from recsys.api.answers import item_json
    from recsys.service.convert import item_pb

    return item_json(item_pb(item))


def label_card(f: TrackFacts) -> dict[str, Any]:
    """The item JSON of a track (label, credits, facts) outside any slate."""
    return item_card(served_item(f))


class ExplainArgs(ToolArgs):
    track_id: str = Field(min_length=1, max_length=200)
    """The track to explain."""


def explain_track(ctx: ToolContext, args: ExplainArgs) -> ToolResult:
    """Why a track suits the session listener: shared genres, tags and artists."""
    allowed = ctx.backend.permitted([args.track_id], ctx.listener_id)
    facts = ctx.backend.facts(allowed)
    if not facts:
        # One reason for both cases: whether a held track exists is not the listener's to learn.
        why = "no track with this id can be shown to this listener (unknown, or held back)"
        data = {"track_id": args.track_id, "available": False, "why": why}
        return ToolResult(count=0, data=data)
    f = facts[0]
    reasons: list[str] = []
    if ctx.listener_id is not None:
        p = ctx.backend.profile(ctx.listener_id)
        tags = {t.casefold() for t in f.track.tags}
        shared = [t for t in p.top_tags if t.casefold() in tags]
        if f.track.genre and f.track.genre in p.top_genres:
            reasons.append(f"you often play {f.track.genre}")
        if shared:
            reasons.append("shares " + ", ".join(shared[:3]) + " with what you play")
        names = {a.name for a in f.artists}
        if names & set(p.top_artists):
            reasons.append("by an artist you play")
    if f.emerging:
        reasons.append("a new human artist" if f.is_human else "a new artist")
    return ToolResult(count=1, data={**label_card(f), "reasons": reasons, "available": True})


class LabelArgs(ToolArgs):
    track_ids: list[Term] = Field(min_length=1, max_length=100)
    """Tracks to look up."""


def label_lookup(ctx: ToolContext, args: LabelArgs) -> ToolResult:
    """AI-involvement label and credits of tracks the listener may see."""
    allowed = ctx.backend.permitted(args.track_ids, ctx.listener_id)
    cards = [label_card(f) for f in ctx.backend.facts(allowed)]
    return ToolResult(count=len(cards), data={"tracks": cards})


__all__ = [
    "ExplainArgs",
    "LabelArgs",
    "explain_track",
    "item_card",
    "label_card",
    "label_lookup",
    "served_item",
]
