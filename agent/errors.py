"""Errors of the discovery agent."""

from __future__ import annotations

from recsys.errors import LinerError


class AgentError(LinerError):
    """Base class of agent errors."""


class PlanError(AgentError):
    """A plan is invalid: an unknown tool, a bad argument, or a missing working set.

    The message names the step, the tool and the problem, so a planner (or a person) can fix
    the plan.
    """


class PlannerError(AgentError):
    """A planner could not produce a plan (for example the LLM endpoint failed)."""


__all__ = ["AgentError", "PlanError", "PlannerError"]
