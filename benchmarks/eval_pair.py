"""Paired comparison of models scored in separate ``liner eval`` runs on the same split.

``python -m benchmarks.eval_pair RUN_DIR [RUN_DIR ...] [--metric ndcg@10] [--control NAME]``
reads each run's ``per_listener.csv`` (same dataset, split, seed and so the same test
listeners: it refuses otherwise) and prints every model's mean with a 95% bootstrap interval
over listeners and, against the control (default: the best model that is not ``liner``), the
paired difference with its interval, the paired t-test p-value and the ratio. A long served
build and the baselines can so be run under the big-run lock one at a time.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats as sps

from offline_eval.stats import format_p


def load(runs: list[Path], metric: str) -> pd.DataFrame:
    """Listeners x models table of ``metric`` from the runs (first run wins a duplicate)."""
    cols: dict[str, pd.Series] = {}
    users: set[str] | None = None
    for run in runs:
        frame = pd.read_csv(run / "per_listener.csv", dtype={"user_id": str})
        for model, g in frame.groupby("model"):
            if model in cols:
                continue
            s = g.set_index("user_id")[metric]
            if users is not None and set(s.index) != users:
                raise SystemExit(f"{run}: model {model} was scored on other listeners")
            users = set(s.index)
            cols[str(model)] = s
    return pd.DataFrame(cols)


def main(argv: list[str] | None = None) -> None:
    """Print the table (and write it as JSON with ``--json``)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--metric", default="ndcg@10")
    ap.add_argument("--control")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    table = load(args.runs, args.metric)
    n = len(table)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, n, size=(args.n_boot, n))
    means = table.mean()
    control = args.control or str(
        means[[m for m in means.index if not m.startswith("liner")]].idxmax()
    )
    out: dict[str, dict[str, object]] = {}
    print(f"{args.metric}, {n} listeners, control {control}")
    for model in means.sort_values(ascending=False).index:
        x = table[model].to_numpy()
        lo, hi = np.quantile(x[idx].mean(axis=1), [0.025, 0.975])
        row: dict[str, object] = {"mean": round(float(x.mean()), 4), "ci": [lo, hi]}
        line = f"{model:16s} {x.mean():.4f} [{lo:.4f}, {hi:.4f}]"
        if model != control:
            c = table[control].to_numpy()
            d = x - c
            dlo, dhi = np.quantile(d[idx].mean(axis=1), [0.025, 0.975])
            p = float(sps.ttest_rel(x, c).pvalue)
            ratio = x.mean() / c.mean() if c.mean() else float("nan")
            row.update(diff=float(d.mean()), diff_ci=[dlo, dhi], p=p, ratio=ratio)
            line += (
                f"  vs {control}: {d.mean():+.4f} [{dlo:+.4f}, {dhi:+.4f}], "
                f"{format_p(p)}, {ratio:.2f}x"
            )
        out[model] = row
        print(line)
    if args.json:
        args.json.write_text(json.dumps({"metric": args.metric, "n": n, "models": out}, indent=1))


if __name__ == "__main__":
    main()
