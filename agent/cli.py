"""`liner agent` (one-shot discovery in the terminal) and `liner mcp` (tools over MCP stdio)."""

from __future__ import annotations

import json
import sys
import time
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
    from agent.pipeline_backend import PipelineBackend
    from agent.planners import configured_planner
    from recsys.pipeline import load_recommender
    from recsys.store import open_store

    store = open_store(db)
    rec = load_recommender(artifacts, store, settings)
    return DiscoveryAgent(
        PipelineBackend(rec, artifacts),
        planner=configured_planner(settings),
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
            if label["source"] != "DETECTED"
            else (f"DETECTED {label['confidence']:.0%}")
        )
        tempo = f"  {item['tempo_bpm']:.0f} BPM" if item.get("tempo_bpm") is not None else ""
        click.echo(
            f"{item['position'] + 1:>3}. {item['title']} — {', '.join(item['artists'])}"
            f"  [AI: {label['involvement']} ({source})]{tempo}"
        )
        if item["reasons"]:
            click.echo(f"       {'; '.join(item['reasons'][:2])}")
    click.echo("trace: " + " → ".join(f"{t['tool']}({t['count']})" for t in answer_json["trace"]))
    if answer_json.get("session_id"):  # only a service keeps the conversation
        click.echo(f"session: {answer_json['session_id']} (continue with --session)")


def _say(message: str) -> None:
    click.echo(f"liner agent: {message}", err=True)


def _ask_local(
    query: str,
    listener: str | None,
    k: int,
    artifacts: Path | None,
    db: str | None,
    settings: LinerSettings,
) -> dict[str, Any]:
    start = time.perf_counter()
    agent = load_agent(artifacts or settings.artifacts, db or settings.db, settings)
    loaded = time.perf_counter()
    answer = agent.ask(query, listener_id=listener, k=k)
    _say(
        f"answered in {time.perf_counter() - start:.1f} s here (pipeline load "
        f"{loaded - start:.1f} s, first question {time.perf_counter() - loaded:.1f} s); "
        "`liner serve` keeps them loaded"
    )
    payload = answer.to_json()
    payload["session_id"] = ""  # a local session ends with this process
    return payload


@click.command("agent")
@click.argument("query")
@click.option("--listener", default=None, help="Listener id the answer is for.")
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 50))
@click.option(
    "--artifacts",
    type=click.Path(path_type=Path),
    default=None,
    help="Artifact directory (default: LINER_ARTIFACTS or var/artifacts); implies --local.",
)
@click.option("--db", default=None, help="Store path (default: LINER_DB); implies --local.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object.")
@click.option(
    "--service",
    envvar="LINER_AGENT_SERVICE",
    default=None,
    help="Ask the `liner serve` at host:port (fails if it is not there). Default: the one at "
    "LINER_HOST:LINER_PORT if it is running, else load the pipeline here.",
)
@click.option("--local", is_flag=True, help="Load the pipeline here even if a service runs.")
@click.option(
    "--token",
    envvar="LINER_TOKEN",
    default=None,
    help="Bearer token for the service (default: a listener token minted from "
    "LINER_LISTENER_TOKEN_KEY when that is set).",
)
@click.option("--session", default="", help="Continue a conversation: an answer's session id.")
def agent_command(
    query: str,
    listener: str | None,
    k: int,
    artifacts: Path | None,
    db: str | None,
    as_json: bool,
    service: str | None,
    local: bool,
    token: str | None,
    session: str,
) -> None:
    """Ask the discovery agent in words; every track comes with its AI label and credits.

    With a `liner serve` running (LINER_HOST:LINER_PORT, or --service) the question goes to
    it and the answer comes in about a second; otherwise the pipeline is loaded here first.

    Example:

        liner agent "upbeat indie for a run, human artists only" --listener u_000001
    """
    from agent.remote import ServiceUnreachableError, ask_service, running_service

    settings = LinerSettings()
    explicit_local = local or artifacts is not None or db is not None
    if service and explicit_local:
        raise click.UsageError("--service asks a running service; drop --local/--artifacts/--db")
    target = service
    if target is None and not explicit_local:
        target = running_service(settings.host, settings.port)
        if target is not None and listener is None:
            _say(f"a service runs at {target}, but Converse needs --listener; loading here")
            target = None
    if service and listener is None:
        raise click.UsageError("Converse answers for a listener: pass --listener ID")
    try:
        if target is not None and listener is not None:
            try:
                payload = ask_service(
                    target, query, listener=listener, k=k, session_id=session,
                    token=token, settings=settings,
                )  # fmt: skip
            except ServiceUnreachableError as exc:
                if service:
                    raise click.ClickException(str(exc)) from exc
                _say(f"{exc}; loading the pipeline here")
                payload = _ask_local(query, listener, k, artifacts, db, settings)
        else:
            if session:
                raise click.UsageError("--session continues a conversation on a service")
            where = f"{settings.host}:{settings.port}"
            _say(
                f"no service asked (none at {where}, or --local): loading the pipeline here, "
                "which takes 10-60 s before the first answer. With `liner serve` running, "
                "`liner agent` asks it and answers in about a second"
            )
            payload = _ask_local(query, listener, k, artifacts, db, settings)
    except LinerError as exc:
        raise click.ClickException(str(exc)) from exc
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
