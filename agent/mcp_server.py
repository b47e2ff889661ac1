"""The agent's tools over MCP (the `mcp` package), with the same guardrails.

The listener is fixed when the server starts (``liner mcp --listener ID``): an external
assistant acts for that listener and cannot pass another listener's id to any tool.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import MCPServer

from agent.bus import CandidateBus
from agent.discovery import DiscoveryAgent
from agent.lookup import label_card
from agent.registry import TOOLS, ToolSpec
from agent.tools import ToolContext

PREVIEW = 10


def _tool_function(spec: ToolSpec, ctx: ToolContext) -> Callable[..., str]:
    """A plain function whose signature mirrors the tool's pydantic fields, for MCPServer."""

    def call(**kwargs: Any) -> str:
        args = spec.args.model_validate(kwargs)
        result = spec.fn(ctx, args)
        out: dict[str, Any] = {"count": result.count}
        if result.wrote:
            out["wrote"] = result.wrote
            top = ctx.bus.get(result.wrote)[:PREVIEW]
            facts = {f.track.track_id: f for f in ctx.backend.facts([c.track_id for c in top])}
            out["top"] = [
                {
                    **label_card(facts[c.track_id]),
                    "score": round(c.score, 4),
                    "reasons": list(c.reasons),
                }
                for c in top
                if c.track_id in facts
            ]
        if result.data:
            out["data"] = result.data
        return json.dumps(out)

    params = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=field.annotation,
            default=inspect.Parameter.empty
            if field.is_required()
            else field.get_default(call_default_factory=True),
        )
        for name, field in spec.args.model_fields.items()
    ]
    call.__signature__ = inspect.Signature(params, return_annotation=str)  # type: ignore[attr-defined]
    call.__annotations__ = {p.name: p.annotation for p in params} | {"return": str}
    call.__name__ = spec.name
    call.__doc__ = spec.description
    return call


def build_mcp_server(agent: DiscoveryAgent, listener_id: str | None) -> MCPServer:
    """An MCP server exposing every agent tool plus ``discover`` (a whole agent turn)."""
    server = MCPServer(
        name="liner-notes",
        instructions="Artist-first music discovery tools. Every track carries its AI label "
        "and credits. Tools write named working sets; refer to them by name.",
    )
    ctx = ToolContext(backend=agent.backend, bus=CandidateBus(), listener_id=listener_id)
    for spec in TOOLS.values():
        server.add_tool(_tool_function(spec, ctx), name=spec.name, description=spec.description)

    def discover(message: str, k: int = 10) -> str:
        """Answer a request in words (plan, run, summarise) and return tracks with labels."""
        answer = agent.ask(message, listener_id=listener_id, k=max(1, min(k, 50)))
        return json.dumps(answer.to_json())

    server.add_tool(discover, name="discover", description=discover.__doc__)
    return server


__all__ = ["build_mcp_server"]
