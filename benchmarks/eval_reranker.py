"""Reranker designs of the served build, compared on the validation split (#18).

HetRec last.fm 2k by default (``--data FOLDER`` for another data folder).

``liner eval --tune`` builds the served pipeline on a validation split carved from the
training data. This benchmark builds exactly that (the same split, store and build steps, kept
in ``--work`` so that a second run reuses every cached step), computes the reranker's training
examples once per example setting with the build's own code
(:func:`recsys.pipeline.build_step.training_inputs`,
:func:`recsys.pipeline.training.reranker_examples`), then, per reranker variant, fits the
models (:func:`recsys.pipeline.training.fit_rerankers`), puts them in the build's artifact
directory as the build would, and scores the served slates of the validation listeners
(``PipelineRecommender`` through the harness's ``liner`` adapter). Nothing here touches the
test listeners.

Usage::

    python -m benchmarks.eval_reranker --work /tmp/rr [--text hash] \\
        --variant base:pool=0:plain=0 --variant plain:pool=250:plain=1 \\
        --variant leaves63:pool=250:plain=1:num_leaves=63 --json out.json

A variant is ``name:key=value:...``: ``pool`` and ``draws`` pick the examples (serving's
first-stage pool size, 0: every candidate, as before #18; hold-out draws), ``plain`` trains
the plain model, ``members`` averages that many LightGBM fits (bagging), ``seed`` is the
fit's seed, anything else is a LightGBM parameter (``num_boost_round`` and
``early_stopping_rounds``, ``smooth`` go to ``fit``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import pickle
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from offline_eval.datasets import load_dataset, load_folder
from offline_eval.metrics import MetricContext, score_slates
from offline_eval.models.base import ModelSpec
from offline_eval.models.liner import HashTextModel, ServedLinerModel, training_store
from offline_eval.splits import make_split
from offline_eval.tuning import validation_split

logger = logging.getLogger("eval_reranker")

FIT_KEYS = ("num_boost_round", "early_stopping_rounds", "smooth")
TEXT_CACHE = Path("~/.cache/liner/eval-text")


def parse_variant(text: str) -> tuple[str, dict[str, Any]]:
    """``name:key=value:...`` as (name, settings); values are read as JSON when they parse."""
    name, *parts = text.split(":")
    out: dict[str, Any] = {}
    for part in parts:
        key, _, value = part.partition("=")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return name, out


class Bench:
    """The validation split's served build, its listeners, and how to score a reranker."""

    def __init__(
        self,
        work: Path,
        text: str,
        data_root: str,
        seed: int,
        k: int,
        data: Path | None = None,
        test_fraction: float | None = None,
    ) -> None:
        from recsys.settings import LinerSettings

        self.work, self.k, self.seed = work, k, seed
        ds = load_folder(data) if data else load_dataset("hetrec-lastfm-2k", data_root)
        outer = make_split(ds.interactions, None, seed=seed)
        train = ds.tags_visible(outer).with_interactions(outer.train)
        inner = validation_split(train, outer, seed)
        if test_fraction is not None:  # a second validation cut-off (#18): same split kind
            second = make_split(
                train.interactions, outer.kind, seed=seed, test_fraction=test_fraction
            )
            inner = dataclasses.replace(
                second, description=f"{second.description} (second cut-off)"
            )
        self.inner_ds = train.tags_visible(inner).with_interactions(inner.train)
        self.ctx = MetricContext.build(train, inner.train, inner.test, k)
        self.description = inner.description
        work.mkdir(parents=True, exist_ok=True)
        db = work / "liner.db"
        if not db.is_file():
            self.store = training_store(self.inner_ds, db)
        else:
            from recsys.store import SqliteStore

            self.store = SqliteStore(db)
        self.settings = LinerSettings(db=str(db), artifacts=work / "artifacts").model_copy(
            update={"seed": seed}
        )
        self.text_model = HashTextModel() if text == "hash" else None
        options = {"text_model": "hash"} if text == "hash" else {}
        self.spec = ModelSpec(name="liner", base="liner", seed=seed, options=options)
        self.runs = 0

    @property
    def artifacts(self) -> Path:
        return self.work / "artifacts"

    def build(self) -> dict[str, Any]:
        """Every build step but the reranker's, whose models the variants supply (cached
        steps are carried over)."""
        from recsys.build import build_artifacts, default_steps

        t0 = time.perf_counter()
        steps = [s for s in default_steps() if s.name != "reranker"]
        # the harness's text cache (``liner eval`` runs share it), in and out as it does
        cache, shared = TEXT_CACHE.expanduser(), self.work / "artifacts.cache"
        if self.text_model is None and cache.is_dir():
            shutil.copytree(cache, shared, dirs_exist_ok=True)
        manifest = build_artifacts(
            self.store, self.artifacts, self.settings, steps=steps, text_model=self.text_model
        )
        if self.text_model is None:
            for part in shared.glob("text-*.parts"):
                shutil.copytree(part, cache / part.name, dirs_exist_ok=True)
        logger.info("build: %.0f s", time.perf_counter() - t0)
        return {"steps": sorted(manifest.steps)}

    def examples(self, pool: int, draws: int) -> Any:
        """The reranker's examples with serving's first-stage pool of ``pool`` and ``draws``
        hold-outs (cached in ``--work``)."""
        from recsys.build import BuildContext
        from recsys.pipeline import training
        from recsys.pipeline.build_step import training_inputs

        path = self.work / f"examples-pool{pool}-draws{draws}.pkl"
        if path.is_file():
            with path.open("rb") as f:
                return pickle.load(f)  # our own cache file, written below
        ctx = BuildContext(
            store=self.store,
            settings=self.settings,
            work_dir=self.artifacts,
            cache_dir=self.work / "artifacts.cache",
            text_model=self.text_model,
        )
        t0 = time.perf_counter()
        ex = training.reranker_examples(**training_inputs(ctx), pool=pool, draws=draws)
        logger.info("examples pool=%d draws=%d: %.0f s", pool, draws, time.perf_counter() - t0)
        with path.open("wb") as f:
            pickle.dump(ex, f)
        return ex

    def score(self, models: dict[str, Any]) -> dict[str, Any]:
        """Validation NDCG@k of the served slates with ``models`` as the build's rerankers."""
        from recsys.build import BuildStep, build_artifacts, default_steps
        from recsys.pipeline import load_recommender

        self.runs += 1

        def save(ctx: Any) -> dict[str, Any]:
            for model_id, model in models.items():
                model.save(ctx.work_dir, model_id)
            return {"models": sorted(models)}

        # the build's own reranker step replaced by one that saves these models (a fresh key
        # per variant); every other step is carried over
        ours = BuildStep(name="reranker", run=save, inputs=lambda ctx: {"bench": self.runs})
        steps = [ours if s.name == "reranker" else s for s in default_steps()]
        build_artifacts(
            self.store, self.artifacts, self.settings, steps=steps, text_model=self.text_model
        )
        liner = ServedLinerModel(self.spec)
        liner.recommender = load_recommender(
            self.artifacts, self.store, self.settings, log_slates=False
        )
        if self.text_model is not None:
            liner.recommender.spaces._model = self.text_model  # type: ignore[attr-defined]
        pairs = self.inner_ds.interactions[["user_id", "item_id"]].astype(str)
        liner._seen = {u: set(g) for u, g in pairs.groupby("user_id")["item_id"]}
        t0 = time.perf_counter()
        card = score_slates(self.ctx, liner.recommend(list(self.ctx.users), self.k))
        per = card.per_user[f"ndcg@{self.k}"].to_numpy()
        return {
            "ndcg": float(per.mean()),
            "per_user": per.tolist(),
            "slates_s": round(time.perf_counter() - t0, 1),
            "models": {m: dict(x.meta) for m, x in models.items()},
        }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--text", default="minilm", choices=["minilm", "hash"])
    ap.add_argument("--data-root", default="/work/shared/datasets")
    ap.add_argument("--data", type=Path, help="a data folder instead of HetRec")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument(
        "--test-fraction",
        type=float,
        help="a second validation cut-off: the temporal split's test share of the training "
        "pairs (--tune's validation uses the default, 0.2); use a new --work",
    )
    ap.add_argument("--variant", action="append", default=[])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from recsys.pipeline.training import fit_rerankers

    bench = Bench(
        args.work, args.text, args.data_root, args.seed, args.k, args.data, args.test_fraction
    )
    logger.info("validation split: %s", bench.description)
    results: dict[str, Any] = {"validation": bench.description, "build": bench.build()}
    base: np.ndarray | None = None
    for text in args.variant:
        name, setting = parse_variant(text)
        ex = bench.examples(int(setting.pop("pool", 250)), int(setting.pop("draws", 1)))
        plain = bool(setting.pop("plain", 1))
        fit = {k: setting.pop(k) for k in FIT_KEYS if k in setting}
        members = int(setting.pop("members", 1))
        seed = int(setting.pop("seed", args.seed))
        t0 = time.perf_counter()
        # the validation requests are plain: with the plain model, the query-aware one ranks
        # none of them and is not fitted
        models = fit_rerankers(
            ex,
            plain=plain,
            aware=not plain,
            params=setting or None,
            seed=seed,
            members=members,
            **fit,
        )
        fit_s = round(time.perf_counter() - t0, 1)
        got = bench.score(models)
        per = np.asarray(got.pop("per_user"))
        line = f"{name}: validation ndcg@{args.k} {got['ndcg']:.4f} (fit {fit_s}s)"
        if base is None:
            base = per
        else:
            import scipy.stats as sps

            diff = per - base
            line += f", vs first {diff.mean():+.4f} p={sps.ttest_rel(per, base).pvalue:.3f}"
        print(line, flush=True)
        results[name] = {"variant": text, "fit_s": fit_s, **got}
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
