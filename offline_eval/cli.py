"""``liner eval``: evaluate models and A/B variants offline on a dataset."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from offline_eval.datasets import ADAPTERS, DEFAULT_DATA_ROOT
from offline_eval.errors import EvalError
from offline_eval.splits import SPLIT_KINDS
from recsys.errors import LinerError


def _options(pairs: tuple[str, ...]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        model, dot, option = key.partition(".")
        if not sep or not dot:
            raise click.BadParameter(f"{pair!r}: expected MODEL.OPTION=VALUE (ease.l2=200)")
        out.setdefault(model, {})[option] = value
    return out


@click.command("eval")
@click.option(
    "--data",
    "data",
    type=click.Path(file_okay=False, path_type=Path),
    help="Any folder in the data folder format (docs/data-format.md).",
)
@click.option("--dataset", type=click.Choice(sorted(ADAPTERS)), help="A named dataset.")
@click.option(
    "--data-root",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA_ROOT,
    show_default=True,
    help="Where named datasets live; read in place, never copied.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output folder for metrics.json and report.html.",
)
@click.option(
    "--models",
    default=None,
    help="Comma-separated models (default: popularity,itemknn,als,ease + liner "
    "when available). 'liner:VARIANT' evaluates a variant.",
)
@click.option(
    "--experiment",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A/B config file: evaluate every variant as liner:VARIANT vs its control.",
)
@click.option(
    "--split",
    type=click.Choice(SPLIT_KINDS),
    default=None,
    help="Default: temporal when interactions have times, else user-kfold.",
)
@click.option(
    "--folds",
    type=click.IntRange(2, 100),
    default=5,
    show_default=True,
    help="Listener folds for --split user-kfold.",
)
@click.option(
    "--fold",
    type=click.IntRange(0, 99),
    default=0,
    show_default=True,
    help="Which fold is evaluated (user-kfold).",
)
@click.option(
    "--leave-n",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="Pairs held out per listener (leave-last-n).",
)
@click.option("--k", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option(
    "--control",
    default=None,
    help="Model to compare against (default: experiment control, else best baseline).",
)
@click.option("--task", default="recommend", show_default=True, help="Evaluation task.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--bootstrap",
    "n_boot",
    type=click.IntRange(10, 100000),
    default=1000,
    show_default=True,
    help="Bootstrap resamples of listeners.",
)
@click.option("--threads", type=click.IntRange(1, 64), default=2, show_default=True)
@click.option(
    "--model-option",
    "model_option",
    multiple=True,
    help="MODEL.OPTION=VALUE, repeatable (ease.l2=200, als.factors=128).",
)
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@click.option(
    "--tune",
    is_flag=True,
    help="Choose each model's main hyper-parameters on a validation split carved from the "
    "training data (same budget per model; see offline_eval/tuning.py), then evaluate on test.",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="--task off-policy: the store holding the slate log and feedback.",
)
@click.option(
    "--artifacts",
    type=click.Path(file_okay=False, path_type=Path),
    help="--task off-policy: the artifact directory the service served from.",
)
@click.option(
    "--logs",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="--task off-policy: read slates.jsonl/events.jsonl from this folder instead of --db.",
)
@click.option(
    "--experiments",
    "experiments_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="--task off-policy: the experiments folder the logged slates were served under.",
)
@click.option(
    "--variant",
    "variants",
    multiple=True,
    help="--task off-policy: target variant(s) of --experiment (default: every variant).",
)
@click.option(
    "--ray",
    "ray_address",
    is_flag=False,
    flag_value="local",
    default=None,
    metavar="[ADDRESS]",
    help="Ask for the test listeners' slates (256 listeners per task) and score the bootstrap "
    "resamples (100 per task) as Ray tasks: on the cluster at ADDRESS (auto, "
    "ray://head:10001) or on a local cluster started for the run. Same figures as local. "
    "Needs pip install '.[ray]'.",
)
def eval_command(
    data: Path | None,
    dataset: str | None,
    data_root: Path,
    out: Path,
    models: str | None,
    experiment: Path | None,
    split: str | None,
    folds: int,
    fold: int,
    leave_n: int,
    k: int,
    control: str | None,
    task: str,
    seed: int,
    n_boot: int,
    threads: int,
    model_option: tuple[str, ...],
    no_progress: bool,
    tune: bool,
    db: Path | None = None,
    artifacts: Path | None = None,
    logs: Path | None = None,
    experiments_dir: Path | None = None,
    variants: tuple[str, ...] = (),
    ray_address: str | None = None,
) -> None:
    """Evaluate models (and A/B variants) offline; write metrics.json and report.html.

    Every figure comes with a 95% bootstrap interval over listeners, and every model is
    compared with a control on the same listeners (paired).

    Example:

        liner eval --dataset hetrec-lastfm-2k --data-root ../shared/datasets --out eval-out

        liner eval --data demo --experiment experiments/human-boost.yaml --out eval-ab

        liner eval --task streams --data var/demo --out eval-streams   # bot farms planted

        liner eval --task query --data var/demo --out eval-query   # query and seed requests

        liner eval --task off-policy --db var/liner.db --artifacts var/artifacts \
            --experiment experiments/explore.yaml --experiments experiments --out eval-ope
    """
    from offline_eval.distributed import on_ray
    from offline_eval.runner import run_evaluation

    if ray_address is not None and task in ("streams", "query", "off-policy"):
        raise click.UsageError(f"--ray covers the listener tasks, not --task {task}")
    if task == "streams":  # bot farms planted into the data, scored by the streams detector
        _streams_eval(data, dataset, data_root, out, seed)
        return
    if task == "query":  # query and seed requests made from held-out listening
        from offline_eval.query_task import run_query_evaluation, summary

        try:
            docs = run_query_evaluation(
                dataset=dataset, data=data, data_root=data_root, out=out, split=split, k=k,
                models=[m.strip() for m in models.split(",") if m.strip()] if models else None,
                seed=seed, n_boot=n_boot, options=_options(model_option).get("liner", {}),
                progress=not no_progress,
            )  # fmt: skip
        except (EvalError, LinerError) as exc:
            raise click.ClickException(str(exc)) from exc
        written = [str(doc["written_to"]) for doc in docs.values() if "written_to" in doc]
        click.echo("\n".join([*summary(docs), "wrote " + ", ".join(written)]))
        return
    if task == "off-policy":  # a variant estimated from logged slates
        from offline_eval.off_policy.cli import off_policy_eval

        off_policy_eval(
            db=db, artifacts=artifacts, experiment=experiment, out=out, variants=variants,
            experiments_dir=experiments_dir, logs=logs, n_boot=n_boot, seed=seed,
            progress=not no_progress,
        )  # fmt: skip
        return
    started = time.perf_counter()
    try:
        with on_ray(ray_address):
            result = run_evaluation(
                dataset=dataset,
                data=data,
                data_root=data_root,
                out=out,
                models=[m.strip() for m in models.split(",") if m.strip()] if models else None,
                experiment=experiment,
                split=split,
                folds=folds,
                fold=fold,
                leave_n=leave_n,
                k=k,
                control=control,
                task=task,
                seed=seed,
                n_boot=n_boot,
                threads=threads,
                model_options=_options(model_option),
                progress=not no_progress,
                tune=tune,
            )
    except (EvalError, LinerError) as exc:
        raise click.ClickException(str(exc)) from exc
    doc = result.metrics
    click.echo(f"dataset {doc['dataset']}, split {doc['split_description']}")
    simulated = set(doc.get("simulated_metrics") or [])
    keys = [f"ndcg@{k}", f"recall@{k}", "coverage", "human_exposure_share"]
    keys = [key for key in keys if key not in (doc.get("omitted_metrics") or {})]
    heads = [f"{key} (SIMULATED)" if key in simulated else key for key in keys]
    from offline_eval.report import estimate_rows

    for line in estimate_rows(doc["models"], keys, heads):
        click.echo(line)
    _echo_notes(doc, k)
    click.echo(
        f"wrote {out / 'metrics.json'} and {out / 'report.html'} "
        f"in {time.perf_counter() - started:.0f} s"
    )


def _echo_notes(doc: dict[str, Any], k: int) -> None:
    """What a reader must know to trust the table: the comparison with the control, what is
    simulated, what was left out and why."""
    from offline_eval.stats import format_p

    key = f"ndcg@{k}"
    for name, comp in (doc.get("comparisons") or {}).items():
        c = comp.get(key) or {}
        if c.get("diff") is None:
            continue
        lo, hi = c["ci"]
        verdict = "significant" if c.get("significant") else "not significant"
        click.echo(
            f"{name} vs {doc['control']}: {key} {c['diff']:+.4f} [{lo:+.4f}, {hi:+.4f}] "
            f"{format_p(c.get('p_value'))} ({c.get('test')}, {verdict})"
        )
    for name, t in (doc.get("tuning") or {}).items():
        curve = ", ".join(f"{c['setting']}: {c['ndcg']:.4f}" for c in t.get("curve", []))
        click.echo(f"tuned {name}: chose {t.get('chosen')} (validation ndcg {curve or t['note']})")
    if doc.get("simulated_metrics"):
        click.echo(
            "SIMULATED: " + ", ".join(doc["simulated_metrics"]) + " rest on provenance labels "
            f"assigned by a seeded simulation ({doc.get('provenance_note')}), not on the data"
        )
    for metric, why in (doc.get("omitted_metrics") or {}).items():
        click.echo(f"not reported: {metric} ({why})")
    for name, why in (doc.get("failed_models") or {}).items():
        click.echo(f"FAILED: {name}: {why}")


def _streams_eval(
    data: Path | None, dataset: str | None, data_root: Path, out: Path, seed: int
) -> None:
    from offline_eval.streams import run_streams_eval

    try:
        doc = run_streams_eval(data=data, dataset=dataset, data_root=data_root, out=out, seed=seed)
    except (EvalError, LinerError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"streams on {doc['source']} (farm seed {seed}): precision {doc['precision']}, "
        f"recall {doc['recall']}, farm plays still paid {doc['farm_paid']:.2%}, genuine plays "
        f"excluded {doc['genuine_excluded']:.3%} ({doc['no_farms_genuine_excluded']:.3%} "
        f"without farms); wrote {out / 'streams.json'}"
    )


__all__ = ["eval_command"]
