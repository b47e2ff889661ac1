"""Paired bootstrap confidence intervals and significance tests over listeners.

Every model is scored on the same test listeners. One set of seeded bootstrap resamples of
those listeners is shared by all models, so the interval of a difference (model - control) is
paired: it reflects how the two models differ on the same listeners. Per-listener means are
also tested with a paired t-test; figures that are not per-listener means (coverage, Gini,
exposure shares) get a bootstrap p-value (twice the share of resampled differences on the
other side of zero).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from offline_eval.metrics.scorecard import Scorecard

_CHUNK = 100

#: Catalog-level figures that shrink or grow with the number of distinct listeners: a
#: resample with replacement holds ~63% of them, so coverage drops and Gini rises in every
#: resample. Their intervals are centred on the observed value (bias-corrected percentile).
CATALOG_METRICS = frozenset({"coverage", "artist_exposure_gini"})


@dataclass(frozen=True, kw_only=True)
class Estimate:
    """A figure with its percentile bootstrap interval."""

    value: float
    ci: tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """A model against the control on one metric.

    Attributes:
        diff: model minus control.
        ci: bootstrap interval of the difference.
        p_value: two-sided p-value of ``test``.
        test: ``paired t`` or ``bootstrap``.
        significant: p < alpha and the interval excludes 0.
    """

    model: str
    control: str
    metric: str
    diff: float
    ci: tuple[float, float]
    p_value: float
    test: str
    significant: bool


@dataclass(frozen=True, kw_only=True)
class BootstrapResult:
    """Point estimates with intervals for each model, and resampled values for comparisons."""

    estimates: dict[str, dict[str, Estimate]]
    samples: dict[str, dict[str, np.ndarray]]
    n_boot: int
    alpha: float


def _weights(n_users: int, n_boot: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    chunks = []
    for start in range(0, n_boot, _CHUNK):
        b = min(_CHUNK, n_boot - start)
        idx = rng.integers(0, n_users, size=(b, n_users))
        w = np.zeros((b, n_users))
        np.add.at(w, (np.repeat(np.arange(b), n_users), idx.ravel()), 1.0)
        chunks.append(w)
    return chunks


def _interval(samples: np.ndarray, alpha: float) -> tuple[float, float]:
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return (math.nan, math.nan)
    lo, hi = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
    return (float(lo), float(hi))


def bootstrap(
    scorecards: Mapping[str, Scorecard],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    progress: bool = True,
) -> BootstrapResult:
    """Score every model on the full sample and on ``n_boot`` shared listener resamples.

    Example:
        >>> result = bootstrap({"ease": card_a, "als": card_b}, n_boot=1000)  # doctest: +SKIP
        >>> result.estimates["ease"]["ndcg@10"].ci  # doctest: +SKIP
    """
    n_users = next(iter(scorecards.values())).per_user.shape[0]
    samples: dict[str, dict[str, list[np.ndarray]]] = {m: {} for m in scorecards}
    chunks = _weights(n_users, n_boot, seed)
    # One task per chunk under `liner eval --ray`; in this process otherwise.
    from offline_eval.distributed import evaluate_resamples

    for figures in evaluate_resamples(scorecards, chunks, progress=progress):
        for model, by_metric in figures.items():
            for metric, values in by_metric.items():
                samples[model].setdefault(metric, []).append(values)
    ones = np.ones((1, n_users))
    estimates: dict[str, dict[str, Estimate]] = {}
    flat: dict[str, dict[str, np.ndarray]] = {}
    for model, card in scorecards.items():
        point = card.evaluate(ones)
        flat[model] = {m: np.concatenate(v) for m, v in samples[model].items()}
        estimates[model] = {
            m: Estimate(
                value=float(point[m][0]),
                ci=_interval(_centred(flat[model][m], float(point[m][0]), m), alpha),
            )
            for m in point
        }
    return BootstrapResult(estimates=estimates, samples=flat, n_boot=n_boot, alpha=alpha)


def compare(
    result: BootstrapResult,
    scorecards: Mapping[str, Scorecard],
    model: str,
    control: str,
) -> list[Comparison]:
    """Paired comparison of ``model`` against ``control`` on every metric both have."""
    out: list[Comparison] = []
    for metric, est in result.estimates[model].items():
        if metric not in result.estimates[control]:
            continue
        diff = est.value - result.estimates[control][metric].value
        with np.errstate(invalid="ignore"):
            raw = result.samples[model][metric] - result.samples[control][metric]
        d = _centred(raw, diff, metric)
        ci = _interval(d, result.alpha)
        mean_metrics = scorecards[model].per_user.columns
        if metric in mean_metrics and metric in scorecards[control].per_user.columns:
            p, test = _paired_t(
                scorecards[model].per_user[metric].to_numpy(),
                scorecards[control].per_user[metric].to_numpy(),
            )
        else:
            p, test = _bootstrap_p(d), "bootstrap"
        excludes_zero = bool(np.isfinite(ci[0]) and (ci[0] > 0 or ci[1] < 0))
        out.append(
            Comparison(
                model=model,
                control=control,
                metric=metric,
                diff=float(diff),
                ci=ci,
                p_value=p,
                test=test,
                significant=bool(p < result.alpha and excludes_zero),
            )
        )
    return out


def _centred(samples: np.ndarray, observed: float, metric: str) -> np.ndarray:
    if metric not in CATALOG_METRICS or not np.isfinite(observed):
        return samples
    if not np.isfinite(samples).any():
        return samples
    return samples - np.nanmean(samples) + observed


def _paired_t(a: np.ndarray, b: np.ndarray) -> tuple[float, str]:
    ok = np.isfinite(a) & np.isfinite(b)
    d = a[ok] - b[ok]
    if d.size == 0:
        return math.nan, "paired t"  # nothing to compare: no p-value, not p = 1
    if d.size < 2 or np.allclose(d, d[0]):
        return (1.0 if np.allclose(d, 0) else 0.0), "paired t"
    return float(sps.ttest_rel(a[ok], b[ok]).pvalue), "paired t"


def format_p(p: float | None) -> str:
    """A p-value as printed: ``p<0.001`` below 0.001 (never ``p=0``), else three decimals;
    ``p n/a`` when undefined."""
    if p is None or p != p:
        return "p n/a"
    if p < 0.001:
        return "p<0.001"
    return f"p={p:.3f}"


def _bootstrap_p(d: np.ndarray) -> float:
    d = d[np.isfinite(d)]
    if d.size == 0:
        return math.nan
    below, above = float(np.mean(d <= 0)), float(np.mean(d >= 0))
    return min(1.0, 2.0 * min(below, above))


__all__ = [
    "CATALOG_METRICS",
    "BootstrapResult",
    "Comparison",
    "Estimate",
    "bootstrap",
    "compare",
    "format_p",
]
