"""`liner build`: embeddings, indexes and models into one artifact directory with a manifest."""

from __future__ import annotations

import json
from pathlib import Path

import click

from recsys.errors import LinerError
from recsys.settings import LinerSettings


@click.command("build")
@click.option(
    "--db",
    default=None,
    help="Store: a SQLite file or sqlite:/// URL (default: LINER_DB, else var/liner.db).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Artifact directory to write (default: LINER_ARTIFACTS, else var/artifacts).",
)
@click.option("--force", is_flag=True, help="Rebuild every step, even when up to date.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as one JSON object.")
def build_command(db: str | None, out: Path | None, force: bool, as_json: bool) -> None:
    """Build text, audio and collaborative embeddings, the fused space and FAISS indexes.

    Steps whose inputs did not change since the last build of the same directory are skipped
    (text embeddings are also cached per text, so a catalog edit re-embeds only what changed).
    Only tracks whose rights holders grant ai_training are used to fit models; the manifest
    records which, with the consent version. The directory is replaced atomically at the end.
    Uploads left unscreened by an interrupted ingest or screening are screened first, and
    plays that look artificial are flagged first, so no model learns from them.

    Example:

        liner build --db var/liner.db --out var/artifacts
    """
    from recsys.build import build_artifacts
    from recsys.integrity.audio import store_audio_cache
    from recsys.integrity.jobs import resume_screening
    from recsys.integrity.streams.screen import screen_streams
    from recsys.store import open_store

    settings = LinerSettings()
    url = db if db is not None else settings.db
    out_dir = out if out is not None else settings.artifacts
    try:
        store = open_store(url)
        try:
            resume_screening(store, audio_cache=store_audio_cache(url), why="liner build")
            # Flag artificial plays first: the models below learn from the rest only.
            streams = screen_streams(store).summary()
            manifest = build_artifacts(store, out_dir, settings, resume=not force)
        finally:
            store.close()
    except LinerError as exc:
        raise click.ClickException(str(exc)) from exc
    summary = {
        "out": str(out_dir),
        "files": len(manifest.files),
        "steps": {name: step.info for name, step in manifest.steps.items()},
        "consent_version": manifest.consent.consent_version if manifest.consent else None,
        "training_tracks": manifest.consent.training_tracks if manifest.consent else 0,
        "data_snapshot": manifest.data_snapshot[:16],
        "flagged_plays": streams["flagged_events"],
    }
    if as_json:
        click.echo(json.dumps(summary, sort_keys=True, default=str))
        return
    click.echo(f"built {out_dir} ({len(manifest.files)} files)")
    for name, step in manifest.steps.items():
        click.echo(f"  {name:<11} {json.dumps(step.info, default=str)}")


__all__ = ["build_command"]
