"""The first stage before the reranker (``PolicyParams.rerank_pool``): what it costs in quality.

One served build of a dataset's training split (``liner`` in the harness: the temporary store
and the registered build steps), then every test listener served under each pool size from
that SAME build (a paired comparison: only the first stage differs), scored by ``liner eval``'s
metrics with bootstrap intervals and paired differences against the full candidate set.

The harness asks each listener for ``k`` plus their training items (it drops those after), so
the pool is never below 4 per requested position (``MIN_POOL_PER_SLOT``), as in serving.

    python -m benchmarks.first_stage --quick            # demo dataset (a smoke run)
    python -m benchmarks.first_stage                    # HetRec Last.fm 2K, pools 150/250/350
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import logging
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.report import parser, write_result
from offline_eval.models.base import ModelSpec, Slates, register_model
from offline_eval.models.liner import ServedLinerModel
from offline_eval.variants import VariantPlan
from recsys.params import PolicyParams

_SHARED: dict[str, Any] = {}
METRICS = ("ndcg@10", "human_exposure_share", "emerging_exposure_share", "recall@10")


class SharedBuildLiner(ServedLinerModel):
    """``liner`` whose build is made once and shared by every variant of the run."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self.recommend_cpu_s = 0.0

    def fit(self, train: Any, split: Any) -> None:
        if "rec" not in _SHARED:
            super().fit(train, split)
            _SHARED["rec"], _SHARED["seen"] = self.recommender, self._seen
        self.recommender, self._seen = _SHARED["rec"], _SHARED["seen"]

    def recommend(self, user_ids: Sequence[str], k: int) -> Slates:
        cpu = time.process_time()
        out = super().recommend(user_ids, k)
        _SHARED.setdefault("cpu", {})[self.name] = round(time.process_time() - cpu, 2)
        return out

    def close(self) -> None:
        """The shared build stays open for the next variant."""


register_model("liner-shared", SharedBuildLiner, replace=True)


def main() -> None:
    from offline_eval.runner import run_evaluation

    p = parser(__doc__ or "")
    p.add_argument("--pools", default="150,250,350", help="comma-separated rerank_pool values")
    p.add_argument("--text-model", default="hash", help="liner.text_model (default: hash)")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    pools = [int(x) for x in args.pools.split(",") if x.strip()]
    models = {"liner-shared:full": PolicyParams()}
    models.update({f"liner-shared:pool{n}": PolicyParams(rerank_pool=n) for n in pools})
    plan = VariantPlan(
        experiment="first-stage",
        models=models,
        control="liner-shared:full",
        guardrails=(),
        primary=("human_artist_play_share", "higher_is_better"),
    )
    dataset = "demo" if args.quick else "hetrec-lastfm-2k"
    result = run_evaluation(
        dataset=dataset,
        data_root="../shared/datasets",
        out=None,
        models=list(models),  # only these (an empty list would add the default baselines)
        variant_plan=plan,
        control="liner-shared:full",
        model_options={"liner-shared": {"text_model": args.text_model}},
        n_boot=200 if args.quick else 1000,
        progress=False,
    )
    doc = result.metrics
    figures: dict[str, Any] = {
        "dataset": doc["dataset"],
        "split": doc["split_description"],
        "n_listeners": doc["n_listeners"],
        "text_model": args.text_model,
        "models": {
            m: {k: v for k, v in est.items() if k in METRICS} for m, est in doc["models"].items()
        },
        "paired_vs_full": {
            m: {k: v for k, v in comp.items() if k in METRICS}
            for m, comp in doc["comparisons"].items()
        },
        "recommend_cpu_s": _SHARED.get("cpu", {}),
        "load_average": os.getloadavg(),
    }
    write_result("first_stage_quick" if args.quick else "first_stage", figures)


if __name__ == "__main__":
    main()
