"""Held-out splits, threshold choice and reliability figures for probabilistic classifiers."""

from __future__ import annotations

from typing import Any

import numpy as np


def stratified_folds(y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold number (0 .. folds-1) of every row, each class dealt round-robin after a seeded
    shuffle, so every fold keeps the class balance."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(y), dtype=np.int64)
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        fold[rows] = np.arange(len(rows)) % folds
    return fold


def precision_recall(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(precision, recall) of boolean predictions; precision is 1 with no predictions."""
    predicted, truth = np.asarray(predicted, bool), np.asarray(truth, bool)
    tp = int((predicted & truth).sum())
    precision = tp / int(predicted.sum()) if predicted.any() else 1.0
    recall = tp / int(truth.sum()) if truth.any() else 1.0
    return precision, recall


def choose_threshold(
    probability: np.ndarray, truth: np.ndarray, target_precision: float, floor: float
) -> float:
    """The lowest candidate threshold ≥ ``floor`` whose precision reaches the target.

    Candidates are the distinct probabilities seen (calibrated scores are step values). When
    none reaches the target, the highest probability seen is returned, so that only the most
    confident predictions are labelled.
    """
    candidates = np.unique(probability[probability >= floor])
    for t in candidates:
        precision, _ = precision_recall(probability >= t, truth)
        if precision >= target_precision:
            return float(t)
    return float(candidates[-1]) if candidates.size else 1.0


def adjust_prior(p: np.ndarray, train_prior: float, new_prior: float) -> np.ndarray:
    """Posteriors calibrated under ``train_prior`` re-expressed under ``new_prior`` (Bayes'
    rule on the odds; valid when only the class balance differs between the populations)."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    up = new_prior / train_prior
    down = (1 - new_prior) / (1 - train_prior)
    return up * p / (up * p + down * (1 - p))


def estimate_prior(p: np.ndarray, train_prior: float, iterations: int = 500) -> float:
    """The positive-class share of a new population, by the EM method of Saerens, Latinne and
    Decaestecker (2002): alternate re-weighting the calibrated posteriors to a candidate prior
    and taking their mean as the next candidate, until it settles."""
    prior = train_prior
    if len(p) == 0:
        return prior
    for _ in range(iterations):
        new = float(adjust_prior(p, train_prior, prior).mean())
        new = min(max(new, 1e-4), 1 - 1e-4)
        if abs(new - prior) < 1e-7:
            return new
        prior = new
    return prior


def expected_precision_threshold(p: np.ndarray, target_precision: float, floor: float) -> float:
    """The lowest threshold ≥ ``floor`` at which the mean calibrated probability of the
    labelled tracks (the precision the model expects) reaches the target; needs no labels."""
    candidates = np.unique(np.asarray(p)[np.asarray(p) >= floor])
    for t in candidates:
        if float(np.mean(p[p >= t])) >= target_precision:
            return float(t)
    return float(candidates[-1]) if candidates.size else 1.0


def roc_auc(score: np.ndarray, truth: np.ndarray) -> float:
    """Area under the ROC curve (rank formula, ties averaged); NaN with one class only."""
    truth = np.asarray(truth, bool)
    n_pos, n_neg = int(truth.sum()), int((~truth).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="stable")
    ranks = np.empty(len(score), dtype=np.float64)
    sorted_scores = np.asarray(score)[order]
    i = 0
    while i < len(score):
        j = i
        while j + 1 < len(score) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[truth].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def reliability(
    probability: np.ndarray, truth: np.ndarray, threshold: float, bins: int = 10
) -> dict[str, Any]:
    """Reliability table, expected calibration error and threshold figures.

    Returns:
        ``{"summary": {...}, "bins": [...]}``: the summary holds ``ece`` (bin-weighted mean
        gap between confidence and observed rate), ``brier``, ``auc``, and precision and
        recall at ``threshold``; each bin holds its range, count, mean confidence and observed
        rate of AI tracks.
    """
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(truth, dtype=bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        in_bin = which == b
        if not in_bin.any():
            continue
        confidence, observed = float(p[in_bin].mean()), float(y[in_bin].mean())
        ece += in_bin.mean() * abs(confidence - observed)
        table.append(
            {
                "range": [round(float(edges[b]), 2), round(float(edges[b + 1]), 2)],
                "count": int(in_bin.sum()),
                "confidence": round(confidence, 4),
                "observed": round(observed, 4),
            }
        )
    precision, recall = precision_recall(p >= threshold, y)
    summary = {
        "tracks": len(p),
        "positives": int(y.sum()),
        "ece": round(float(ece), 4),
        "brier": round(float(np.mean((p - y) ** 2)), 4) if len(p) else float("nan"),
        "auc": round(roc_auc(p, y), 4),
        "threshold": round(threshold, 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
    }
    return {"summary": summary, "bins": table}


__all__ = [
    "adjust_prior",
    "choose_threshold",
    "estimate_prior",
    "expected_precision_threshold",
    "precision_recall",
    "reliability",
    "roc_auc",
    "stratified_folds",
]
