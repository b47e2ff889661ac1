"""A stock MCP client lists and calls the agent's tools over stdio: schemas with descriptions
and bounds, tool errors that reach the client with their message, the served item shape."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from agent.discovery import DiscoveryAgent
from agent.mcp_server import build_mcp_server
from recsys.api.answers import ITEM_KEYS
from tests.agent.fakes import FORBIDDEN, FakeBackend

ROOT = Path(__file__).resolve().parents[2]


async def _session_run() -> dict[str, Any]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "tests.agent.mcp_fake_server"], cwd=str(ROOT)
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        listed = await session.list_tools()
        search = await session.call_tool("search_tracks", {"query": "upbeat indie", "k": 30})
        disc = await session.call_tool("discover", {"message": "AI covers of Indie Artist 0"})
        too_many = await session.call_tool("search_tracks", {"query": "indie", "k": 5000})
        no_set = await session.call_tool("rank_candidates", {"source": "nowhere"})
        return {
            "tools": {t.name: t for t in listed.tools},
            "found": json.loads(search.content[0].text),
            "answer": json.loads(disc.content[0].text),
            "too_many": too_many,
            "no_set": no_set,
        }


def test_stock_client_lists_and_calls_tools() -> None:
    got = asyncio.run(_session_run())
    tools = got["tools"]
    assert {"search_tracks", "similar", "filter_candidates", "rank_candidates", "label_lookup",
            "discover"} <= set(tools)  # fmt: skip
    k = tools["search_tracks"].input_schema["properties"]["k"]
    assert (k["minimum"], k["maximum"], k["description"]) == (1, 1000, "How many tracks to keep.")
    found, answer = got["found"], got["answer"]
    assert found["count"] > 0
    top = {t["track_id"] for t in found["top"]}
    assert top and not FORBIDDEN & top
    assert all(tuple(t) == ITEM_KEYS for t in found["top"])
    assert all(t["ai_label"]["involvement"] != "GENERATED" for t in found["top"])
    served = {i["track_id"] for i in answer["items"]}
    assert not FORBIDDEN & served and answer["trace"] and answer["session_id"]
    assert all(tuple(i) == ITEM_KEYS for i in answer["items"])
    assert got["too_many"].is_error
    assert (
        "'k' is 5000, but it must be an integer from 1 to 1000" in got["too_many"].content[0].text
    )
    assert got["no_set"].is_error
    assert "no working set named 'nowhere'" in got["no_set"].content[0].text
    assert "Fix:" in got["no_set"].content[0].text


@pytest.fixture(scope="module")
def server() -> Any:
    return build_mcp_server(DiscoveryAgent(FakeBackend()), listener_id="fan")


def test_every_schema_is_valid_json_schema_with_descriptions_and_bounds(server: Any) -> None:
    for tool in asyncio.run(server.list_tools()):
        schema = tool.input_schema
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        assert tool.description
        for name, prop in schema["properties"].items():
            assert prop.get("description"), f"{tool.name}.{name} has no description"
            kinds = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
            for p in kinds:
                if p.get("type") in ("integer", "number"):
                    assert "minimum" in p and "maximum" in p, f"{tool.name}.{name} is unbounded"
                if p.get("type") == "string":
                    assert "maxLength" in p or "pattern" in p, f"{tool.name}.{name} is unbounded"
                if p.get("type") == "array":
                    items = p["items"]
                    assert "maxItems" in p, f"{tool.name}.{name} is unbounded"
                    if "$ref" in items:  # an object: each of its fields bounded
                        ref = schema["$defs"][items["$ref"].rsplit("/", 1)[1]]
                        assert ref["additionalProperties"] is False
                        for field in ref["properties"].values():
                            assert field.get("description")
                            assert "minimum" in field and "maximum" in field
                    else:
                        assert "maxLength" in items or "pattern" in items


@pytest.mark.parametrize(
    ("tool", "args", "says"),
    [
        ("search_tracks", {"query": "x", "bogus": 1}, "'bogus' is not an argument"),
        ("search_tracks", {}, "'query' is required"),
        ("filter_candidates", {"source": "pool", "tempo_min": "fast"}, "from 20 to 300"),
        ("similar", {"seed_tracks": ["x" * 501]}, "'seed_tracks.0'"),
        ("discover", {"message": "jazz", "session_id": "made-up"}, "never issued"),
        ("discover", {"message": "jazz", "k": 0}, "from 1 to 50"),
    ],
)
def test_bad_calls_are_tool_errors_naming_problem_and_fix(
    server: Any, tool: str, args: dict[str, Any], says: str
) -> None:
    from mcp.server.mcpserver.exceptions import ToolError

    schema = next(t for t in asyncio.run(server.list_tools()) if t.name == tool).input_schema
    if "session_id" not in args:  # the schema alone refuses it, as our validation does
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(args, schema)
    with pytest.raises(ToolError) as info:
        asyncio.run(server.call_tool(tool, args))
    assert says in str(info.value) and "Fix:" in str(info.value)


def test_empty_results_say_why(server: Any) -> None:
    similar = asyncio.run(server.call_tool("similar", {"seed_tracks": ["no such song"]}))
    data = json.loads(similar.content[0].text)["data"]
    assert data["unresolved"] == ["no such song"] and "search_tracks" in data["hint"]
    explain = asyncio.run(server.call_tool("explain_track", {"track_id": "nope"}))
    assert "no track with this id" in json.loads(explain.content[0].text)["data"]["why"]
