"""A learned reading of which AI rule a request asks for, beside the clause rules.

The clause rules (:mod:`agent.constraints`) decide whether a request refuses AI; where they
are weakest is the *scope* of a refusal ("no AI songs" vs "nothing AI-generated" vs "no AI
voices"), where listeners' wording varies most. This model is a multinomial logistic
regression over the whole request's sentence vector (all-MiniLM-L6-v2, the catalog's text
model), fitted on the hand-written paraphrase sets that are not held out
(``python -m benchmarks.agent_paraphrases --fit-ai-rule``), shipped as
``agent/data/ai_rule_model.npz``: 4 × 384 weights, no training at run time.

It only makes a parse stricter, never lets through what the rules refused
(:func:`refine_level`): when it is at least :data:`CONFIDENT` sure of a stricter refusal level
than the rules found, its level wins; when the rules found no refusal and it is that sure of
one, the refusal is added. It never turns a refusal into "no rule", nor a "no AI at all" into a
lighter rule (that would serve AI-assisted tracks the rules refused). The model is used only
when the backend's text model is the one it was fitted with (a probe sentence's vector must
match), so a hashed test embedding never reads its weights.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MODEL_PATH = Path(__file__).parent / "data" / "ai_rule_model.npz"
LEVELS = ("none", "generated", "vocals", "any")
"""The AI rules, from none to the strictest: no AI-generated tracks, no AI vocals (and no
AI-generated tracks), no AI involvement at all."""
STRICTNESS = {level: i for i, level in enumerate(LEVELS)}
"""Each level lets through a subset of what the one before it lets through."""
CONFIDENT = 0.9
"""Probability the model needs before its level overrides or adds to the rules' (chosen on
the paraphrase sets that are not held out, leave-one-set-out)."""
PROBE = "no AI music please"
"""Embedded once per backend: its vector must match the stored one (cosine ≥ 0.99)."""

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class AiRuleModel:
    """Softmax weights over :data:`LEVELS` for a unit-norm sentence vector."""

    weights: np.ndarray
    bias: np.ndarray
    probe: np.ndarray

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        z = np.atleast_2d(vectors) @ self.weights.T + self.bias
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return np.asarray(e / e.sum(axis=1, keepdims=True))

    def save(self, path: Path = MODEL_PATH) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, weights=self.weights, bias=self.bias, probe=self.probe, levels=LEVELS)


def fit(texts: Sequence[str], levels: Sequence[str], embed: Embed, c: float = 10.0) -> AiRuleModel:
    """Fit the model on labelled requests (scikit-learn, offline only)."""
    from sklearn.linear_model import LogisticRegression

    x = embed(list(texts))
    y = np.asarray([LEVELS.index(level) for level in levels])
    clf = LogisticRegression(C=c, max_iter=5000).fit(x, y)
    weights = np.zeros((len(LEVELS), x.shape[1]))
    bias = np.full(len(LEVELS), -1e9)  # a level with no example is never predicted
    if len(clf.classes_) == 2:  # binary: one row of coefficients for the second class
        weights[clf.classes_[1]], bias[clf.classes_[1]] = clf.coef_[0], clf.intercept_[0]
        bias[clf.classes_[0]] = 0.0
    else:
        weights[clf.classes_] = clf.coef_
        bias[clf.classes_] = clf.intercept_
    return AiRuleModel(weights=weights, bias=bias, probe=embed([PROBE])[0])


_lock = threading.Lock()
_loaded: AiRuleModel | None = None
_checked: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
"""Per backend (the owner of a bound ``embed_terms``): whether its text model is the one."""


def model_for(embed: Embed) -> AiRuleModel | None:
    """The shipped model if ``embed`` is the text model it was fitted with, else None."""
    global _loaded
    owner = getattr(embed, "__self__", None)
    with _lock:
        if _loaded is None:
            if not MODEL_PATH.exists():
                return None
            with np.load(MODEL_PATH) as z:
                _loaded = AiRuleModel(weights=z["weights"], bias=z["bias"], probe=z["probe"])
        model = _loaded
        try:
            ok = _checked.get(owner) if owner is not None else None
        except TypeError:  # an owner that cannot be weakly referenced: checked every time
            owner = None
            ok = None
    if ok is None:
        vec = np.asarray(embed([PROBE]), dtype=np.float64)
        ok = bool(
            vec.ndim == 2
            and vec.shape[1] == len(model.probe)
            and float(vec[0] @ model.probe)
            >= 0.99 * float(np.linalg.norm(vec[0]) * np.linalg.norm(model.probe))
        )
        if owner is not None:
            with _lock:
                _checked[owner] = ok
    return model if ok else None


def refine_level(
    rule_level: str,
    probabilities: np.ndarray,
    *,
    allows_assisted: bool,
    hedged: bool = False,
    allowed: bool = False,
) -> str:
    """The level to apply: the rules' unless the model is :data:`CONFIDENT` of a stricter
    refusal (never a lighter rule than the rules', by :data:`STRICTNESS`; never "any" when
    the listener allowed AI help or hedged the refusal: "prefer no AI if you can" asks for
    the lighter rule; never a refusal the rules did not find when the listener explicitly
    allowed AI: "no rules about AI today, anything goes")."""
    best = int(np.argmax(probabilities))
    level = LEVELS[best]
    if probabilities[best] < CONFIDENT or STRICTNESS[level] <= STRICTNESS[rule_level]:
        return rule_level
    if rule_level == "none" and allowed:
        return rule_level
    if level == "any" and (allows_assisted or (hedged and rule_level != "none")):
        return rule_level
    return level


__all__ = [
    "CONFIDENT",
    "LEVELS",
    "MODEL_PATH",
    "STRICTNESS",
    "AiRuleModel",
    "fit",
    "model_for",
    "refine_level",
]
