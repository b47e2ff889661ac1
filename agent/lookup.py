"""Tools that describe tracks: explanations for a listener, AI labels and credits."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from agent.backend import TrackFacts
from agent.tools import ToolArgs, ToolContext, ToolResult


def label_card(f: TrackFacts) -> dict[str, Any]:
    """The label and credits of a track, as shown to listeners (never without them)."""
    p = f.track.provenance
    names = {a.artist_id: a.name for a in f.artists}
    kinds = {a.artist_id: a.kind.value for a in f.artists}
    return {
        "track_id": f.track.track_id,
        "title": f.track.title,
        "artists": [a.name for a in f.artists],
        "genre": f.track.genre,
        "tags": list(f.track.tags),
        "duration_ms": f.track.duration_ms,
        "release_date": f.track.release_date.isoformat() if f.track.release_date else None,
        "tempo_bpm": round(f.tempo, 1) if f.tempo is not None else None,
        "ai_label": {
            "involvement": p.ai_involvement.value,
            "parts": [x.value for x in p.ai_parts],
            "source": p.label_source.value,
            "confidence": round(p.confidence, 3),
            "references_artist_ids": list(p.references_artist_ids),
        },
        "credits": [
            {
                "artist_id": c.artist_id,
                "name": names.get(c.artist_id, c.artist_id),
                "kind": kinds.get(c.artist_id, "unknown"),
                "role": c.role.value,
                "share": c.share,
            }
            for c in f.track.credits
        ],
    }


class ExplainArgs(ToolArgs):
    track_id: str = Field(min_length=1, max_length=200)
    """The track to explain."""


def explain_track(ctx: ToolContext, args: ExplainArgs) -> ToolResult:
    """Why a track suits the session listener: shared genres, tags and artists."""
    allowed = ctx.backend.permitted([args.track_id], ctx.listener_id)
    facts = ctx.backend.facts(allowed)
    if not facts:
        return ToolResult(count=0, data={"track_id": args.track_id, "available": False})
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
    track_ids: list[str] = Field(min_length=1, max_length=100)
    """Tracks to look up."""


def label_lookup(ctx: ToolContext, args: LabelArgs) -> ToolResult:
    """AI-involvement label and credits of tracks the listener may see."""
    allowed = ctx.backend.permitted(args.track_ids, ctx.listener_id)
    cards = [label_card(f) for f in ctx.backend.facts(allowed)]
    return ToolResult(count=len(cards), data={"tracks": cards})


__all__ = ["ExplainArgs", "LabelArgs", "explain_track", "label_card", "label_lookup"]
