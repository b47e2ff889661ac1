"""Writing the online analysis as ``analysis.json`` and a self-contained ``report.html``."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2


def clean(value: Any) -> Any:
    """JSON-safe copy: NaN and infinities become null, numpy scalars plain Python."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fmt(value: Any, pattern: str = "%.4f") -> str:
    return "–" if value is None else pattern % value


def render_html(result: dict[str, Any]) -> str:
    """The HTML report for an analysis result (already cleaned)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("recsys.experiments", "."),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    template = env.get_template("report.html.j2")
    return template.render(
        result=result, fmt=_fmt, generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    )


def write_report(result: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """Write ``analysis.json`` and ``report.html`` into ``out`` (created if needed).

    Returns:
        The two paths.

    Example:
        >>> write_report(analyze(experiments, logs), Path("var/ab"))  # doctest: +SKIP
    """
    out.mkdir(parents=True, exist_ok=True)
    cleaned = clean(result)
    json_path, html_path = out / "analysis.json", out / "report.html"
    json_path.write_text(json.dumps(cleaned, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    html_path.write_text(render_html(cleaned), encoding="utf-8")
    return json_path, html_path


__all__ = ["clean", "render_html", "write_report"]
