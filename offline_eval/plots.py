"""The report's figures, rendered with matplotlib (Agg) to base64 PNG strings."""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

GROUP_COLOURS = {
    "human": "#2b8a3e",
    "ai_assisted": "#f08c00",
    "ai_generated": "#c92a2a",
    "undisclosed": "#868e96",
}


def to_png(fig: Figure) -> str:
    """Encode and close a figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _get(models: dict[str, Any], m: str, metric: str) -> tuple[float, float, float]:
    e = models[m].get(metric) or {}
    v = e.get("value")
    lo, hi = e.get("ci") or [None, None]
    nan = float("nan")
    return (
        nan if v is None else v,
        nan if lo is None else lo,
        nan if hi is None else hi,
    )


def tradeoff(doc: dict[str, Any]) -> str:
    """Accuracy (ndcg@k) against human and emerging-artist exposure, with 95% intervals."""
    models, k = doc["models"], doc["k"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, xm in zip(axes, ("human_exposure_share", "emerging_exposure_share"), strict=True):
        for m in models:
            y, ylo, yhi = _get(models, m, f"ndcg@{k}")
            x, xlo, xhi = _get(models, m, xm)
            xerr = np.clip(np.nan_to_num([[x - xlo], [xhi - x]]), 0, None)
            yerr = np.clip(np.nan_to_num([[y - ylo], [yhi - y]]), 0, None)
            ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="o", capsize=3)
            ax.annotate(m, (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
        ax.set_xlabel(xm)
        ax.set_ylabel(f"ndcg@{k}")
        ax.grid(alpha=0.3)
    fig.suptitle("Accuracy vs exposure trade-off (95% bootstrap intervals)")
    return to_png(fig)


def metric_bars(doc: dict[str, Any], metrics: list[str]) -> str:
    """One panel per metric: a bar per model with its 95% interval."""
    models = list(doc["models"])
    metrics = [m for m in metrics if any(m in doc["models"][x] for x in models)]
    cols = 3
    rows = max(1, int(np.ceil(len(metrics) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
    for ax, metric in zip(axes.ravel(), metrics, strict=False):
        vals = [_get(doc["models"], m, metric) for m in models]
        v = np.array([x[0] for x in vals])
        err = np.array([[x[0] - x[1] for x in vals], [x[2] - x[0] for x in vals]])
        ax.bar(
            range(len(models)),
            v,
            yerr=np.clip(np.nan_to_num(err), 0, None),
            capsize=3,
            color="#4263eb",
        )
        ax.set_xticks(range(len(models)), models, rotation=30, ha="right", fontsize=8)
        ax.set_title(metric, fontsize=9)
    for ax in axes.ravel()[len(metrics) :]:
        ax.axis("off")
    fig.tight_layout()
    return to_png(fig)


def group_exposure(doc: dict[str, Any]) -> str:
    """Stacked position-weighted exposure share by provenance group, per model."""
    models = list(doc["models"])
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(models)), 3.5))
    bottom = np.zeros(len(models))
    for group, colour in GROUP_COLOURS.items():
        key = f"{group}_exposure_share"
        if not any(key in doc["models"][m] for m in models):
            continue
        v = np.nan_to_num([_get(doc["models"], m, key)[0] for m in models])
        ax.bar(range(len(models)), v, bottom=bottom, color=colour, label=group)
        bottom += v
    ax.set_xticks(range(len(models)), models, rotation=30, ha="right")
    ax.set_ylabel("exposure share")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
    ax.set_title("Exposure by provenance group")
    return to_png(fig)


def slices(doc: dict[str, Any]) -> str:
    """ndcg@k by listener activity and recall@k by item popularity, per model."""
    k = doc["k"]
    models = list(doc["slices"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    specs = (("listener_activity", f"ndcg@{k}"), ("item_popularity", f"recall@{k}"))
    for ax, (kind, metric) in zip(axes, specs, strict=True):
        labels = list(doc["slices"][models[0]][kind]) if models else []
        width = 0.8 / max(1, len(models))
        for j, m in enumerate(models):
            v = [doc["slices"][m][kind][b][metric] for b in labels]
            v = [np.nan if x is None else x for x in v]
            ax.bar(np.arange(len(labels)) + j * width, np.nan_to_num(v), width, label=m)
        ax.set_xticks(np.arange(len(labels)) + 0.4 - width / 2, labels)
        ax.set_title(f"{metric} by {kind.replace('_', ' ')}")
    axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    return to_png(fig)


__all__ = ["group_exposure", "metric_bars", "slices", "to_png", "tradeoff"]
