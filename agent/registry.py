"""The tool registry: name → arguments model and function, with JSON schemas for planners."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent import lookup, refine, tools
from agent.tools import ToolArgs, ToolFn


@dataclass(frozen=True, kw_only=True)
class ToolSpec:
    """One tool as planners and MCP clients see it."""

    name: str
    args: type[ToolArgs]
    fn: ToolFn
    description: str

    def json_schema(self) -> dict[str, Any]:
        """The JSON schema of the tool's arguments."""
        return self.args.model_json_schema()


def _spec(name: str, args: type[ToolArgs], fn: ToolFn) -> ToolSpec:
    doc = (fn.__doc__ or name).strip().splitlines()[0]
    return ToolSpec(name=name, args=args, fn=fn, description=doc)


TOOLS: dict[str, ToolSpec] = {
    s.name: s
    for s in (
        _spec("search_tracks", tools.SearchTracksArgs, tools.search_tracks),
        _spec("similar", tools.SimilarArgs, tools.similar),
        _spec("listener_profile", tools.ListenerProfileArgs, tools.listener_profile),
        _spec("personal_recommendations", tools.PersonalArgs, tools.personal_recommendations),
        _spec("merge", tools.MergeArgs, tools.merge),
        _spec("filter_candidates", refine.FilterArgs, refine.filter_candidates),
        _spec("rank_candidates", refine.RankArgs, refine.rank_candidates),
        _spec("explain_track", lookup.ExplainArgs, lookup.explain_track),
        _spec("label_lookup", lookup.LabelArgs, lookup.label_lookup),
    )
}


def openai_tools() -> list[dict[str, Any]]:
    """The tools in the OpenAI chat-completions ``tools`` format."""
    return [
        {
            "type": "function",
            "function": {
                "name": spec.name,
                "description": spec.description,
                "parameters": spec.json_schema(),
            },
        }
        for spec in TOOLS.values()
    ]


__all__ = ["TOOLS", "ToolSpec", "openai_tools"]
