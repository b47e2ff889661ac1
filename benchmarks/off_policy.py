"""Off-policy estimates checked against known truth, and the cost of the exploration that makes
them possible.

A small demo world (``recsys.demo``; its listeners' true play probabilities are known) is
ingested, built and served by the real pipeline. Listeners examine position k with probability
1/log2(k + 2) and play what they examine with their true probability, so every variant's
on-policy value (expected plays per slate) is exact.

1. **Coverage.** The logging variant explores (exploration 0.2, temperature 0.1). In each of
   ``--reps`` repeated simulations it serves ``--slates`` slates to every listener; every
   estimator estimates each target variant from those logs; we report bias, RMSE, mean ESS,
   mean interval width and the share of 95% intervals that cover the on-policy truth.
2. **Missing support.** Logs from a deterministic variant (exploration 0) cannot support a
   different target: the share of runs that withhold the estimate with a warning.
3. **End to end.** Slates served through ``PipelineRecommender.recommend`` into the store's
   slate log, simulated plays written back as feedback events, the ``liner eval --task
   off-policy`` runner on the store; its primary estimate against the counterfactual truth
   (each logged request served by the target, with the history of that moment).
4. **Cost of exploration.** True plays per slate and position-weighted human-artist exposure
   of the exploring variant against the same variant without exploration.

Example:
    python -m benchmarks.off_policy --quick
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.report import parser, write_result
from offline_eval.off_policy import ESTIMATORS, PipelineReplay, PolicySimulator, serve_traffic
from offline_eval.off_policy.logged import slates_from_store
from offline_eval.off_policy.simulator import (
    build_demo_recommender,
    counterfactual_value,
    examination,
)
from offline_eval.off_policy.task import PRIMARY, run_off_policy_eval
from recsys.experiments.experiment_set import load_experiments
from recsys.experiments.validate import load_experiment_file
from recsys.params import PolicyParams

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "off-policy"
LOGGING = PolicyParams(exploration=0.2, exploration_temperature=0.1)
TARGETS = {
    "greedy": PolicyParams(),
    "boost": PolicyParams(human_artist_boost=0.3, emerging_artist_slots=2),
    "diverse": PolicyParams(mmr_lambda=0.7),
    "explore-wide": PolicyParams(exploration=0.3, exploration_temperature=0.2),
}


def coverage(sim: PolicySimulator, reps: int, slates: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    truth = {name: sim.on_policy_value(p, rng, draws=100) for name, p in TARGETS.items()}
    runs: dict[tuple[str, str], list[tuple[float, float, float, float]]] = {}
    withheld: dict[tuple[str, str], int] = {}
    for rep in range(reps):
        logged = sim.log(LOGGING, slates, rng)
        for name, params in TARGETS.items():
            est, _ = sim.evaluate(logged, target=params, logging=LOGGING, n_boot=300, seed=rep)
            for e_name, e in est.items():
                if e.value is None or e.ci is None:
                    withheld[(name, e_name)] = withheld.get((name, e_name), 0) + 1
                    continue
                runs.setdefault((name, e_name), []).append((e.value, e.ci[0], e.ci[1], e.ess))
    table: dict[str, Any] = {}
    for name in TARGETS:
        row: dict[str, Any] = {"truth": round(truth[name], 4)}
        for e_name in ESTIMATORS:
            got = np.asarray(runs.get((name, e_name), []))
            if not len(got):
                row[e_name] = {"withheld": withheld.get((name, e_name), 0)}
                continue
            err = got[:, 0] - truth[name]
            covered = (got[:, 1] <= truth[name]) & (truth[name] <= got[:, 2])
            row[e_name] = {
                "bias": round(float(err.mean()), 4),
                "rmse": round(float(np.sqrt((err**2).mean())), 4),
                "coverage": round(float(np.mean(covered)), 3),
                "ci_width": round(float(np.mean(got[:, 2] - got[:, 1])), 4),
                "ess": round(float(got[:, 3].mean()), 1),
                "withheld": withheld.get((name, e_name), 0),
            }  # fmt: skip
        table[name] = row
    return table


def missing_support(sim: PolicySimulator, reps: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    deterministic = PolicyParams()
    warned = 0
    for _ in range(reps):
        logged = sim.log(deterministic, 2, rng)
        est, diag = sim.evaluate(logged, target=TARGETS["boost"], logging=deterministic)
        warned += int(est[PRIMARY].value is None and any("support" in w for w in diag.warnings))
    return {"runs": reps, "withheld_with_warning": warned}


def exploration_cost(sim: PolicySimulator, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    cat = sim.replay.rec.catalog
    out: dict[str, Any] = {}
    for name, params in (("off", PolicyParams()), ("on", LOGGING)):
        exam = examination(sim.k)
        human = []
        for inp in sim.inputs(params).values():
            for _ in range(1 if params.exploration == 0 else 50):
                slate = sim.replay.rec.policy.select(inp.ctx, inp.cands, inp.scores, rng)
                is_human = cat.is_human[inp.cands.rows[slate.picks]]
                w = exam[: len(is_human)]
                human.append(float((w * is_human).sum() / w.sum()))
        out[name] = {
            "plays_per_slate": round(sim.on_policy_value(params, rng, draws=100), 4),
            "human_exposure_share": round(float(np.mean(human)), 4),
        }
    return out


def end_to_end(root: Path, rec: Any, truth: Any, listeners: list[str], slates: int) -> dict:
    exps = load_experiments(EXAMPLES / "experiments")
    now = dt.datetime.now(dt.UTC)
    assign = {}
    for u in listeners:
        a = exps.assign(u, now=now)
        assign[u] = (a.label, a.params)
    rng = np.random.default_rng(99)
    serve_traffic(rec, truth, assign=assign, slates_per_listener=slates, rng=rng)
    doc = run_off_policy_eval(
        db=root / "liner.db", artifacts=root / "artifacts", experiment=EXAMPLES / "targets.yaml",
        out=root / "ope", experiments_dir=EXAMPLES / "experiments", n_boot=500, progress=False,
    )  # fmt: skip
    logged, _ = slates_from_store(rec.store)
    cfg = load_experiment_file(EXAMPLES / "targets.yaml")
    out: dict[str, Any] = {"slates": len(logged), "logging_observed": doc["logging"]}
    for v in cfg.variants:
        true = counterfactual_value(PipelineReplay(rec), truth, logged, v.params, rng)
        t = doc["targets"][v.name]
        est = t["estimate"]
        ci = est["ci"]
        out[v.name] = {
            "truth": round(true, 4),
            "estimate": est["value"],
            "ci": ci,
            "covered": bool(ci is not None and ci[0] <= true <= ci[1]),
            "replay_agreement": t["replay_agreement"],
            "warnings": t["warnings"],
        }
    return out


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--seed", type=int, default=3, help="Demo world seed.")
    p.add_argument("--reps", type=int, default=None, help="Repeated simulations (12 / 40).")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    tracks, n_listeners, reps, slates = (300, 40, 12, 8) if args.quick else (400, 60, 40, 10)
    reps = args.reps or reps
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rec, truth = build_demo_recommender(
            root, tracks=tracks, listeners=n_listeners, seed=args.seed
        )
        listeners = [str(u) for u in truth.play.index]
        sim = PolicySimulator(PipelineReplay(rec), truth, listeners, k=10, samples=100)
        figures = {
            "coverage": coverage(sim, reps, slates, args.seed),
            "missing_support": missing_support(sim, 5, args.seed),
            "exploration_cost": exploration_cost(sim, args.seed),
            "end_to_end": end_to_end(root, rec, truth, listeners, 4 if args.quick else 8),
        }
        rec.store.close()
    write_result(
        "off_policy_quick" if args.quick else "off_policy",
        {"seed": args.seed, "tracks": tracks, "listeners": n_listeners, "reps": reps,
         "slates_per_listener": slates, "logging": LOGGING.model_dump(include={
             "exploration", "exploration_temperature"}),
         "runtime_s": round(time.perf_counter() - started, 1), **figures,
         "quick": bool(args.quick)},
    )  # fmt: skip


if __name__ == "__main__":
    main()
