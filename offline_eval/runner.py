"""Run an offline evaluation end to end: load, split, fit, score, bootstrap, compare, report."""

from __future__ import annotations

import logging
import multiprocessing
import pickle
import time
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from offline_eval.datasets import DEFAULT_DATA_ROOT, EvalDataset, load_dataset, load_folder
from offline_eval.distributed import run_slates
from offline_eval.errors import EvalError
from offline_eval.metrics import MetricContext, Scorecard, score_slates
from offline_eval.models import BASELINES, available_models, create_model
from offline_eval.models.library import LIBRARY_MODELS
from offline_eval.report import json_safe, write_report
from offline_eval.slices import activity_slices, popularity_slices
from offline_eval.splits import make_split
from offline_eval.stats import bootstrap, compare
from offline_eval.tasks import create_task
from offline_eval.tuning import tune_model
from offline_eval.variants import VariantPlan, guardrail_verdicts, plan_variants
from recsys.params import PolicyParams

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class EvalResult:
    """What an evaluation produced.

    Attributes:
        metrics: the ``metrics.json`` document.
        out: the output folder (None when nothing was written).
        runtime_s: wall-clock seconds.
    """

    metrics: dict[str, Any]
    out: Path | None
    runtime_s: float
    scorecards: dict[str, Scorecard] = field(default_factory=dict)


def default_models() -> list[str]:
    """The baselines plus ``liner`` when the pipeline has registered it."""
    names = list(BASELINES)
    if "liner" in available_models():
        names.append("liner")
    return names


def run_evaluation(
    *,
    dataset: str | None = None,
    data: str | Path | None = None,
    eval_dataset: EvalDataset | None = None,
    data_root: str | Path = DEFAULT_DATA_ROOT,
    out: str | Path | None = None,
    models: Sequence[str] | None = None,
    experiment: str | Path | None = None,
    variant_plan: VariantPlan | None = None,
    split: str | None = None,
    folds: int = 5,
    fold: int = 0,
    leave_n: int = 1,
    k: int = 10,
    control: str | None = None,
    task: str = "recommend",
    seed: int = 0,
    n_boot: int = 1000,
    threads: int = 2,
    model_options: Mapping[str, Mapping[str, Any]] | None = None,
    progress: bool = True,
    tune: bool = False,
) -> EvalResult:
    """Evaluate models (and A/B variants) offline and write ``metrics.json`` + ``report.html``
    (and ``per_listener.csv``: every per-listener metric value, for your own statistics).

    Args:
        dataset: a named dataset (``hetrec-lastfm-2k``, ``tidytuesday-spotify``, ``demo``).
        data: or any folder in the data folder format.
        eval_dataset: or a dataset already in memory.
        data_root: where named datasets live (read in place).
        out: output folder; None writes nothing.
        models: model names (default: the baselines, plus ``liner`` when registered).
        experiment: an A/B config file; adds ``liner:<variant>`` for each variant.
        variant_plan: the same, built in code.
        split: ``temporal``, ``leave-last-n`` or ``user-kfold`` (default: temporal when the
            data has times, else user-kfold).
        folds: listener folds for ``user-kfold``; ``fold`` is the one evaluated.
        fold: see ``folds``.
        leave_n: pairs held out per listener for ``leave-last-n``.
        k: slate size.
        control: the model compared against (default: the experiment's control, else the
            best model by ndcg@k).
        task: evaluation task (``recommend``).
        seed: seed for splits, models and bootstrap.
        n_boot: bootstrap resamples.
        threads: CPU threads a model may use.
        model_options: per-model options, e.g. ``{"ease": {"l2": 200}}``.
        progress: show progress bars.
        tune: choose each model's hyper-parameters on a validation split carved from the
            training data first (:mod:`offline_eval.tuning`), then evaluate the chosen setting.

    Returns:
        The metrics document, the output folder and the runtime.

    Raises:
        EvalError: for a bad combination of options, an unknown model or an unusable split.

    Example:
        >>> result = run_evaluation(  # doctest: +SKIP
        ...     dataset="hetrec-lastfm-2k", data_root="../shared/datasets", out="eval-out"
        ... )
        >>> result.metrics["models"]["ease"]["ndcg@10"]  # doctest: +SKIP
    """
    started = time.perf_counter()
    ds = _load(dataset, data, eval_dataset, data_root)
    plan = variant_plan or (plan_variants(experiment) if experiment else None)
    names = list(models) if models else default_models()
    params: dict[str, PolicyParams | None] = dict.fromkeys(names)
    if plan is not None:
        params.update(plan.models)
    chosen = make_split(ds.interactions, split, seed=seed, n=leave_n, k=folds, fold=fold)
    logger.info("split: %s", chosen.description)
    the_task = create_task(task)
    data_ = the_task.build(ds, chosen)
    if not models and plan is None and data_.models:  # a task with its own models (tag-query)
        params = dict.fromkeys(data_.models)
    ctx = MetricContext.build(ds, data_.train, data_.test, k)
    # models see the catalog as of the split: no tag assigned after the cut-off or on a test pair
    train_ds = ds.tags_visible(chosen).with_interactions(chosen.train)
    cards: dict[str, Scorecard] = {}
    timings: dict[str, dict[str, float]] = {}
    failures: dict[str, str] = {}
    tuning: dict[str, Any] = {}
    job = _ModelJob(
        task=the_task,
        train=train_ds,
        split=chosen,
        users=list(ctx.users),
        k=k,
        seed=seed,
        threads=threads,
        tune=tune and task == "recommend",
        options={n: dict((model_options or {}).get(n.partition(":")[0], {})) for n in params},
        params=params,
    )
    side = _side_models(job, list(params))
    pending = _start_side(job, side) if side else None
    runs = [_run_model(job, n) for n in tqdm(list(params), desc="models", disable=not progress)
            if n not in side]  # fmt: skip
    if pending is not None:
        runs += _finish_side(pending, job, side)
    for run in sorted(runs, key=lambda r: list(params).index(r.name)):
        if run.tuning is not None:
            tuning[run.name] = run.tuning
        if run.failure is not None:
            failures[run.name] = run.failure
            continue
        assert run.slates is not None
        cards[run.name] = score_slates(ctx, run.slates)
        timings[run.name] = run.timings
    if not cards:
        raise EvalError(f"every model failed: {failures}")
    boot = bootstrap(cards, n_boot=n_boot, seed=seed, progress=progress)
    task_control = data_.control if data_.control in boot.estimates else None
    ctrl = _control(control or task_control, plan, boot.estimates, k)
    omitted = omitted_metrics(ctx, boot.estimates)
    comparisons = [
        c
        for m in cards
        if m != ctrl
        for c in compare(boot, cards, m, ctrl)
        if c.metric not in omitted
    ]
    doc: dict[str, Any] = {
        "dataset": ds.name,
        "split": data_.split_kind or chosen.kind,
        "split_description": data_.split_description or chosen.description,
        "task": data_.description,
        "k": k,
        "n_listeners": len(ctx.users),
        "n_bootstrap": n_boot,
        "seed": seed,
        "models": model_estimates(boot.estimates, omitted),
        "control": ctrl,
        "comparisons": {
            m: {
                c.metric: {
                    "diff": json_number(c.diff),
                    "ci": [json_number(c.ci[0]), json_number(c.ci[1])],
                    "p_value": json_number(c.p_value),
                    "test": c.test,
                    "significant": c.significant,
                }
                for c in comparisons
                if c.model == m
            }
            for m in cards
            if m != ctrl
        },
        "slices": {
            m: {
                "listener_activity": activity_slices(ctx, c),
                "item_popularity": popularity_slices(ctx, c),
            }
            for m, c in cards.items()
        },
        "omitted_metrics": omitted,
        "tuning": tuning,
        "simulated_metrics": simulated_metrics(boot.estimates) if ds.provenance_simulated else [],
        "provenance_simulated": ds.provenance_simulated,
        "provenance_note": ds.provenance_description,
        "integrity_truth": ds.has_integrity_truth,
        "dataset_notes": list(train_ds.notes),
        "timings": timings,
        "failed_models": failures,
    }
    if plan is not None:
        doc["experiment"] = {
            "name": plan.experiment,
            "control": plan.control,
            "verdicts": guardrail_verdicts(plan, comparisons, k),
        }
    runtime = time.perf_counter() - started
    doc["runtime_s"] = round(runtime, 1)
    doc = json_safe(doc)
    out_dir = None
    if out is not None:
        out_dir = write_report(doc, Path(out))
        per_listener = pd.concat(
            {m: c.per_user for m, c in cards.items()}, names=["model", "user_id"]
        )
        per_listener.reset_index().to_csv(out_dir / "per_listener.csv", index=False)
    return EvalResult(metrics=doc, out=out_dir, runtime_s=runtime, scorecards=cards)


@dataclass(frozen=True)
class _ModelJob:
    """What every model of one evaluation is fitted and asked with (picklable)."""

    task: Any
    train: EvalDataset
    split: Any
    users: list[str]
    k: int
    seed: int
    threads: int
    tune: bool
    options: dict[str, dict[str, Any]]
    params: dict[str, PolicyParams | None]


@dataclass
class _ModelRun:
    """One model's outcome: its slates (or why it failed), tuning and timings."""

    name: str
    slates: dict[str, Any] | None = None
    tuning: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    failure: str | None = None


def _run_model(job: _ModelJob, name: str, *, beside: bool = True) -> _ModelRun:
    """Tune (when asked), fit on the training split, and answer the test listeners (the
    served pipeline's two builds at once when ``beside`` and a second CPU allow)."""
    opts = dict(job.options.get(name, {}))
    params = job.params.get(name)
    run = _ModelRun(name=name)
    if beside and job.tune and name.partition(":")[0] == "liner" and _beside_ok():
        return _run_pipeline_beside_tuning(job, name, opts, params)
    if job.tune:
        run.tuning = _tune(name, job, opts, params)
        picked = run.tuning["chosen"]
        if name.partition(":")[0] == "liner" and picked:
            params = (params or PolicyParams()).model_copy(update=picked)
        else:
            opts.update(picked)
    model = create_model(name, params=params, seed=job.seed, threads=job.threads, options=opts)
    t0 = time.perf_counter()
    try:
        model.fit(job.train, job.split)
        t1 = time.perf_counter()
        run.slates = dict(run_slates(job.task, model, job.users, job.k))  # tasks under --ray
    except Exception as exc:  # one failing model must not lose the others' results
        logger.exception("model %s failed", name)
        run.failure = f"{type(exc).__name__}: {exc}"
        return run
    finally:
        getattr(model, "close", lambda: None)()  # temporary stores and artifacts
    t2 = time.perf_counter()
    run.timings = {"fit_s": round(t1 - t0, 2), "recommend_s": round(t2 - t1, 2)}
    logger.info("%s: fit %.1fs, recommend %.1fs", name, t1 - t0, t2 - t1)
    return run


def _beside_ok() -> bool:
    """Whether this machine has a second CPU for the served pipeline's validation build."""
    from recsys.parallel import active_backend, default_workers

    return default_workers() >= 2 and not active_backend()


def _tune_main(
    name: str, job: _ModelJob, opts: dict[str, Any], params: PolicyParams | None, level: int
) -> dict[str, Any]:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return _tune(name, job, opts, params)


def _tune(
    name: str, job: _ModelJob, opts: dict[str, Any], params: PolicyParams | None
) -> dict[str, Any]:
    """``name``'s settings tuned on a validation split of the job's training data."""
    return tune_model(
        name,
        job.train,
        job.split,
        k=job.k,
        seed=job.seed,
        threads=job.threads,
        options=opts,
        params=params,
    )


def _run_pipeline_beside_tuning(
    job: _ModelJob, name: str, opts: dict[str, Any], params: PolicyParams | None
) -> _ModelRun:
    """``--tune`` for the served pipeline with its two builds at once: its settings are
    request parameters (:data:`~offline_eval.tuning.LINER_GRID`), not build inputs, so the
    build on the whole training split does not depend on the validation build's outcome.
    The catalog's text vectors are embedded once, first (:meth:`ServedLinerModel.share_text`);
    then the validation build and its slates run in a second process while this one builds on
    the training split; the test listeners are answered with the setting validation chose.
    The figures are those of tuning first and building after (a test checks it); ``fit_s`` is
    the final build's wall time with the validation build beside it."""
    run = _ModelRun(name=name)
    model = create_model(name, params=params, seed=job.seed, threads=job.threads, options=opts)
    t0 = time.perf_counter()
    pool: ProcessPoolExecutor | None = None
    try:
        if not getattr(model, "share_text", lambda _train: False)(job.train):
            getattr(model, "close", lambda: None)()
            return _run_model(job, name, beside=False)  # the text would be embedded twice
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        level = logging.getLogger().getEffectiveLevel()
        future = pool.submit(_tune_main, name, job, opts, params, level)
        logger.info("%s: validation build in a second process, beside the final build", name)
        model.fit(job.train, job.split)
        run.tuning = future.result()
        picked = run.tuning["chosen"]
        if picked:
            model.params = (params or PolicyParams()).model_copy(update=picked)  # type: ignore[attr-defined]
        t1 = time.perf_counter()
        run.slates = dict(run_slates(job.task, model, job.users, job.k))
    except Exception as exc:  # one failing model must not lose the others' results
        logger.exception("model %s failed", name)
        run.failure = f"{type(exc).__name__}: {exc}"
        return run
    finally:
        if pool is not None:
            pool.shutdown()
        getattr(model, "close", lambda: None)()
    t2 = time.perf_counter()
    run.timings = {"fit_s": round(t1 - t0, 2), "recommend_s": round(t2 - t1, 2)}
    logger.info("%s: fit %.1fs (tuned beside it), recommend %.1fs", name, t1 - t0, t2 - t1)
    return run


def _side_models(job: _ModelJob, names: list[str]) -> list[str]:
    """The served pipeline's models, run in a second process beside the others when this
    machine has a CPU for it: its build is mostly one thread for many minutes, while the
    baselines fit and answer in the main process (on a 200k-item catalog their 5 minutes of
    wall time otherwise add to the pipeline's)."""
    from recsys.parallel import active_backend, default_workers

    side = [n for n in names if n.partition(":")[0] in ("liner", "liner-ensemble")]
    if not side or len(side) == len(names) or default_workers() < 2 or active_backend():
        return []
    try:
        pickle.dumps(job)
    except Exception as exc:  # e.g. a task holding a live connection
        logger.info("models run one after another (the job cannot be sent: %s)", exc)
        return []
    return side


def _side_main(job: _ModelJob, names: list[str], level: int) -> list[_ModelRun]:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return [_run_model(job, n) for n in names]


def _start_side(job: _ModelJob, names: list[str]) -> tuple[Any, Any]:
    ctx = multiprocessing.get_context("spawn")  # a fork of a process holding torch can hang
    pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx)
    level = logging.getLogger().getEffectiveLevel()
    logger.info("%s: fitted in a second process, beside the other models", ", ".join(names))
    return pool, pool.submit(_side_main, job, names, level)


def _finish_side(pending: tuple[Any, Any], job: _ModelJob, names: list[str]) -> list[_ModelRun]:
    pool, future = pending
    try:
        return list(future.result())
    except Exception as exc:  # the process died (e.g. out of memory): say so per model
        logger.exception("the pipeline's process failed")
        return [_ModelRun(name=n, failure=f"{type(exc).__name__}: {exc}") for n in names]
    finally:
        pool.shutdown()


def _load(
    dataset: str | None,
    data: str | Path | None,
    eval_dataset: EvalDataset | None,
    data_root: str | Path,
) -> EvalDataset:
    given = [x is not None for x in (dataset, data, eval_dataset)]
    if sum(given) != 1:
        raise EvalError("give exactly one of --dataset NAME or --data DIR")
    if eval_dataset is not None:
        return eval_dataset
    if data is not None:
        return load_folder(data)
    assert dataset is not None
    return load_dataset(dataset, data_root)


def _control(
    control: str | None,
    plan: VariantPlan | None,
    estimates: Mapping[str, Mapping[str, Any]],
    k: int,
) -> str:
    if control is not None:
        if control not in estimates:
            raise EvalError(f"control {control!r} was not evaluated. Fix: add it to --models")
        return control
    if plan is not None and plan.control in estimates:
        return plan.control
    key = f"ndcg@{k}"
    # the best baseline by default (ours or a library's: hybrid and sequential included), so
    # the pipeline and variants are judged against it
    baselines = (*BASELINES, *LIBRARY_MODELS)
    pool = [m for m in estimates if m in baselines] or list(estimates)
    return max(pool, key=lambda m: estimates[m][key].value)


def simulated_metrics(estimates: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Metrics computed from provenance labels (exposure shares by provider group, label
    completeness): simulated whenever the dataset's labels are."""
    names = {m for est in estimates.values() for m in est}
    return sorted(
        m
        for m in names
        if m == "label_completeness"
        or (
            m.endswith(("_exposure_share", "_exposure_vs_relevance"))
            and not m.startswith("emerging_")
        )
    )


def omitted_metrics(
    ctx: MetricContext, estimates: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    """Metrics undefined for every model on this dataset, with the reason (they are left out
    of the tables and comparisons rather than printed empty with p = 1)."""
    names = {m for est in estimates.values() for m in est}
    out: dict[str, str] = {}
    for metric in sorted(names):
        values = [est[metric].value for est in estimates.values() if metric in est]
        if any(v == v for v in values):
            continue
        if metric == "intra_list_diversity":
            featured = ctx.features is not None and ctx.features.nnz > 0
            out[metric] = (
                "no slate has two items with tags or audio features to compare"
                if featured
                else "the dataset's items carry no tags or audio features to compare"
            )
        else:
            out[metric] = "undefined for every test listener on this dataset"
    return out


def json_number(x: float) -> float | None:
    """JSON has no NaN: undefined figures are null."""
    return None if x != x else round(float(x), 6)


def model_estimates(
    estimates: Mapping[str, Mapping[str, Any]], omitted: Collection[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Each model's metric estimates (value and interval) as ``metrics.json`` holds them,
    leaving out the metrics that could not be computed."""
    return {
        m: {
            metric: {
                "value": json_number(e.value),
                "ci": [json_number(e.ci[0]), json_number(e.ci[1])],
            }
            for metric, e in est.items()
            if metric not in omitted
        }
        for m, est in estimates.items()
    }


__all__ = ["EvalResult", "default_models", "json_number", "model_estimates", "run_evaluation"]
