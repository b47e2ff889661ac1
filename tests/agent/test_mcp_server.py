"""A stock MCP client lists and calls the agent's tools over stdio."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.agent.fakes import FORBIDDEN

ROOT = Path(__file__).resolve().parents[2]


async def _session_run() -> tuple[set[str], dict, dict]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "tests.agent.mcp_fake_server"], cwd=str(ROOT)
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        listed = await session.list_tools()
        names = {t.name for t in listed.tools}
        search = await session.call_tool("search_tracks", {"query": "upbeat indie", "k": 30})
        found = json.loads(search.content[0].text)
        disc = await session.call_tool("discover", {"message": "AI covers of Indie Artist 0"})
        answer = json.loads(disc.content[0].text)
        return names, found, answer


def test_stock_client_lists_and_calls_tools() -> None:
    names, found, answer = asyncio.run(_session_run())
    assert {
        "search_tracks",
        "similar",
        "filter_candidates",
        "rank_candidates",
        "label_lookup",
        "discover",
    } <= names
    assert found["count"] > 0
    top = {t["track_id"] for t in found["top"]}
    assert top and not FORBIDDEN & top
    assert all(t["ai_label"]["involvement"] != "GENERATED" for t in found["top"])
    served = {i["track_id"] for i in answer["items"]}
    assert not FORBIDDEN & served and answer["trace"]
