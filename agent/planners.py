"""Planners turn a message into a plan. The rule-based one is the default: deterministic, fast,
and needs no LLM."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from agent.enforce import constraint_filter
from agent.plan import Plan, Step
from agent.request import Constraints

if TYPE_CHECKING:
    from recsys.settings import LinerSettings


class Planner(Protocol):
    """Anything that plans: rule-based, or an LLM through chat completions."""

    name: str

    def plan(self, message: str, constraints: Constraints, listener_known: bool, k: int) -> Plan:
        """A plan for one turn."""
        ...


class RulePlanner:
    """Plans from parsed constraints: gather candidates from every relevant source, merge,
    filter by hard constraints, rank by soft preferences.

    Example:
        >>> plan = RulePlanner().plan("upbeat indie", Constraints(prefer=("indie",)), True, 10)
    """

    name = "rules"

    def plan(self, message: str, constraints: Constraints, listener_known: bool, k: int) -> Plan:
        c = constraints
        steps: list[Step] = []
        sources: list[str] = []
        if c.like:
            steps.append(
                Step(
                    tool="similar",
                    args={
                        "seed_tracks": list(c.like),
                        "seed_artists": list(c.like),
                        "k": 300,
                        "into": "similar",
                    },
                )
            )
            sources.append("similar")
        query = " ".join(dict.fromkeys(c.genres + c.prefer)) or c.text
        if query.strip() and (c.genres or c.prefer or not c.like):
            steps.append(
                Step(tool="search_tracks", args={"query": query[:500], "k": 400, "into": "search"})
            )
            sources.append("search")
        if listener_known:
            steps.append(Step(tool="personal_recommendations", args={"k": 200, "into": "personal"}))
            sources.append("personal")
        if not sources:
            steps.append(
                Step(
                    tool="search_tracks",
                    args={"query": c.text or "music", "k": 400, "into": "search"},
                )
            )
            sources.append("search")
        steps.append(Step(tool="merge", args={"sources": sources, "into": "pool"}))
        filt: dict[str, Any] = {
            **constraint_filter(c).model_dump(exclude_defaults=True),
            "source": "pool",
            "into": "filtered",
            "relax_to": k,
        }
        steps.append(Step(tool="filter_candidates", args=filt))
        steps.append(
            Step(
                tool="rank_candidates",
                args={
                    "source": "filtered",
                    "into": "ranked",
                    "prefer": list(c.prefer + c.genres),
                    "avoid": list(c.avoid),
                    "novelty": c.novelty,
                    "k": k,
                },
            )
        )
        return Plan(steps=steps, answer="ranked")


def configured_planner(settings: LinerSettings) -> Planner:
    """The planner ``settings`` ask for: the LLM planner when ``llm_base_url`` is set (any
    failure of it falls back to the rules, with a note), else the rule planner. `liner agent`
    and `liner serve` both plan with it, so a question gets the same plan either way."""
    if not settings.llm_base_url:
        return RulePlanner()
    from agent.llm_planner import LlmPlanner

    return LlmPlanner(
        base_url=settings.llm_base_url, model=settings.llm_model, api_key=settings.llm_api_key
    )


__all__ = ["Planner", "RulePlanner", "configured_planner"]
