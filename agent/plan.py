"""Plans (a JSON list of tool calls) and the executor that validates, runs and traces them."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from agent.errors import PlanError
from agent.registry import TOOLS
from agent.tools import ToolArgs, ToolContext

MAX_STEPS = 20


class Step(BaseModel):
    """One tool call."""

    model_config = ConfigDict(extra="forbid")

    tool: str
    """Tool name (see the registry)."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Arguments, validated against the tool's schema."""


class Plan(BaseModel):
    """A planner's output: tool calls in order and the working set that is the answer."""

    model_config = ConfigDict(extra="forbid")

    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)
    """Tool calls, run in order."""
    answer: str = "ranked"
    """The working set whose tracks are the answer."""


@dataclass(frozen=True, kw_only=True)
class TraceEntry:
    """What one step did: returned with every answer."""

    tool: str
    arguments: dict[str, Any]
    count: int
    ms: float
    wrote: str | None = None
    data: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {
            "tool": self.tool,
            "arguments": self.arguments,
            "count": self.count,
            "ms": round(self.ms, 3),
        }
        if self.wrote:
            out["wrote"] = self.wrote
        if self.data:
            out["data"] = self.data
        return out


def _describe(exc: PydanticValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(arguments)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def validate_plan(raw: Plan | dict[str, Any] | str) -> tuple[Plan, list[ToolArgs]]:
    """Check a plan completely before anything runs.

    Raises:
        PlanError: naming the step, the tool and the problem (unknown tool, bad argument, a
            working set read before any step writes it, an answer set never written).
    """
    try:
        plan = (
            raw
            if isinstance(raw, Plan)
            else (
                Plan.model_validate_json(raw) if isinstance(raw, str) else Plan.model_validate(raw)
            )
        )
    except PydanticValidationError as exc:
        raise PlanError(f"the plan is not valid: {_describe(exc)}") from exc
    written: set[str] = set()
    parsed: list[ToolArgs] = []
    for i, step in enumerate(plan.steps, start=1):
        spec = TOOLS.get(step.tool)
        if spec is None:
            known = ", ".join(sorted(TOOLS))
            raise PlanError(f"step {i}: unknown tool '{step.tool}' (known tools: {known})")
        try:
            args = spec.args.model_validate(step.args)
        except PydanticValidationError as exc:
            raise PlanError(f"step {i} ({step.tool}): {_describe(exc)}") from exc
        reads = [getattr(args, "source", None), *getattr(args, "sources", [])]
        for name in filter(None, reads):
            if name not in written:
                raise PlanError(
                    f"step {i} ({step.tool}): reads working set '{name}' before any step "
                    f"writes it (written so far: {', '.join(sorted(written)) or 'none'})"
                )
        into = getattr(args, "into", None)
        if into:
            written.add(into)
        parsed.append(args)
    if plan.answer not in written:
        raise PlanError(f"the answer set '{plan.answer}' is never written by a step")
    return plan, parsed


def execute_plan(plan: Plan, parsed: list[ToolArgs], ctx: ToolContext) -> list[TraceEntry]:
    """Run a validated plan, recording a trace entry per step."""
    trace: list[TraceEntry] = []
    for step, args in zip(plan.steps, parsed, strict=True):
        spec = TOOLS[step.tool]
        start = time.perf_counter()
        result = spec.fn(ctx, args)
        ms = (time.perf_counter() - start) * 1000
        trace.append(
            TraceEntry(
                tool=step.tool,
                arguments=json.loads(args.model_dump_json()),
                count=result.count,
                ms=ms,
                wrote=result.wrote,
                data=result.data,
            )
        )
    return trace


__all__ = ["MAX_STEPS", "Plan", "Step", "TraceEntry", "execute_plan", "validate_plan"]
