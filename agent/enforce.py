"""The listener's constraints, applied after any plan: no plan can widen what was asked.

A planner (rules or an LLM) decides which tools run; whatever it did, the executor takes
the answer set through :func:`enforce_constraints`: the hard constraints parsed from the
listener's words (AI involvement, human-only, emerging, tempo, era and refused years,
exclusions), the
listener's blocked artists on every credit (through the backend's guardrail), the artists the
request itself excludes ("no Drake") on every credit, and ``k``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent.backend import TrackFacts
from agent.bus import Candidate
from agent.refine import FilterArgs, YearSpan, _keeps
from agent.request import Constraints
from agent.tools import ToolContext, facts_by_id


def constraint_filter(
    c: Constraints, *, source: str = "pool", into: str = "filtered"
) -> FilterArgs:
    """The ``filter_candidates`` arguments of a constraint set (genres are soft here; the
    rule planner relaxes them to ``relax_to``)."""
    return FilterArgs(
        source=source,
        into=into,
        genres=list(c.genres),
        exclude_tags=list(c.avoid),
        tempo_min=c.tempo_min,
        tempo_max=c.tempo_max,
        keep_unmeasured_tempo=c.tempo_soft,  # bounds from words: checked where measured
        year_min=c.year_min,
        year_max=c.year_max,
        exclude_years=[YearSpan(first=a, last=b) for a, b in c.exclude_years[:20]],
        human_only=c.human_only,
        no_ai_generated=c.no_ai_generated,
        no_ai_any=c.no_ai_any,
        no_ai_vocals=c.no_ai_vocals,
        new_artists_only=c.new_artists,
        exclude_artists=list(c.blocked_artist_ids[:50]),
    )


@dataclass(frozen=True, kw_only=True)
class Enforcement:
    """The answer after the constraints were re-applied, and what to tell the listener."""

    kept: list[Candidate]
    dropped: int
    no_tempo: int
    """Candidates the plan proposed that have no tempo (excluded under a tempo bound)."""
    notes: tuple[str, ...]


def enforce_constraints(
    ctx: ToolContext, c: Constraints, cands: Sequence[Candidate], k: int | None
) -> Enforcement:
    """Keep the candidates that meet every hard constraint and guardrail, at most ``k``."""
    allowed = set(ctx.backend.permitted([x.track_id for x in cands], ctx.listener_id))
    facts = facts_by_id(ctx, [x for x in cands if x.track_id in allowed])
    args = constraint_filter(c).model_copy(update={"genres": [], "relax_to": 0})
    kept: list[Candidate] = []
    seen: set[str] = set()
    blocked = set(c.blocked_artist_ids)

    def credits_blocked(f: TrackFacts) -> bool:
        # Every credit on the track, even one whose artist record the backend did not load.
        credited = {cr.artist_id for cr in f.track.credits} | {a.artist_id for a in f.artists}
        return bool(credited & blocked)

    for x in cands:
        f = facts.get(x.track_id)
        if f is None or x.track_id in seen or credits_blocked(f):
            continue
        if _keeps(f, args):
            kept.append(x)
            seen.add(x.track_id)
    dropped = len(cands) - len(kept)
    no_tempo = 0 if c.tempo_soft else sum(1 for f in facts.values() if f.tempo is None)
    if k is not None:
        kept = kept[:k]
    notes: list[str] = []
    if dropped:
        notes.append(f"{dropped} tracks the plan proposed did not meet your constraints")
    if c.blocked_names:
        notes.append("no track credits " + ", ".join(c.blocked_names) + " (you excluded them)")
    for name in c.unknown_artists:
        notes.append(f"'{name}' is not an artist in this catalog, so nothing was blocked for it")
    return Enforcement(kept=kept, dropped=dropped, no_tempo=no_tempo, notes=tuple(notes))


__all__ = ["Enforcement", "constraint_filter", "enforce_constraints"]
