"""Discovery agent: tools, candidate bus, planners, executor, MCP server."""

__all__: list[str] = []
