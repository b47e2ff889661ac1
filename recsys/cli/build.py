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
@click.option(
    "--ray",
    "ray_address",
    is_flag=False,
    flag_value="local",
    default=None,
    metavar="[ADDRESS]",
    help="Run the per-track work (text embedding, audio analysis, fingerprints, audio facts) "
    "as Ray tasks over catalog partitions: on the cluster at ADDRESS (e.g. ray://head:10001 "
    "or auto), or on a local cluster started for the build when no address is given. Needs "
    "pip install '.[ray]'. Same artifacts; finished partitions are reused by a rerun.",
)
@click.option(
    "--ray-partition",
    default=256,
    show_default=True,
    type=click.IntRange(min=1),
    help="Tracks per Ray task.",
)
def build_command(
    db: str | None,
    out: Path | None,
    force: bool,
    as_json: bool,
    ray_address: str | None,
    ray_partition: int,
) -> None:
    """Build text, audio and collaborative embeddings, the fused space and FAISS indexes.

    Steps whose inputs did not change since the last build of the same directory are skipped
    (text embeddings are also cached per text, so a catalog edit re-embeds only what changed).
    Only tracks whose rights holders grant ai_training are used to fit models; the manifest
    records which, with the consent version. The directory is replaced atomically at the end.
    Uploads left unscreened by an interrupted ingest or screening are screened first, and
    plays that look artificial are flagged first, so no model learns from them.

    Example:

        liner build --db var/liner.db --out var/artifacts

        liner build --ray                       # a local Ray cluster for this build

        liner build --ray ray://head:10001      # an existing Ray cluster
    """
    from recsys.build import build_artifacts
    from recsys.integrity.audio import store_audio_cache
    from recsys.integrity.jobs import resume_screening
    from recsys.integrity.streams.screen import screen_streams
    from recsys.parallel import use_backend
    from recsys.store import open_store

    settings = LinerSettings()
    url = db if db is not None else settings.db
    out_dir = out if out is not None else settings.artifacts
    backend = None
    try:
        if ray_address is not None:
            from recsys.distributed import RayBackend

            address = None if ray_address == "local" else ray_address
            backend = RayBackend(address, partition_size=ray_partition).start()
        store = open_store(url)
        try:
            with use_backend(backend):
                resume_screening(store, audio_cache=store_audio_cache(url), why="liner build")
            # Flag artificial plays first: the models below learn from the rest only.
            streams = screen_streams(store).summary()
            manifest = build_artifacts(store, out_dir, settings, resume=not force, backend=backend)
        finally:
            store.close()
            if backend is not None:
                backend.close()
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
    if backend is not None:
        summary["ray"] = backend.report
    if as_json:
        click.echo(json.dumps(summary, sort_keys=True, default=str))
        return
    click.echo(f"built {out_dir} ({len(manifest.files)} files)")
    for name, step in manifest.steps.items():
        click.echo(f"  {name:<11} {json.dumps(step.info, default=str)}")
    for part in summary.get("ray", []):
        click.echo(
            f"  ray {part['map']}: {part['items']} items in {part['partitions']} partitions "
            f"({part['reused']} reused, {part['retried']} retried) in {part['seconds']} s"
        )


__all__ = ["build_command"]
