"""The ``liner eval --task off-policy`` printout: each target's estimate with its interval next
to the logging policy's observed value, and every warning."""

from __future__ import annotations

from pathlib import Path

import click

from offline_eval.errors import EvalError
from recsys.errors import LinerError


def _fmt(entry: dict[str, object]) -> str:
    value, ci = entry.get("value"), entry.get("ci")
    if value is None:
        return "withheld (see warnings)"
    assert isinstance(value, float)
    if isinstance(ci, list | tuple) and len(ci) == 2:
        return f"{value:.4f} [{ci[0]:.4f}, {ci[1]:.4f}]"
    return f"{value:.4f}"


def off_policy_eval(
    *,
    db: Path | None,
    artifacts: Path | None,
    experiment: Path | None,
    out: Path,
    variants: tuple[str, ...],
    experiments_dir: Path | None,
    logs: Path | None,
    n_boot: int,
    seed: int,
    progress: bool,
) -> None:
    """Run the task and print its figures (click errors for the caller's mistakes)."""
    from offline_eval.off_policy.task import run_off_policy_eval

    if db is None or artifacts is None or experiment is None:
        raise click.UsageError(
            "--task off-policy needs --db (the store with the slate log), --artifacts (what "
            "the service served from) and --experiment (the target variants' YAML)"
        )
    try:
        doc = run_off_policy_eval(
            db=db, artifacts=artifacts, experiment=experiment, out=out, variants=variants,
            experiments_dir=experiments_dir, logs=logs, n_boot=n_boot, seed=seed,
            progress=progress,
        )  # fmt: skip
    except (EvalError, LinerError, KeyError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{doc['split_description']}; metric: {doc['metric']} (plays per slate)")
    click.echo("logging policy (observed)".ljust(36) + _fmt(doc["logging"]))
    for name, target in doc["targets"].items():
        est = target["estimate"]
        click.echo(
            f"{name} ({target['primary']})".ljust(36)
            + _fmt(est).ljust(32)
            + f"ESS {est['ess']:.0f}, unsupported {target['unsupported_share']:.1%}"
        )
        for other, e in target["estimators"].items():
            if other != target["primary"]:
                click.echo(f"  {other}".ljust(36) + _fmt(e).ljust(32) + f"ESS {e['ess']:.0f}")
        for warning in dict.fromkeys(target["warnings"]):
            click.echo(f"  WARNING: {warning}", err=True)
    click.echo(f"wrote {out / 'metrics.json'} and {out / 'report.html'}")


__all__ = ["off_policy_eval"]
