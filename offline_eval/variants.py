"""Offline evaluation of A/B variants: each variant of an experiment file becomes the model
``liner:<variant>`` with the variant's PolicyParams, compared with the control variant, with
guardrail verdicts.

The experiment file's metrics are online ones (play-through, skips, shares of plays); offline
each maps to the closest slate metric in :data:`OFFLINE_PROXIES` and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offline_eval.errors import EvalError
from offline_eval.stats import Comparison
from recsys.params import PolicyParams

#: online metric -> (offline metric template, sign): sign -1 when the offline metric moves the
#: opposite way (fewer skips ~ higher NDCG).
OFFLINE_PROXIES: dict[str, tuple[str, int]] = {
    "play_through_rate": ("ndcg@{k}", 1),
    "save_rate": ("ndcg@{k}", 1),
    "skip_rate": ("ndcg@{k}", -1),
    "human_artist_play_share": ("human_exposure_share", 1),
    "ai_generated_share": ("ai_generated_exposure_share", 1),
}


@dataclass(frozen=True, kw_only=True)
class VariantPlan:
    """What to evaluate for one experiment file.

    Attributes:
        experiment: the experiment name.
        models: ``liner:<variant>`` -> PolicyParams, control first.
        control: the control's model name.
        guardrails: (online metric, direction, threshold) triples.
        primary: (online metric, direction).
    """

    experiment: str
    models: dict[str, PolicyParams]
    control: str
    guardrails: tuple[tuple[str, str, float], ...]
    primary: tuple[str, str]


def plan_variants(path: str | Path) -> VariantPlan:
    """Load an experiment file with ``recsys.experiments.load_experiment_file``.

    Raises:
        EvalError: when the file is invalid (the loader's message says where and why).
    """
    from recsys.errors import LinerError
    from recsys.experiments import load_experiment_file

    try:
        cfg: Any = load_experiment_file(Path(path))
    except LinerError as exc:
        raise EvalError(f"experiment file {path}: {exc}") from exc
    ordered = sorted(cfg.variants, key=lambda v: v.name != cfg.control)
    return VariantPlan(
        experiment=cfg.name,
        models={f"liner:{v.name}": v.params for v in ordered},
        control=f"liner:{cfg.control}",
        guardrails=tuple(
            (g.metric, g.effective_direction, float(g.threshold)) for g in cfg.guardrails
        ),
        primary=(cfg.primary_metric.metric, cfg.primary_metric.effective_direction),
    )


def guardrail_verdicts(
    plan: VariantPlan, comparisons: list[Comparison], k: int
) -> dict[str, dict[str, Any]]:
    """Per variant: each guardrail's offline proxy, the worst-case harm and pass/fail.

    A guardrail passes when the bound of the 95% interval on the harmful side is within the
    threshold (too few listeners therefore fail, as online). A metric with no offline proxy is
    reported as ``not evaluable offline``.
    """
    by_key = {(c.model, c.metric): c for c in comparisons}
    out: dict[str, dict[str, Any]] = {}
    for model in plan.models:
        if model == plan.control:
            continue
        rails = []
        for metric, direction, threshold in plan.guardrails:
            rails.append(_verdict(by_key, model, metric, direction, threshold, k))
        primary = _verdict(by_key, model, plan.primary[0], plan.primary[1], 0.0, k)
        passed = all(r["passed"] is not False for r in rails)
        out[model] = {"primary": primary, "guardrails": rails, "all_guardrails_pass": passed}
    return out


def _verdict(
    by_key: dict[tuple[str, str], Comparison],
    model: str,
    metric: str,
    direction: str,
    threshold: float,
    k: int,
) -> dict[str, Any]:
    if metric not in OFFLINE_PROXIES:
        return {"metric": metric, "proxy": None, "passed": None, "note": "not evaluable offline"}
    template, sign = OFFLINE_PROXIES[metric]
    proxy = template.format(k=k)
    comp = by_key.get((model, proxy))
    if comp is None:
        return {"metric": metric, "proxy": proxy, "passed": None, "note": "proxy not computed"}
    better_up = (direction == "higher_is_better") == (sign > 0)
    harm = -comp.ci[0] if better_up else comp.ci[1]
    return {
        "metric": metric,
        "proxy": proxy,
        "direction": direction,
        "diff": comp.diff,
        "ci": list(comp.ci),
        "p_value": comp.p_value,
        "worst_harm": harm,
        "threshold": threshold,
        "passed": bool(harm <= threshold),
        "improved": bool(comp.significant and ((comp.diff > 0) == better_up)),
    }


def inline_plan(models: dict[str, PolicyParams], control: str) -> VariantPlan:
    """A plan without a file (for callers that build variants programmatically)."""
    if control not in models:
        raise EvalError(f"control {control!r} is not one of {sorted(models)}")
    return VariantPlan(
        experiment="inline",
        models=models,
        control=control,
        guardrails=(("human_artist_play_share", "higher_is_better", 0.01),),
        primary=("play_through_rate", "higher_is_better"),
    )


__all__ = [
    "OFFLINE_PROXIES",
    "VariantPlan",
    "guardrail_verdicts",
    "inline_plan",
    "plan_variants",
]
