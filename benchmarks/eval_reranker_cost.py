"""CPU of the build's ``reranker`` step alone on a large catalog (#18: the 200k budget).

``python -m benchmarks.eval_reranker_cost --data FOLDER --work DIR [--text-cache DIR]`` loads a
data folder, takes the evaluation's default split (the training side is what ``liner eval``
builds), builds the steps before the reranker's into ``DIR`` (cached: a second run, e.g. from
another checkout, reuses them), then runs the reranker step once and prints its wall and CPU
seconds with what it trained. Run it from two checkouts on the same ``DIR`` to compare the
step's code at equal inputs. ``--text-cache`` is copied, never written.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path

from offline_eval.datasets import load_folder
from offline_eval.models.liner import training_store
from offline_eval.splits import make_split

logger = logging.getLogger("eval_reranker_cost")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--text-cache", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--label", default="")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from recsys.build import BuildContext, build_artifacts, default_steps
    from recsys.pipeline.build_step import reranker_run
    from recsys.settings import LinerSettings
    from recsys.store import SqliteStore

    ds = load_folder(args.data)
    split = make_split(ds.interactions, None, seed=args.seed)
    train = ds.tags_visible(split).with_interactions(split.train)
    root = args.work / "run"
    root.mkdir(parents=True, exist_ok=True)
    db = root / "liner.db"
    store = SqliteStore(db) if db.is_file() else training_store(train, db)
    settings = LinerSettings(db=str(db), artifacts=root / "artifacts").model_copy(
        update={"seed": args.seed}
    )
    shared = root / "artifacts.cache"  # where the build looks for cached text vectors
    if args.text_cache is not None and not shared.exists():
        shutil.copytree(args.text_cache, shared)
    t0 = time.perf_counter()
    every = default_steps()
    steps = every[: [s.name for s in every].index("reranker")]  # what the reranker reads
    build_artifacts(store, root / "artifacts", settings, steps=steps)
    logger.info("build without the reranker: %.0f s", time.perf_counter() - t0)
    ctx = BuildContext(
        store=store,
        settings=settings,
        work_dir=root / "artifacts",
        cache_dir=root / "artifacts.cache",
    )
    wall, cpu = time.perf_counter(), time.process_time()
    info = reranker_run(ctx)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    out = {"label": args.label, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "info": info}
    print(json.dumps(out, indent=1, default=str))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
