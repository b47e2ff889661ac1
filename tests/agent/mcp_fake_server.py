"""Runs the MCP server over stdio on the fake backend (started by test_mcp_server.py)."""

from agent.discovery import DiscoveryAgent
from agent.mcp_server import build_mcp_server
from tests.agent.fakes import FakeBackend

if __name__ == "__main__":
    build_mcp_server(DiscoveryAgent(FakeBackend()), listener_id="purist").run("stdio")
