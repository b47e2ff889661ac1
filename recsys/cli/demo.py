"""`liner demo-data`: generate the demo world, or inject abuse into an existing data folder."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import click

from recsys.errors import LinerError


@click.command("demo-data")
@click.option(
    "--out", required=True, type=click.Path(path_type=Path), help="Folder to write (created)."
)
@click.option("--tracks", default=3000, show_default=True, help="Tracks, abusive ones included.")
@click.option("--listeners", default=600, show_default=True, help="Listeners.")
@click.option("--seed", default=7, show_default=True, help="Seed (same seed, same files).")
@click.option(
    "--abuse/--no-abuse", default=True, show_default=True, help="Inject spam and impersonation."
)
@click.option(
    "--audio/--no-audio", default=True, show_default=True, help="Write an audio clip per track."
)
@click.option(
    "--inject-abuse-into",
    "source",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Instead of a new world, copy this data folder to --out with abuse injected.",
)
def demo_data_command(
    out: Path,
    tracks: int,
    listeners: int,
    seed: int,
    abuse: bool,
    audio: bool,
    source: Path | None,
) -> None:
    """Generate the synthetic demo world (docs/data-format.md, plus truth.csv).

    The world has human, AI-persona and unknown artists, declared and undeclared AI tracks,
    AI imitations of demo artists with and without consent, a consent ledger, listeners with
    latent tastes and six months of listening events, and (unless --no-abuse) spam uploads.
    truth.csv holds the ground truth for evaluation only; `liner ingest` ignores it.

    With --inject-abuse-into, any data folder (only items and interactions are required) is
    copied to --out with every kind of abuse injected and recorded in truth.csv.

    Example:

        liner demo-data --out demo --tracks 3000 --listeners 600 --seed 7

        liner demo-data --inject-abuse-into my_catalog --out my_catalog_adversarial
    """
    import numpy as np

    from recsys.demo import DemoConfig, generate_demo, inject_abuse, read_folder, write_folder

    started = time.perf_counter()
    try:
        if source is not None:
            if out.resolve() == source.resolve():
                raise click.UsageError("--out must differ from --inject-abuse-into")
            tables = inject_abuse(read_folder(source), np.random.default_rng(seed))
            if not audio:
                tables = tables.with_changes(audio_jobs=())
            unchanged = ("interactions", "listeners", "consent")
            write_folder(tables, out, source_dir=source, unchanged=unchanged)
        else:
            config = DemoConfig(
                tracks=tracks, listeners=listeners, seed=seed, abuse=abuse, audio=audio
            )
            tables = generate_demo(config)
            write_folder(tables, out)
    except (LinerError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    kinds: Counter[str] = Counter()
    if tables.truth is not None:
        for value in tables.truth["abuse_kinds"]:
            kinds.update(k for k in str(value).split("|") if k)
    click.echo(
        f"wrote {out}: {len(tables.items)} tracks, {len(tables.interactions)} events, "
        f"{len(tables.audio_jobs)} new audio clips, abuse {dict(sorted(kinds.items()))} "
        f"in {time.perf_counter() - started:.1f} s"
    )


__all__ = ["demo_data_command"]
