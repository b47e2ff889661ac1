"""The agent's tools over MCP (the `mcp` package), with the same guardrails.

The listener is fixed when the server starts (``liner mcp --listener ID``): an external
assistant acts for that listener and cannot pass another listener's id to any tool.

Each tool publishes its arguments' own JSON schema (from the pydantic model the planners use:
descriptions, bounds, patterns, ``additionalProperties: false``), and the arguments are
validated against that model, not a copy of it. Whatever goes wrong comes back as an MCP tool
error (``isError``) whose text names the problem and the fix: bad arguments (which argument,
what was sent, what is allowed), a plan problem (a working set that does not exist yet, a
session that expired), or, for a bug, which tool failed and that the server log has the
details. Tracks come in the served item shape (:func:`agent.lookup.item_card`), the one
``Recommend``, ``Converse`` and `liner agent --json` show.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from pydantic import ConfigDict, Field, ValidationError

from agent.bus import CandidateBus
from agent.discovery import DiscoveryAgent
from agent.lookup import item_card, served_item
from agent.registry import TOOLS, ToolSpec
from agent.tools import ToolArgs, ToolContext
from recsys.errors import LinerError

logger = logging.getLogger(__name__)

PREVIEW = 10
"""Tracks of a written working set shown in a tool's result."""


class DiscoverArgs(ToolArgs):
    message: str = Field(min_length=1, max_length=2000)
    """What the listener asked for, in their words ("calm jazz, no AI, under 100 BPM")."""
    k: int = Field(10, ge=1, le=50)
    """How many tracks to answer with."""
    session_id: str = Field("", max_length=64)
    """An earlier answer's session_id to refine it ("less rap"); empty starts a new one."""


class _RawArguments(ArgModelBase):
    """Hands the client's arguments through untouched: the tool validates them against its own
    model, so a refusal can say which argument is wrong and what it accepts."""

    model_config = ConfigDict(extra="allow")

    def model_dump_one_level(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def _allowed(prop: dict[str, Any]) -> str:
    """What a schema property accepts, in words ("an integer from 1 to 1000")."""
    options = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"] or [prop]
    p = {**prop, **options[0]}
    kind = p.get("type", "value")
    words = {"integer": "an integer", "number": "a number", "string": "a string",
             "boolean": "true or false", "array": "a list"}.get(str(kind), str(kind))  # fmt: skip
    if "enum" in p:
        words = "one of " + ", ".join(json.dumps(x) for x in p["enum"])
    if "minimum" in p and "maximum" in p:
        words += f" from {p['minimum']} to {p['maximum']}"
    elif "minimum" in p:
        words += f" ≥ {p['minimum']}"
    elif "maximum" in p:
        words += f" ≤ {p['maximum']}"
    if "maxLength" in p:
        words += f" of {p.get('minLength', 0)}-{p['maxLength']} characters"
    if "pattern" in p:
        words += f" matching {p['pattern']}"
    if "maxItems" in p:
        words += f" of at most {p['maxItems']} items"
    if len(options) < len(prop.get("anyOf", [prop])):
        words += " (or null)"
    return words


def argument_problem(name: str, schema: dict[str, Any], exc: ValidationError) -> str:
    """A tool's refusal of its arguments: each wrong argument, what was sent, what is allowed,
    and the fix."""
    props: dict[str, Any] = schema.get("properties", {})
    problems: list[str] = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"])
        top = str(err["loc"][0]) if err["loc"] else ""
        prop = props.get(top, {})
        sent = json.dumps(err.get("input"), default=str)[:80]
        if err["type"] == "extra_forbidden":
            known = ", ".join(props) or "no arguments"
            problems.append(f"'{loc}' is not an argument of {name} (it takes: {known})")
        elif err["type"] == "missing":
            what = str(prop.get("description", "")).rstrip(".")
            problems.append(f"'{loc}' is required" + (f" ({what})" if what else ""))
        else:
            problems.append(
                f"'{loc}' is {sent}, but it must be {_allowed(prop)} ({err['msg']})"
                if prop
                else f"'{loc}': {err['msg']} (sent {sent})"
            )
    return (
        f"{name}: invalid arguments: {'; '.join(problems)}. Fix: call {name} again with "
        "arguments that match its input schema (tools/list shows it)."
    )


def _guarded_call(name: str, schema: dict[str, Any], model: type[ToolArgs],
                  run: Callable[[Any], str]) -> Callable[..., str]:  # fmt: skip
    """The function MCP calls: validate against ``model``, run, and turn every failure into a
    tool error with a message for the client."""

    def call(**arguments: Any) -> str:
        try:
            args = model.model_validate(arguments)
        except ValidationError as exc:
            raise ToolError(argument_problem(name, schema, exc)) from exc
        try:
            return run(args)
        except LinerError as exc:  # plan, session and agent errors say what to change
            raise ToolError(f"{name}: {exc}") from exc
        except Exception as exc:
            logger.exception("MCP tool %s failed", name)
            raise ToolError(
                f"{name} failed inside the server ({type(exc).__name__}); this is a bug, not "
                "a problem with your arguments, and the same call will fail again. The "
                "server's log (stderr) has the traceback; try another tool or discover."
            ) from exc

    call.__name__ = name
    return call


def _tool(name: str, description: str, model: type[ToolArgs], run: Callable[[Any], str]) -> Tool:
    schema = model.model_json_schema()
    schema.pop("title", None)
    return Tool(
        fn=_guarded_call(name, schema, model, run),
        name=name,
        description=description,
        parameters=schema,
        fn_metadata=FuncMetadata(arg_model=_RawArguments),
        is_async=False,
    )


def _runner(spec: ToolSpec, ctx: ToolContext) -> Callable[[Any], str]:
    def run(args: Any) -> str:
        result = spec.fn(ctx, args)
        out: dict[str, Any] = {"count": result.count}
        if result.wrote:
            out["wrote"] = result.wrote
            top = ctx.bus.get(result.wrote)[:PREVIEW]
            facts = {f.track.track_id: f for f in ctx.backend.facts([c.track_id for c in top])}
            out["top"] = [
                item_card(
                    served_item(
                        facts[c.track_id],
                        position=i,
                        score=c.score,
                        reasons=c.reasons,
                        sources=c.sources,
                    )
                )
                for i, c in enumerate(x for x in top if x.track_id in facts)
            ]
        if result.data:
            out["data"] = result.data
        return json.dumps(out)

    return run


def build_mcp_server(agent: DiscoveryAgent, listener_id: str | None) -> MCPServer:
    """An MCP server exposing every agent tool plus ``discover`` (a whole agent turn)."""
    ctx = ToolContext(backend=agent.backend, bus=CandidateBus(), listener_id=listener_id)
    tools = [_tool(s.name, s.description, s.args, _runner(s, ctx)) for s in TOOLS.values()]

    def discover(args: DiscoverArgs) -> str:
        answer = agent.ask(
            args.message, listener_id=listener_id, session_id=args.session_id or None, k=args.k
        )
        return json.dumps(answer.to_json())

    tools.append(
        _tool(
            "discover",
            "Answer a request in words (parse, plan, run the tools, enforce the listener's "
            "constraints) and return labelled, credited tracks with a summary, notes and the "
            "trace; pass the answer's session_id to refine it.",
            DiscoverArgs,
            discover,
        )
    )
    return MCPServer(
        name="liner-notes",
        instructions="Artist-first music discovery tools. Every track carries its AI label "
        "and credits. Tools write named working sets; refer to them by name.",
        tools=tools,
    )


__all__ = ["DiscoverArgs", "argument_problem", "build_mcp_server"]
