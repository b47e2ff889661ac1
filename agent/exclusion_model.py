"""A learned reading of whether a clause turns a genre or mood away, for cues the exclusion
lexicon (:mod:`agent.exclusions`) does not hold.

The clause is read with the named tag masked ("I could do without this"), so the model
weighs the listener's stance, not the genre. A binary logistic regression over the masked
clause's sentence vector (all-MiniLM-L6-v2, the catalog's text model), fitted on the
hand-written paraphrase batches whose misses may be read
(``python -m benchmarks.agent_paraphrases --fit-exclusion-model``), shipped as
``agent/data/exclusion_model.npz``. It only moves a tag the lexicon read as wanted to the
exclusions when it is at least :data:`CONFIDENT` sure, and only with the text model it was
fitted with (the same probe check as :mod:`agent.ai_rule_model`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL_PATH = Path(__file__).parent / "data" / "exclusion_model.npz"
CONFIDENT = 0.95
"""Probability the model needs before a wanted tag becomes an exclusion (with ``c`` = 100,
chosen leave-one-batch-out on batches 6-11, 433 masked mentions: 112 of 186 excluded mentions
caught, 5 of 247 wanted ones turned away; c = 30 at 0.9, the earlier choice, 113 and 7)."""
PROBE = "I could do without this"
CLAUSE = re.compile(r"[,.;!?:()]|\s[-–—]\s|\bbut\b|\bthough\b|\bwhile\b")
MASK = "this"

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class ExclusionModel:
    """Logistic weights for a unit-norm masked-clause vector."""

    weights: np.ndarray
    bias: float
    probe: np.ndarray

    def probability(self, vectors: np.ndarray) -> np.ndarray:
        z = np.atleast_2d(vectors) @ self.weights + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-z)))

    def save(self, path: Path = MODEL_PATH) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, weights=self.weights, bias=np.asarray(self.bias), probe=self.probe)


def clause_spans(low: str) -> list[tuple[int, int]]:
    """The clauses of ``low`` as spans."""
    cuts = [0, *(p for m in CLAUSE.finditer(low) for p in (m.start(), m.end())), len(low)]
    return [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]


def masked_clause(low: str, start: int, end: int) -> str | None:
    """The clause around ``low[start:end]`` with that mention masked, or None."""
    for a, b in clause_spans(low):
        if a <= start and end <= b:
            text = f"{low[a:start]}{MASK}{low[end:b]}"
            return re.sub(r"\s+", " ", text).strip()
    return None


def fit(
    clauses: Sequence[str], excluded: Sequence[bool], embed: Embed, c: float = 100.0
) -> ExclusionModel:
    """Fit on masked clauses labelled excluded or wanted (scikit-learn, offline only)."""
    from sklearn.linear_model import LogisticRegression

    x = embed(list(clauses))
    clf = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(
        x, np.asarray(excluded, dtype=int)
    )
    return ExclusionModel(
        weights=clf.coef_[0], bias=float(clf.intercept_[0]), probe=embed([PROBE])[0]
    )


_lock = threading.Lock()
_loaded: ExclusionModel | None = None


def model_for(embed: Embed) -> ExclusionModel | None:
    """The shipped model if ``embed`` is the text model it was fitted with, else None."""
    global _loaded
    with _lock:
        if _loaded is None:
            if not MODEL_PATH.exists():
                return None
            with np.load(MODEL_PATH) as z:
                _loaded = ExclusionModel(
                    weights=z["weights"], bias=float(z["bias"]), probe=z["probe"]
                )
        model = _loaded
    vec = np.asarray(embed([PROBE]), dtype=np.float64)
    ok = (
        vec.ndim == 2
        and vec.shape[1] == len(model.probe)
        and float(vec[0] @ model.probe)
        >= 0.99 * float(np.linalg.norm(vec[0]) * np.linalg.norm(model.probe))
    )
    return model if ok else None


__all__ = [
    "CONFIDENT",
    "MODEL_PATH",
    "ExclusionModel",
    "clause_spans",
    "fit",
    "masked_clause",
    "model_for",
]
