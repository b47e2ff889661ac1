"""Online analysis: per-variant metrics with confidence intervals, a sample-ratio-mismatch
check, and a ship / don't-ship verdict.

Every metric is a ratio of per-listener sums (plays ÷ served items, ...). The listener is the
randomisation unit, so variances use the delta method over listeners, which accounts for one
listener's slates being correlated. Treatment-vs-control intervals are Bonferroni-adjusted for
the number of treatments.

The verdict for a treatment is **ship** only when (1) the sample ratios match the configured
weights (chi-square p ≥ 0.001), (2) the primary metric improves with the whole confidence
interval on the good side of zero, and (3) every guardrail passes: the interval's bound on the
harm is below the guardrail's threshold. Too little data therefore means "don't ship".
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from recsys.experiments.assignment import parse_label
from recsys.experiments.config import HOLDOUT_VARIANT, METRICS, ExperimentConfig, MetricGoal
from recsys.experiments.experiment_set import ExperimentSet
from recsys.experiments.logs import ExperimentLogs

SRM_ALPHA = 0.001

# metric -> (numerator column, denominator column) of the per-listener table
_RATIOS: dict[str, tuple[str, str]] = {
    "play_through_rate": ("played_items", "items"),
    "skip_rate": ("skips", "plays_and_skips"),
    "save_rate": ("saves", "items"),
    "human_artist_play_share": ("human_plays", "plays"),
    "ai_generated_share": ("generated_items", "items"),
    "ai_influenced_play_share": ("ai_plays", "plays"),
}


def ratio_estimate(num: np.ndarray, den: np.ndarray) -> tuple[float, float]:
    """Ratio of sums and its delta-method variance over units (listeners)."""
    n = len(num)
    total = float(den.sum())
    if n < 2 or total <= 0:
        return math.nan, math.nan
    ratio = float(num.sum()) / total
    mean_den = total / n
    cov = np.cov(np.vstack([num, den]), ddof=1)
    var = (cov[0, 0] - 2 * ratio * cov[0, 1] + ratio**2 * cov[1, 1]) / (n * mean_den**2)
    return ratio, max(float(var), 0.0)


def listener_table(cfg: ExperimentConfig, logs: ExperimentLogs) -> tuple[pd.DataFrame, int]:
    """Per-listener sums for one experiment, and how many listeners saw two groups."""
    imp = logs.impressions
    group = imp["variant"].map(lambda label: parse_label(label).get(cfg.name))
    imp = imp.assign(group=group).dropna(subset=["group"])
    groups_per_listener = imp.groupby("listener_id")["group"].nunique()
    mixed = set(groups_per_listener[groups_per_listener > 1].index)
    imp = imp[~imp["listener_id"].isin(mixed)]
    imp = imp.assign(generated=(imp["ai_involvement"] == "GENERATED").astype(int))
    per = imp.groupby("listener_id").agg(
        group=("group", "first"), items=("track_id", "size"), generated_items=("generated", "sum")
    )
    slates = imp.drop_duplicates("request_id").set_index("request_id")["ai_features"]
    involvement = imp.set_index(["request_id", "track_id"])["ai_involvement"]
    involvement = involvement[~involvement.index.duplicated()]
    ev = logs.events[logs.events["request_id"].isin(slates.index)]
    ev = ev[~ev["listener_id"].isin(mixed)]
    plays = ev[ev["event_type"] == "play"]
    keys = pd.MultiIndex.from_frame(plays[["request_id", "track_id"]])
    human = involvement.reindex(keys).to_numpy() == "NONE"
    plays = plays.assign(
        human=human.astype(int), ai=plays["request_id"].map(slates).fillna(False).astype(int)
    )
    counts = pd.DataFrame(
        {
            "plays": plays.groupby("listener_id").size(),
            "played_items": plays.drop_duplicates(["request_id", "track_id"])
            .groupby("listener_id")
            .size(),
            "human_plays": plays.groupby("listener_id")["human"].sum(),
            "ai_plays": plays.groupby("listener_id")["ai"].sum(),
            "skips": ev[ev["event_type"] == "skip"].groupby("listener_id").size(),
            "saves": ev[ev["event_type"] == "save"].groupby("listener_id").size(),
        }
    )
    per = per.join(counts).fillna(0)
    per["plays_and_skips"] = per["plays"] + per["skips"]
    return per, len(mixed)


def srm_check(cfg: ExperimentConfig, observed: dict[str, int]) -> dict[str, Any]:
    """Chi-square of listener counts per group against the configured shares."""
    expected_share = {
        v.name: cfg.traffic * w for v, w in zip(cfg.variants, cfg.weights, strict=True)
    }
    if cfg.holdout > 0:
        expected_share[HOLDOUT_VARIANT] = cfg.holdout
    names = list(expected_share)
    counts = np.array([observed.get(n, 0) for n in names], dtype=float)
    shares = np.array([expected_share[n] for n in names])
    total = counts.sum()
    if total == 0:
        return {"p_value": None, "mismatch": False, "observed": {}, "expected": {}}
    expected = shares / shares.sum() * total
    chi2, p_value = stats.chisquare(counts, expected)
    unknown = sorted(set(observed) - set(names))
    return {
        "chi2": float(chi2),
        "p_value": float(p_value),
        "mismatch": bool(p_value < SRM_ALPHA) or bool(unknown),
        "observed": {n: int(c) for n, c in zip(names, counts, strict=True)},
        "expected": {n: float(e) for n, e in zip(names, expected, strict=True)},
        "unknown_groups": unknown,
    }


def _improvement(goal: MetricGoal, diff: float) -> float:
    return diff if goal.effective_direction == "higher_is_better" else -diff


def analyze_experiment(
    cfg: ExperimentConfig, logs: ExperimentLogs, *, alpha: float = 0.05
) -> dict[str, Any]:
    """Metrics, comparisons, SRM and verdict for one experiment (a JSON-ready dict)."""
    per, mixed = listener_table(cfg, logs)
    groups: dict[str, Any] = {}
    estimates: dict[tuple[str, str], tuple[float, float]] = {}
    z_group = stats.norm.ppf(1 - alpha / 2)
    for name, frame in per.groupby("group"):
        metrics = {}
        for metric, (num, den) in _RATIOS.items():
            value, var = ratio_estimate(frame[num].to_numpy(float), frame[den].to_numpy(float))
            estimates[(str(name), metric)] = (value, var)
            half = z_group * math.sqrt(var) if not math.isnan(var) else math.nan
            metrics[metric] = {"value": value, "ci_low": value - half, "ci_high": value + half}
        groups[str(name)] = {
            "listeners": len(frame),
            "items": int(frame["items"].sum()),
            "metrics": metrics,
        }
    srm = srm_check(cfg, {g: v["listeners"] for g, v in groups.items()})
    treatments = [v.name for v in cfg.variants if v.name != cfg.control]
    z = stats.norm.ppf(1 - alpha / (2 * max(len(treatments), 1)))
    comparisons = []
    for name in treatments:
        diffs: dict[str, Any] = {}
        for metric in _RATIOS:
            t_val, t_var = estimates.get((name, metric), (math.nan, math.nan))
            c_val, c_var = estimates.get((cfg.control, metric), (math.nan, math.nan))
            diff, se = t_val - c_val, math.sqrt(t_var + c_var)
            p = 2 * stats.norm.sf(abs(diff / se)) if se > 0 else math.nan
            diffs[metric] = {
                "diff": diff,
                "ci_low": diff - z * se,
                "ci_high": diff + z * se,
                "p_value": p,
                "relative": diff / c_val if c_val else math.nan,
                "se": se,
            }
        comparisons.append(_verdict(cfg, name, diffs, z, srm))
    shipped = [c for c in comparisons if c["verdict"] == "ship"]
    best = max(shipped, key=lambda c: c["primary"]["improvement"], default=None)
    return {
        "name": cfg.name,
        "layer": cfg.layer,
        "control": cfg.control,
        "primary_metric": {
            "metric": cfg.primary_metric.metric,
            "direction": cfg.primary_metric.effective_direction,
        },
        "mixed_listeners": mixed,
        "groups": groups,
        "srm": srm,
        "comparisons": comparisons,
        "verdict": f"ship {best['variant']}" if best else "don't ship",
    }


def _verdict(
    cfg: ExperimentConfig, name: str, diffs: dict[str, Any], z: float, srm: dict[str, Any]
) -> dict[str, Any]:
    reasons: list[str] = []
    goal = cfg.primary_metric
    d = diffs[goal.metric]
    improvement = _improvement(goal, d["diff"])
    low = improvement - z * d["se"]
    significant = bool(low > 0)
    if srm["mismatch"]:
        reasons.append(
            f"sample ratio mismatch (p={srm['p_value']:.2g}): assignment or logging "
            "is broken; results are not trustworthy"
        )
    if not significant:
        reasons.append(
            f"primary metric {goal.metric} did not improve significantly "
            f"(improvement {improvement:+.4f}, lower bound {low:+.4f})"
        )
    guardrails = []
    for rail in cfg.guardrails:
        g = diffs[rail.metric]
        harm = -_improvement(rail, g["diff"])
        bound = harm + z * g["se"]
        passed = bool(bound < rail.threshold)
        guardrails.append(
            {
                "metric": rail.metric,
                "direction": rail.effective_direction,
                "threshold": rail.threshold,
                "harm": harm,
                "harm_upper": bound,
                "passed": passed,
            }
        )
        if not passed:
            reasons.append(
                f"guardrail {rail.metric}: harm could be up to {bound:+.4f} "
                f"(threshold {rail.threshold})"
            )
    ok = not reasons
    return {
        "variant": name,
        "metrics": diffs,
        "verdict": "ship" if ok else "don't ship",
        "reasons": reasons or ["primary improved significantly and every guardrail passed"],
        "primary": {
            "metric": goal.metric,
            "improvement": improvement,
            "lower_bound": low,
            "significant": significant,
        },
        "guardrails": guardrails,
    }


def analyze(
    experiments: ExperimentSet, logs: ExperimentLogs, *, alpha: float = 0.05
) -> dict[str, Any]:
    """Analyse every experiment of the set that appears in the logs.

    Example:
        >>> result = analyze(load_experiments(Path("experiments")), load_logs("var/liner.db"))
        ... # doctest: +SKIP
    """
    seen: set[str] = set()
    for label in logs.impressions["variant"].unique():
        seen.update(parse_label(str(label)))
    return {
        "source": logs.source,
        "alpha": alpha,
        "metrics": {m: {"direction": d, "definition": text} for m, (d, text) in METRICS.items()},
        "experiments": [
            analyze_experiment(cfg, logs, alpha=alpha)
            for cfg in experiments.experiments
            if cfg.name in seen
        ],
    }


__all__ = [
    "SRM_ALPHA",
    "analyze",
    "analyze_experiment",
    "listener_table",
    "ratio_estimate",
    "srm_check",
]
