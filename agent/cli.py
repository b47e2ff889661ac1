"""`liner agent` (one-shot discovery in the terminal) and `liner mcp` (tools over MCP stdio)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from recsys.errors import LinerError
from recsys.settings import LinerSettings

if TYPE_CHECKING:
    from agent.discovery import DiscoveryAgent


def load_agent(artifacts: Path, db: str, settings: LinerSettings) -> DiscoveryAgent:
    """A DiscoveryAgent over the real pipeline, with the LLM planner when configured."""
    from agent.discovery import DiscoveryAgent
    from agent.llm_planner import LlmPlanner
    from agent.pipeline_backend import PipelineBackend
    from agent.planners import RulePlanner
    from recsys.pipeline import load_recommender
    from recsys.store import open_store

    store = open_store(db)
    rec = load_recommender(artifacts, store, settings)
    planner = (
        LlmPlanner(
            base_url=settings.llm_base_url, model=settings.llm_model, api_key=settings.llm_api_key
        )
        if settings.llm_base_url
        else RulePlanner()
    )
    return DiscoveryAgent(
        PipelineBackend(rec, artifacts),
        planner=planner,
        slate_logger=rec.slate_logger.log if rec.slate_logger else None,
    )


def _print_answer(answer_json: dict[str, Any]) -> None:
    click.echo(str(answer_json["summary"]))
    for note in answer_json.get("notes", []):
        click.echo(f"note: {note}")
    for item in answer_json["items"]:
        label = item["ai_label"]
        source = (
            label["source"]
            if label["source"] == "DECLARED"
            else (f"DETECTED {label['confidence']:.0%}")
        )
        click.echo(
            f"{item['position'] + 1:>3}. {item['title']} — {', '.join(item['artists'])}"
            f"  [AI: {label['involvement']} ({source})]"
        )
        if item["reasons"]:
            click.echo(f"       {'; '.join(item['reasons'][:2])}")
    click.echo("trace: " + " → ".join(f"{t['tool']}({t['count']})" for t in answer_json["trace"]))


@click.command("agent")
@click.argument("query")
@click.option("--listener", default=None, help="Listener id the answer is for.")
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 50))
@click.option(
    "--artifacts",
    type=click.Path(path_type=Path),
    default=None,
    help="Artifact directory (default: LINER_ARTIFACTS or var/artifacts).",
)
@click.option("--db", default=None, help="Store path (default: LINER_DB or var/liner.db).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object.")
def agent_command(
    query: str,
    listener: str | None,
    k: int,
    artifacts: Path | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Ask the discovery agent in words; every track comes with its AI label and credits.

    Example:

        liner agent "upbeat indie for a run, human artists only" --listener u_000001
    """
    settings = LinerSettings()
    try:
        agent = load_agent(artifacts or settings.artifacts, db or settings.db, settings)
        answer = agent.ask(query, listener_id=listener, k=k)
    except LinerError as exc:
        raise click.ClickException(str(exc)) from exc
    payload = answer.to_json()
    if as_json:
        click.echo(json.dumps(payload))
    else:
        _print_answer(payload)


@click.command("mcp")
@click.option("--listener", default=None, help="The listener the assistant acts for.")
@click.option(
    "--artifacts",
    type=click.Path(path_type=Path),
    default=None,
    help="Artifact directory (default: LINER_ARTIFACTS or var/artifacts).",
)
@click.option("--db", default=None, help="Store path (default: LINER_DB or var/liner.db).")
def mcp_command(listener: str | None, artifacts: Path | None, db: str | None) -> None:
    """Serve the discovery tools over MCP on stdio, with the same guardrails.

    Example:

        liner mcp --listener u_000001   # then point an MCP client at this command
    """
    from agent.mcp_server import build_mcp_server

    settings = LinerSettings()
    try:
        agent = load_agent(artifacts or settings.artifacts, db or settings.db, settings)
    except LinerError as exc:
        raise click.ClickException(str(exc)) from exc
    print(f"liner mcp: serving tools for listener {listener}", file=sys.stderr)
    build_mcp_server(agent, listener).run("stdio")


__all__ = ["agent_command", "load_agent", "mcp_command"]
