"""Write ``metrics.json`` and a self-contained ``report.html`` (plots embedded as PNG)."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from offline_eval import plots
from offline_eval.stats import format_p

logger = logging.getLogger(__name__)


def _fmt(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("value") is None:
        return "–"
    lo, hi = entry.get("ci") or [None, None]
    if lo is None:
        return f"{entry['value']:.4f}"
    return f"{entry['value']:.4f} [{lo:.4f}, {hi:.4f}]"


def table_metrics(doc: dict[str, Any]) -> list[str]:
    """Metric names in a stable report order."""
    seen: dict[str, None] = {}
    for est in doc["models"].values():
        for metric in est:
            seen.setdefault(metric, None)
    return list(seen)


def json_safe(value: Any) -> Any:
    """Replace NaN and infinities (which JSON lacks) with null, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_report(doc: dict[str, Any], out: Path) -> Path:
    """Write ``out/metrics.json`` and ``out/report.html``; returns ``out``.

    Example:
        >>> write_report(result.metrics, Path("eval-out"))  # doctest: +SKIP
    """
    out.mkdir(parents=True, exist_ok=True)
    doc = json_safe(doc)
    (out / "metrics.json").write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    k = doc["k"]
    metrics = table_metrics(doc)
    figures = {
        "Accuracy vs exposure": plots.tradeoff(doc),
        "Metrics with 95% intervals": plots.metric_bars(
            doc,
            [
                f"ndcg@{k}",
                f"recall@{k}",
                f"map@{k}",
                f"mrr@{k}",
                f"hit_rate@{k}",
                "coverage",
                "novelty",
                "intra_list_diversity",
                "aplt",
                "artist_exposure_gini",
                "emerging_exposure_share",
                "human_exposure_share",
            ],
        ),
        "Exposure by provenance group": plots.group_exposure(doc),
        "Per-slice results": plots.slices(doc),
    }
    env = Environment(
        loader=PackageLoader("offline_eval", "templates"), autoescape=select_autoescape()
    )
    html = env.get_template("report.html.j2").render(
        doc=doc, metrics=metrics, figures=figures, fmt=_fmt, fmt_p=format_p
    )
    (out / "report.html").write_text(html)
    logger.info("wrote %s and %s", out / "metrics.json", out / "report.html")
    return out


def estimate_rows(
    models: Mapping[str, Mapping[str, Any]], keys: Sequence[str], heads: Sequence[str] = ()
) -> list[str]:
    """The terminal table of ``metrics.json``'s models: a header, then each model's value and
    interval per key ("–" where a figure is missing). ``heads`` name the columns (the keys by
    default)."""
    lines = ["model".ljust(22) + "".join(head.ljust(30) for head in (heads or keys))]
    for name, est in models.items():
        cells = []
        for key in keys:
            e = est.get(key) or {}
            v, ci = e.get("value"), e.get("ci") or [None, None]
            cells.append(
                "–".ljust(30) if v is None else f"{v:.4f} [{ci[0]:.4f}, {ci[1]:.4f}]".ljust(30)
            )
        lines.append(name.ljust(22) + "".join(cells))
    return lines


__all__ = ["estimate_rows", "json_safe", "table_metrics", "write_report"]
