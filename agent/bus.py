"""The candidate bus: named working sets that tools read and write.

Large candidate lists stay here; a planner only ever sees set names and counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from agent.errors import PlanError


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """A track in a working set, with the score and reasons the tools gave it and the
    sources (tools) that proposed it."""

    track_id: str
    score: float = 0.0
    reasons: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


@dataclass
class CandidateBus:
    """Working sets by name, in insertion order of their items."""

    sets: dict[str, list[Candidate]] = field(default_factory=dict)

    def put(self, name: str, candidates: Iterable[Candidate]) -> int:
        """Replace set ``name``; returns its size. Repeated tracks keep their first entry."""
        seen: dict[str, Candidate] = {}
        for cand in candidates:
            seen.setdefault(cand.track_id, cand)
        self.sets[name] = list(seen.values())
        return len(self.sets[name])

    def get(self, name: str) -> list[Candidate]:
        """Set ``name``, or a PlanError listing the sets that exist."""
        if name not in self.sets:
            have = ", ".join(sorted(self.sets)) or "none yet"
            raise PlanError(
                f"no working set named '{name}' (sets so far: {have}). Fix: write it first "
                f"(search_tracks, similar or personal_recommendations with into='{name}'), or "
                "read a set that exists"
            )
        return self.sets[name]

    def names(self) -> list[str]:
        """Names of the sets written so far."""
        return list(self.sets)


__all__ = ["Candidate", "CandidateBus"]
