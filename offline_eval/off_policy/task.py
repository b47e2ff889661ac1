"""``liner eval --task off-policy``: estimate a variant's value from logged slates.

Reads the served slates (with their propensities) and the plays that followed from a store (or
a folder of ``slates.jsonl`` / ``events.jsonl``), replays each logged request under the target
variant and under the variant that served it, and writes every estimator's estimate with its
interval next to the logging policy's observed value, in the ``metrics.json`` /
``report.html`` shape of the other tasks.

Example:
    liner eval --task off-policy --db var/liner.db --artifacts var/artifacts \
        --experiment experiments/human-boost.yaml --experiments experiments --out eval-ope
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from offline_eval.errors import EvalError
from offline_eval.off_policy.estimators import ESTIMATORS, estimate, observed_value
from offline_eval.off_policy.logged import (
    LoggedSlate,
    build_slate_logs,
    slates_from_folder,
    slates_from_store,
)
from offline_eval.off_policy.replay import PipelineReplay, PolicyInputs, replay_slate
from offline_eval.off_policy.simulator import examination
from recsys.experiments.config import HOLDOUT_VARIANT, apply_overrides
from recsys.experiments.experiment_set import ExperimentSet, load_experiments
from recsys.experiments.validate import load_experiment_file
from recsys.params import PolicyParams
from recsys.pipeline import PipelineRecommender
from recsys.settings import LinerSettings
from recsys.store import Store

logger = logging.getLogger(__name__)

PRIMARY = "pbm_dr"
"""The estimator reported first: position-based doubly robust (see benchmarks/README.md)."""


def logging_params(label: str, experiments: ExperimentSet | None) -> PolicyParams:
    """The parameters a slate logged under ``label`` (``exp:variant,…``) was served with: the
    defaults with each named variant's overrides, as the service merges them."""
    params = PolicyParams()
    if not label:
        return params
    for part in label.split(","):
        name, _, variant = part.partition(":")
        cfg = experiments.get(name) if experiments is not None else None
        if variant == HOLDOUT_VARIANT:
            continue
        if cfg is None:
            raise EvalError(
                f"slates were served under '{part}' but no experiment '{name}' is known. Fix: "
                "pass --experiments DIR, the folder the service served from"
            )
        params = apply_overrides(params, cfg.variant(variant).overrides)
    return params


def replay_recommender(
    artifacts: Path, store: Store, settings: LinerSettings, served_from: datetime
) -> PipelineRecommender:
    """The pipeline as the service loaded it before serving the logs: its catalog snapshot
    (popularity, emerging artists) counts only the plays before the first logged slate, so
    the plays the logged slates caused do not change what the replay sees."""
    from recsys.embeddings.spaces import EmbeddingSpaces
    from recsys.pipeline.catalog import CatalogSnapshot
    from recsys.pipeline.loader import load_scorers, play_counts
    from recsys.store.play_flags import learnable_events

    spaces = EmbeddingSpaces.load(artifacts, settings)
    plays, recent, last = play_counts(learnable_events(store), before=served_from)
    catalog = CatalogSnapshot.build(
        track_ids=[str(t) for t in spaces.track_ids],
        tracks={t.track_id: t for t in store.iter_tracks()},
        artists=store.iter_artists(),
        plays=plays,
        recent_plays=recent,
        as_of=last or served_from,
    )
    return PipelineRecommender(
        spaces=spaces, catalog=catalog, store=store, scorers=load_scorers(artifacts)
    )


def run_off_policy_eval(
    *,
    db: Path,
    artifacts: Path,
    experiment: Path,
    out: Path,
    variants: tuple[str, ...] = (),
    experiments_dir: Path | None = None,
    logs: Path | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    samples: int = 200,
    progress: bool = True,
) -> dict[str, Any]:
    """Estimate each target variant of ``experiment`` from the logged slates; write
    ``metrics.json`` and ``report.html`` into ``out`` and return the document."""
    from offline_eval.off_policy.report import write_off_policy_report
    from recsys.store import SqliteStore

    started = time.perf_counter()
    if not Path(db).exists():
        raise EvalError(f"no store at {db}. Fix: pass --db, the store the service logged into")
    store = SqliteStore(db)
    try:
        settings = LinerSettings(db=str(db), artifacts=Path(artifacts))
        logged, skipped = slates_from_folder(logs) if logs is not None else slates_from_store(store)
        if not logged:
            raise EvalError(
                f"no logged slate carries propensities ({skipped} without). Fix: serve a "
                "variant with exploration > 0 (docs/experiments.md) and log feedback"
            )
        rec = replay_recommender(Path(artifacts), store, settings, min(s.served_at for s in logged))
        known = load_experiments(experiments_dir) if experiments_dir is not None else None
        cfg = load_experiment_file(experiment)
        names = variants or tuple(v.name for v in cfg.variants)
        targets = {name: cfg.variant(name).params for name in names}
        k = max(len(s.track_ids) for s in logged)
        exam = examination(k)
        replay = PipelineReplay(rec)
        # A logged request's inputs under the params that served it and under each target.
        by_label: dict[str, PolicyParams] = {}
        inputs: dict[tuple[str, str], PolicyInputs] = {}

        def inputs_for(s: LoggedSlate, key: str, params: PolicyParams) -> PolicyInputs:
            if (s.request_id, key) not in inputs:
                inputs[(s.request_id, key)] = replay.inputs(
                    s.listener_id, len(s.track_ids), params, before=s.served_at
                )
            return inputs[(s.request_id, key)]

        observed, observed_ci = observed_value(
            np.asarray([s.rewards.sum() for s in logged]),
            np.asarray([s.listener_id for s in logged], dtype=object),
        )
        models: dict[str, dict[str, Any]] = {
            "logging (observed)": {"plays_per_slate": {"value": observed, "ci": observed_ci}}
        }
        detail: dict[str, Any] = {}
        cache: dict[int, np.ndarray] = {}
        for name, params in targets.items():
            replayed, agree = [], []
            for s in tqdm(logged, desc=f"replay {name}", disable=not progress, mininterval=5):
                if s.variant not in by_label:
                    by_label[s.variant] = logging_params(s.variant, known)
                log_in = inputs_for(s, "logging:" + s.variant, by_label[s.variant])
                tgt_in = inputs_for(s, "target:" + name, params)
                r = replay_slate(
                    rec.policy, target=tgt_in, logging=log_in, track_ids=s.track_ids,
                    examination=exam, cache=cache, samples=samples,
                )  # fmt: skip
                replayed.append(r)
                agree.append(np.allclose(r.logging_replayed, s.propensities, rtol=1e-6))
            est, diag = estimate(build_slate_logs(logged, replayed, exam), n_boot=n_boot, seed=seed)
            warnings = list(diag.warnings)
            agreement = float(np.mean(agree))
            if agreement < 0.9:
                warnings.append(
                    f"only {agreement:.0%} of the logged slates replay to their logged "
                    "probabilities: the logging variant's parameters, the artifacts or the "
                    "catalog differ from serving time, so the estimates may be biased. Fix: "
                    "pass --experiments DIR and the artifacts the service used"
                )
            for est_name in ESTIMATORS:
                e = est[est_name]
                models[f"{name} ({est_name})"] = {"plays_per_slate": e.to_dict() | {"ess": e.ess}}
            detail[name] = {
                "primary": PRIMARY,
                "estimate": est[PRIMARY].to_dict(),
                "estimators": {n: e.to_dict() for n, e in est.items()},
                "slates": diag.slates,
                "listeners": diag.listeners,
                "unsupported_share": diag.unsupported_share,
                "first_pick_match_rate": diag.match_rate,
                "replay_agreement": agreement,
                "warnings": list(
                    dict.fromkeys(warnings + [w for e in est.values() for w in e.warnings])
                ),
            }
    finally:
        store.close()
    doc: dict[str, Any] = {
        "task": "off-policy",
        "dataset": str(logs or db),
        "split_description": (
            f"{len(logged)} logged slates with propensities ({skipped} without were skipped)"
        ),
        "k": k,
        "metric": "plays_per_slate",
        "examination": exam.tolist(),
        "logging": {"value": observed, "ci": list(observed_ci)},
        "targets": detail,
        "models": models,
        "comparisons": [],
        "runtime_s": time.perf_counter() - started,
    }
    write_off_policy_report(doc, out)
    return doc


__all__ = ["PRIMARY", "logging_params", "run_off_policy_eval"]
