"""`liner ingest`: load a data folder into the store and print what the catalog holds."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from recsys.errors import LinerError
from recsys.settings import LinerSettings


@click.command("ingest")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option(
    "--db",
    default=None,
    help="Store: SQLite file, sqlite:/// or postgresql:// URL (default LINER_DB or var/liner.db).",
)
@click.option(
    "--screen/--no-screen",
    default=True,
    show_default=True,
    help="Screen the uploads after the batch commits (quarantine abuse, label undeclared AI).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option(
    "--allow-external-audio",
    is_flag=True,
    help="Accept audio paths outside FOLDER (only for a folder you trust: by default an "
    "audio_path that leaves the folder is refused).",
)
def ingest_command(
    folder: Path, db: str | None, screen: bool, as_json: bool, allow_external_audio: bool
) -> None:
    """Ingest a data folder (CSV or Parquet, docs/data-format.md) into the store.

    The whole folder is validated first; any problem is reported with its file, row and
    field, and nothing is written. Otherwise everything is written in one transaction.
    Re-ingesting the same folder changes nothing. Every new or changed track is written
    as unscreened (never served, never paid) in that same transaction. Then the uploads are
    screened, as `liner screen` does: flagged tracks are quarantined, undeclared AI tracks get
    a DETECTED label and strongly contradicted declarations are disputed; the screening
    commits with clearing the unscreened marks, and also finishes any earlier screening that
    was interrupted.

    Example:

        liner ingest demo --db var/liner.db
    """
    from recsys.ingest import catalog_summary, run_ingest
    from recsys.integrity.quarantine import pause_for_test
    from recsys.store import open_store

    settings = LinerSettings()
    url = db if db is not None else settings.db
    try:
        store = open_store(url)
        try:
            skew = timedelta(seconds=settings.consent_clock_skew_s)
            report = run_ingest(
                folder, store, consent_skew=skew, allow_external_audio=allow_external_audio
            )
            pause_for_test("after_ingest_commit")
            screening = _screen(store, url) if screen else None
            summary = catalog_summary(store)
            summary["unscreened"] = len(store.unscreened_ids())
            summary["disputed"] = len(store.disputed_ids())
        finally:
            store.close()
    except LinerError as exc:
        raise click.ClickException(str(exc)) from exc
    summary = {
        "db": url,
        "ingested": report.rows,
        "new_events": report.new_events,
        "seconds": round(report.seconds, 3),
        **summary,
    }
    if screening is not None:
        summary["screening"] = screening
    click.echo(json.dumps(summary, sort_keys=True) if as_json else _text(summary))


def _screen(store: Any, url: str) -> dict[str, Any]:
    """Run the upload screens and the AI detector over the store (audio analyses cached)."""
    from recsys.integrity.audio import store_audio_cache
    from recsys.integrity.jobs import run_integrity

    summary: dict[str, Any] = run_integrity(store, audio_cache=store_audio_cache(url)).summary()
    return summary


def _text(s: dict[str, Any]) -> str:
    def counts(d: dict[str, int]) -> str:
        return ", ".join(f"{k or '(none)'} {v}" for k, v in d.items()) or "none"

    return "\n".join(
        [
            f"Ingested {s['ingested']['tracks']} tracks and {s['ingested']['interactions']} "
            f"interactions ({s['new_events']} new) from the folder in {s['seconds']} s.",
            f"Store {s['db']} (schema version {s['schema_version']}):",
            f"  artists      {s['artists']} ({counts(s['artists_by_kind'])})",
            f"  tracks       {s['tracks']}, {s['tracks_with_audio']} with audio",
            f"    AI         {counts(s['tracks_by_ai_involvement'])}",
            f"    labels     {counts(s['tracks_by_label_source'])}",
            f"  listeners    {s['listeners']} ({s['listeners_ai_opt_out']} opted out of AI)",
            f"  events       {s['events']} ({counts(s['events_by_type'])})",
            f"  consent      {s['consent_entries']} ledger entries; grants in force: "
            f"{counts(s['consent_grants_by_scope'])}",
            f"  quarantined  {s['quarantined']}",
            f"  disputed     {s['disputed']} (declared AI label contradicted; held)",
            f"  unscreened   {s['unscreened']} (held until `liner screen` finishes them)",
            *_screening_lines(s.get("screening")),
        ]
    )


def _screening_lines(run: dict[str, Any] | None) -> list[str]:
    if run is None:
        return ["  screening    skipped (--no-screen); run `liner screen` before serving"]
    flags = run.get("flags_by_reason") or {}
    detection = run.get("detection") or {}
    return [
        f"  screening    flags: {', '.join(f'{k} {v}' for k, v in flags.items()) or 'none'}",
        f"  detector     {detection.get('labelled', detection) if detection else 'not run'}",
    ]


__all__ = ["ingest_command"]
