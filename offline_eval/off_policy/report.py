"""``metrics.json`` and ``report.html`` of ``--task off-policy``: per target, every
estimator's estimate with its interval beside the logging policy's observed value."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from offline_eval.plots import to_png
from offline_eval.report import json_safe


def _interval_plot(doc: dict[str, Any]) -> str:
    rows = [("logging (observed)", doc["logging"])]
    for name, target in doc["targets"].items():
        rows += [(f"{name} · {e}", d) for e, d in target["estimators"].items()]
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(rows) + 1))
    for i, (_, d) in enumerate(rows):
        value, ci = d.get("value"), d.get("ci")
        if value is None:
            ax.text(
                0.0, i, " withheld", va="center", fontsize=7, transform=ax.get_yaxis_transform()
            )
            continue
        lo, hi = ci if ci else (value, value)
        ax.errorbar(value, i, xerr=[[value - lo], [hi - value]], fmt="o", ms=3,
                    color="#1c7ed6" if i else "#2b8a3e")  # fmt: skip
    ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"{doc['metric']} (95% interval)")
    return to_png(fig)


def _cell(d: dict[str, Any]) -> str:
    if d.get("value") is None:
        return "withheld"
    ci = d.get("ci")
    return f"{d['value']:.4f}" + (f" [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else "")


def write_off_policy_report(doc: dict[str, Any], out: Path) -> Path:
    """Write ``out/metrics.json`` and ``out/report.html``; returns ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    doc = json_safe(doc)
    (out / "metrics.json").write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Off-policy evaluation</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "td,th{padding:.2em .6em;text-align:left}.warn{color:#c92a2a}</style></head><body>",
        "<h1>Off-policy evaluation</h1>",
        f"<p>{html.escape(str(doc['dataset']))}: {html.escape(doc['split_description'])}. "
        f"Metric: {doc['metric']} (expected plays per slate); position weights "
        f"{', '.join(f'{w:.2f}' for w in doc['examination'])}.</p>",
        f"<p>Logging policy, observed: <b>{_cell(doc['logging'])}</b></p>",
    ]
    for name, t in doc["targets"].items():
        parts.append(f"<h2>{html.escape(name)}</h2><table><tr><th>estimator</th>"
                     "<th>estimate [95% CI]</th><th>ESS</th></tr>")  # fmt: skip
        for e, d in t["estimators"].items():
            star = " (primary)" if e == t["primary"] else ""
            parts.append(f"<tr><td>{e}{star}</td><td>{_cell(d)}</td><td>{d['ess']:.0f}</td></tr>")
        parts.append(
            f"</table><p>{t['slates']} slates, {t['listeners']} listeners; target's exposure "
            f"outside the logging support {t['unsupported_share']:.2%}; replay agreement "
            f"{t['replay_agreement']:.0%}.</p>"
        )
        parts += [f"<p class='warn'>⚠ {html.escape(w)}</p>" for w in dict.fromkeys(t["warnings"])]
    parts.append(f"<img alt='intervals' src='data:image/png;base64,{_interval_plot(doc)}'>")
    parts.append("</body></html>")
    (out / "report.html").write_text("\n".join(parts))
    return out


__all__ = ["write_off_policy_report"]
