"""The `liner` command line: one entry point with a verb per stage.

Verbs live in their own modules and are imported only when called, so `liner --help` is fast
and a verb's heavy dependencies (torch, FAISS, gRPC) load only when needed.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import click

# verb -> (module, attribute, one-line help). Keep sorted by verb.
VERBS: dict[str, tuple[str, str, str]] = {
    "agent": ("agent.cli", "agent_command", "Ask the discovery agent in words."),
    "build": ("recsys.cli.build", "build_command", "Build embeddings, indexes and models."),
    "demo-data": ("recsys.cli.demo", "demo_data_command", "Generate the synthetic demo world."),
    "eval": ("offline_eval.cli", "eval_command", "Evaluate models offline on a dataset."),
    "experiments": (
        "recsys.cli.experiments",
        "experiments_group",
        "Validate, assign, analyze A/B tests.",
    ),
    "ingest": ("recsys.cli.ingest", "ingest_command", "Ingest a data folder into the store."),
    "mcp": ("agent.cli", "mcp_command", "Serve the agent's tools over MCP (stdio)."),
    "report": ("recsys.cli.report", "report_group", "Metering and integrity reports."),
    "screen": ("recsys.cli.report", "screen_command", "Screen uploads and quarantine abuse."),
    "serve": ("recsys.cli.serve", "serve_command", "Run the gRPC service."),
    "tokens": ("recsys.cli.tokens", "tokens_group", "Mint listener tokens, generate secrets."),
}


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(VERBS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in VERBS:
            return None
        module_name, attr, _ = VERBS[cmd_name]
        command: Any = getattr(importlib.import_module(module_name), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, VERBS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG instead of INFO.")
@click.version_option(package_name="linernotes")
def main(verbose: bool) -> None:
    """Liner Notes: artist-first music discovery.

    Example:

        liner demo-data --out demo && liner ingest demo --db var/liner.db
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # FAISS logs each CPU variant it could not load (a ModuleNotFoundError) at INFO: not errors.
    logging.getLogger("faiss.loader").setLevel(logging.DEBUG if verbose else logging.WARNING)


__all__ = ["VERBS", "main"]
