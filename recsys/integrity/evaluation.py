"""Score the integrity job against a demo world's evaluation-only ground truth (``truth.csv``).

The truth file never feeds the job; it only measures it: detector precision and recall on the
tracks that declared nothing (none of which the detector trained on), and per abuse kind the
share of abusive uploads quarantined, with the false-positive rate on genuine uploads.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsys.domain import LabelSource
from recsys.integrity.calibration import precision_recall, roc_auc
from recsys.store import Store

_TRUE = {"true", "1", "yes"}


def _flag(series: pd.Series) -> np.ndarray:
    return series.astype(str).str.strip().str.lower().isin(_TRUE).to_numpy()


def read_truth(path: Path) -> pd.DataFrame:
    """``truth.csv`` indexed by item id (every column as text)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False).set_index("item_id")


def evaluate_detection(
    store: Store, truth: pd.DataFrame, probabilities: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """Detector precision and recall on the undeclared tracks, from the store's labels.

    Positives are tracks whose truth says AI was involved but the distributor declared
    nothing (``undeclared_ai``); a prediction is a ``DETECTED`` label with AI involvement.
    """
    undeclared = truth[truth["declared_ai_involvement"] == "UNDISCLOSED"]
    detected = {
        t.track_id for t in store.iter_tracks() if t.provenance.label_source is LabelSource.DETECTED
    }
    ids = list(undeclared.index)
    y = _flag(undeclared["undeclared_ai"])
    predicted = np.array([i in detected for i in ids], dtype=bool)
    precision, recall = precision_recall(predicted, y)
    result: dict[str, Any] = {
        "undeclared_tracks": len(ids),
        "undeclared_ai": int(y.sum()),
        "detected": int(predicted.sum()),
        "true_positives": int((predicted & y).sum()),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
    }
    if probabilities:
        known = [i for i in ids if i in probabilities]
        score = np.array([probabilities[i] for i in known])
        result["auc"] = round(roc_auc(score, _flag(undeclared.loc[known, "undeclared_ai"])), 4)
    return result


def evaluate_screening(store: Store, truth: pd.DataFrame) -> dict[str, Any]:
    """Per abuse kind: uploads and the share quarantined; false positives on genuine ones."""
    quarantined = store.quarantined_ids()
    reasons: dict[str, set[str]] = {}
    for record in store.quarantine_history():
        if record.quarantined:
            reasons[record.track_id] = set(record.reasons)
    kinds = truth["abuse_kinds"].astype(str)
    out: dict[str, Any] = {"by_kind": {}}
    for kind in sorted({k for cell in kinds for k in cell.split("|") if k}):
        ids = [i for i, cell in kinds.items() if kind in cell.split("|")]
        hit = sum(i in quarantined for i in ids)
        out["by_kind"][kind] = {
            "uploads": len(ids),
            "quarantined": hit,
            "recall": round(hit / len(ids), 4),
        }
    genuine = [i for i, cell in kinds.items() if not cell]
    false_pos = [i for i in genuine if i in quarantined]
    by_reason: dict[str, int] = {}
    for i in false_pos:
        for reason in reasons.get(i, ()):
            by_reason[reason] = by_reason.get(reason, 0) + 1
    out["genuine_uploads"] = len(genuine)
    out["genuine_quarantined"] = len(false_pos)
    out["false_positive_rate"] = round(len(false_pos) / len(genuine), 5) if genuine else 0.0
    out["false_positives_by_reason"] = dict(sorted(by_reason.items()))
    return out


__all__ = ["evaluate_detection", "evaluate_screening", "read_truth"]
