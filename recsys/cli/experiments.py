"""`liner experiments`: validate A/B config folders, show a listener's variants, analyse logs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from recsys.errors import LinerError

_DIR_HELP = "Experiments folder (default: LINER_EXPERIMENTS_DIR, else ./experiments)."


def _directory(directory: Path | None) -> Path:
    if directory is not None:
        return directory
    from recsys.settings import LinerSettings

    return LinerSettings().experiments_dir or Path("experiments")


@click.group("experiments")
def experiments_group() -> None:
    """Validate, assign and analyse A/B experiments (one YAML file per experiment).

    Example:

        liner experiments validate experiments
    """


@experiments_group.command("validate")
@click.argument("directory", type=click.Path(path_type=Path))
def validate_command(directory: Path) -> None:
    """Check every experiment file in DIRECTORY and the rules between files.

    Every problem is printed with its file, line, field and an allowed value; the exit code
    is 1 when there is any.

    Example:

        liner experiments validate experiments
    """
    from recsys.experiments import load_experiments
    from recsys.experiments.experiment_set import experiment_files

    try:
        experiments = load_experiments(directory)
    except LinerError as exc:
        raise click.ClickException(str(exc)) from exc
    now = datetime.now(UTC)
    for cfg in experiments.experiments:
        state = "running" if cfg.is_active(now) else "not running now"
        variants = ", ".join(
            f"{v.name} {w:.0%}" for v, w in zip(cfg.variants, cfg.weights, strict=True)
        )
        click.echo(
            f"ok  {cfg.name} ({experiments.files[cfg.name].name}): layer {cfg.layer} "
            f"[{cfg.range[0]:g}, {cfg.range[1]:g}), traffic {cfg.traffic:g}, holdout "
            f"{cfg.holdout:g}, {variants}; {state}"
        )
    count = len(experiment_files(directory))
    click.echo(f"{count} file{'s' if count != 1 else ''} valid.")


@experiments_group.command("assign")
@click.argument("listener_id")
@click.option("--dir", "directory", type=click.Path(path_type=Path), help=_DIR_HELP)
@click.option("--at", "at", type=click.DateTime(), help="Time to assign at (default: now, UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--explain",
    is_flag=True,
    help="Say, for every experiment in the folder, why the listener is or is not enrolled.",
)
def assign_command(
    listener_id: str, directory: Path | None, at: datetime | None, as_json: bool, explain: bool
) -> None:
    """Show LISTENER_ID's variant in every running experiment and the resulting parameters.

    Example:

        liner experiments assign listener-42 --dir experiments --explain
    """
    from recsys.experiments import load_experiments
    from recsys.params import PolicyParams

    try:
        experiments = load_experiments(_directory(directory))
    except LinerError as exc:
        raise click.ClickException(str(exc)) from exc
    now = (at.replace(tzinfo=UTC) if at.tzinfo is None else at) if at else datetime.now(UTC)
    assignment = experiments.assign(listener_id, now=now)
    defaults = PolicyParams().model_dump()
    params = assignment.params.model_dump()
    changed = {k: v for k, v in params.items() if v != defaults[k]}
    if as_json:
        payload = {
            "listener_id": listener_id,
            "at": now.isoformat(),
            "label": assignment.label,
            "exposures": [
                {
                    "experiment": e.experiment,
                    "variant": e.variant,
                    "layer": e.layer,
                    "in_holdout": e.in_holdout,
                }
                for e in assignment.exposures
            ],
            "changed_params": changed,
            "params": params,
        }
        if explain:
            payload["explain"] = experiments.explain(listener_id, now=now)
        click.echo(json.dumps(payload, sort_keys=True))
        return
    if explain:
        for name, why in experiments.explain(listener_id, now=now).items():
            click.echo(f"{name}: {why}")
        if not experiments.experiments:
            click.echo(f"no experiment files in {_directory(directory)}")
    if not assignment.exposures:
        click.echo(f"{listener_id}: in no running experiment; default parameters.")
        return
    for e in assignment.exposures:
        note = " (held out: defaults)" if e.in_holdout else ""
        click.echo(f"{e.experiment} [{e.layer}]: {e.variant}{note}")
    click.echo(
        "changed parameters: " + (json.dumps(changed, sort_keys=True) if changed else "none")
    )


@experiments_group.command("export")
@click.option("--dir", "directory", type=click.Path(path_type=Path), help=_DIR_HELP)
@click.option(
    "--listeners",
    "listeners",
    required=True,
    help="Store file / sqlite:/// URL (every listener in it), or a text file of listener ids "
    "(one per line).",
)
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Folder.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet"]),
    default="csv",
    show_default=True,
    help="Format of the assignments table.",
)
@click.option("--at", "at", type=click.DateTime(), help="Time to assign at (default: now, UTC).")
def export_command(
    directory: Path | None, listeners: str, out: Path, fmt: str, at: datetime | None
) -> None:
    """Write every listener's assignments (assignments.csv / .parquet: listener_id,
    experiment, layer, variant, in_holdout, label) and growthbook.json: each experiment as a
    GrowthBook SDK experiment that buckets every listener the same way.

    Example:

        liner experiments export --dir experiments --listeners var/liner.db --out var/ab-export
    """
    from recsys.experiments import load_experiments
    from recsys.experiments.export import assignments_frame, growthbook_definitions

    try:
        experiments = load_experiments(_directory(directory))
        ids = _listener_ids(listeners)
    except LinerError as exc:
        raise click.ClickException(str(exc)) from exc
    now = (at.replace(tzinfo=UTC) if at.tzinfo is None else at) if at else datetime.now(UTC)
    frame = assignments_frame(experiments, ids, now=now)
    out.mkdir(parents=True, exist_ok=True)
    table = out / f"assignments.{fmt}"
    if fmt == "csv":
        frame.to_csv(table, index=False)
    else:
        frame.to_parquet(table, index=False)
    definitions = out / "growthbook.json"
    definitions.write_text(json.dumps(growthbook_definitions(experiments), indent=2) + "\n")
    enrolled = frame.loc[frame["experiment"] != "", "listener_id"].nunique()
    click.echo(
        f"{len(ids)} listeners, {enrolled} in a running experiment: wrote {table} and {definitions}"
    )


def _listener_ids(source: str) -> list[str]:
    """Listener ids from a store (file or URL) or a text file of ids."""
    path = Path(source.removeprefix("sqlite:///"))
    if not path.is_file():
        raise LinerError(
            f"{source} is not a file. Fix: pass the store (var/liner.db) or a text file of "
            "listener ids"
        )
    with path.open("rb") as fh:
        is_sqlite = fh.read(16) == b"SQLite format 3\x00"
    if is_sqlite:
        from recsys.store import open_store

        store = open_store(str(path))
        try:
            return [x.listener_id for x in store.iter_listeners()]
        finally:
            store.close()
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


@experiments_group.command("analyze")
@click.option(
    "--logs",
    "logs",
    required=True,
    help="Store file / sqlite:/// URL, or a folder with slates.jsonl and events.jsonl.",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder for analysis.json and report.html.",
)
@click.option("--dir", "directory", type=click.Path(path_type=Path), help=_DIR_HELP)
@click.option(
    "--alpha",
    default=0.05,
    show_default=True,
    type=click.FloatRange(0.001, 0.2),
    help="1 - confidence level.",
)
def analyze_command(logs: str, out: Path, directory: Path | None, alpha: float) -> None:
    """Per-variant metrics with confidence intervals, a sample-ratio check and a verdict.

    Exit codes, so a pipeline can gate on it: 0 no sample-ratio mismatch and every guardrail
    of every variant passed (a "don't ship" for lack of evidence still exits 0);
    3 a sample-ratio mismatch in any experiment (assignment or logging is broken);
    4 a guardrail failed (and no mismatch); 1 the logs or configs could not be read.

    Example:

        liner experiments analyze --logs var/liner.db --dir experiments --out var/ab-report
    """
    from recsys.experiments import load_experiments
    from recsys.experiments.analysis import analyze
    from recsys.experiments.logs import load_logs
    from recsys.experiments.report import write_report

    try:
        experiments = load_experiments(_directory(directory))
        result = analyze(experiments, load_logs(logs), alpha=alpha)
    except LinerError as exc:
        raise click.ClickException(str(exc)) from exc
    json_path, html_path = write_report(result, out)
    for exp in result["experiments"]:
        srm = " (SAMPLE RATIO MISMATCH)" if exp["srm"]["mismatch"] else ""
        click.echo(f"{exp['name']}: {exp['verdict']}{srm}")
    if not result["experiments"]:
        click.echo("no configured experiment appears in these logs")
    click.echo(f"wrote {json_path} and {html_path}")
    code = analysis_exit_code(result)
    if code:
        click.echo(f"exit {code}: {EXIT_REASONS[code]}", err=True)
        raise SystemExit(code)


EXIT_SRM = 3
EXIT_GUARDRAIL = 4
EXIT_REASONS = {
    EXIT_SRM: "sample ratio mismatch: do not trust these results",
    EXIT_GUARDRAIL: "a guardrail failed",
}


def analysis_exit_code(result: dict[str, object]) -> int:
    """3 on any sample-ratio mismatch, else 4 on any failed guardrail, else 0."""
    experiments = result.get("experiments") or []
    assert isinstance(experiments, list)
    if any(exp["srm"]["mismatch"] for exp in experiments):
        return EXIT_SRM
    failed = any(
        not rail["passed"]
        for exp in experiments
        for comparison in exp["comparisons"]
        for rail in comparison["guardrails"]
    )
    return EXIT_GUARDRAIL if failed else 0


__all__ = ["experiments_group"]
