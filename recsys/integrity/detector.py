"""The undeclared-AI detector: LightGBM on audio, metadata and uploader behaviour, calibrated.

Trained only on tracks with a DECLARED label (``NONE``, ``ASSISTED`` or ``GENERATED``) whose
every credited rights holder grants ``ai_training``. Consent leaves few such tracks, so no row
is wasted on a fixed hold-out: stratified K-fold cross-fitting gives every training track an
out-of-fold score; an isotonic map fitted on those scores turns the final booster's scores
(trained on all rows) into probabilities. What the confidence means is measured by
cross-calibration: the isotonic map is fitted on one half of the out-of-fold scores and
scored on the other, both ways, so the reliability table, expected calibration error,
precision and recall are out of sample for the booster and the calibration alike.

Tracks that declare nothing (``UNDISCLOSED``) are a different population: far more of them are
AI than among declared tracks, so a probability calibrated on the declared set understates
their odds. :func:`detect_labels` estimates the AI share of the undisclosed tracks by EM
(Saerens et al., 2002), re-expresses each probability under that share, and labels a track
``DETECTED`` with that confidence from the lowest threshold at which the expected precision
(the mean confidence of the labelled tracks) reaches the target. A declared label is never
touched.

The share and the threshold come from the open tracks that passed upload screening:
quarantined uploads (bursts, stuffed titles, copies, 20-second filler) are a population of
their own whose metadata the declared tracks never showed the model, and counting them
inflated the estimated share (0.61 against a true 0.50 on the default demo world). They are
still labelled, at the threshold the rest set.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from sklearn.isotonic import IsotonicRegression

from recsys.domain import (
    AiInvolvement,
    Artist,
    ConsentScope,
    ConsentState,
    LabelSource,
    Provenance,
    Track,
)
from recsys.errors import ArtifactError, LinerError
from recsys.integrity.calibration import (
    adjust_prior,
    choose_threshold,
    estimate_prior,
    expected_precision_threshold,
    reliability,
    stratified_folds,
)

logger = logging.getLogger(__name__)

MODEL_FILE = "detector.txt"
KIND_MODEL_FILE = "detector_kind.txt"
META_FILE = "detector.json"
DECLARED_LEVELS = (AiInvolvement.NONE, AiInvolvement.ASSISTED, AiInvolvement.GENERATED)


class AiDetectorConfig(BaseModel):
    """How the detector is trained and where its threshold goes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target_precision: float = Field(0.95, gt=0, le=1)
    """The threshold is the lowest calibrated probability with at least this precision on the
    calibration fold."""
    min_threshold: float = Field(0.5, ge=0, le=1)
    """Never label below this calibrated probability."""
    folds: int = Field(5, ge=2, le=20)
    """Cross-fitting folds."""
    num_leaves: int = Field(4, ge=2)
    """LightGBM leaves per tree (small: consent leaves few training tracks)."""
    min_data_in_leaf: int = Field(20, ge=1)
    """LightGBM minimum rows per leaf."""
    rounds: int = Field(100, ge=1)
    """Boosting rounds."""
    learning_rate: float = Field(0.05, gt=0)
    """LightGBM learning rate."""
    seed: int = 0
    """Seed of the split and the booster."""


def trainable(track: Track, artists: Mapping[str, Artist], consent: ConsentState) -> bool:
    """Whether a track may train the detector: a declared level, and ``ai_training`` granted
    by the rights holder of every credited artist (unknown artists never grant)."""
    p = track.provenance
    if p.label_source is not LabelSource.DECLARED or p.ai_involvement not in DECLARED_LEVELS:
        return False
    if not track.credits:
        return False
    for credit in track.credits:
        artist = artists.get(credit.artist_id)
        if artist is None or not consent.allows(artist.rights_holder_id, ConsentScope.AI_TRAINING):
            return False
    return True


def _params(config: AiDetectorConfig, n: int) -> dict[str, Any]:
    return {
        "objective": "binary",
        "learning_rate": config.learning_rate,
        "num_leaves": config.num_leaves,
        "min_data_in_leaf": max(1, min(config.min_data_in_leaf, n // 20)),
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "seed": config.seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "verbose": -1,
    }


@dataclass(kw_only=True)
class AiDetector:
    """A trained detector: booster, calibration map, threshold and the figures that back it.

    Attributes:
        booster: P(AI involved) before calibration.
        kind_booster: P(GENERATED | AI involved), or None when too few of either kind.
        calibration_x: isotonic breakpoints (raw scores).
        calibration_y: calibrated probabilities at the breakpoints.
        threshold: calibrated probability reaching the target precision on the declared
            (training) population; :func:`detect_labels` re-derives it for the undisclosed one.
        train_prior: share of AI tracks in the training set.
        target_precision: the precision labels must reach.
        min_threshold: never label below this probability.
        feature_names: the columns the booster expects, in order.
        report: training and held-out figures (JSON-ready).
    """

    booster: lgb.Booster
    kind_booster: lgb.Booster | None
    calibration_x: np.ndarray
    calibration_y: np.ndarray
    threshold: float
    feature_names: list[str]
    train_prior: float
    target_precision: float = 0.95
    min_threshold: float = 0.5
    report: dict[str, Any] = field(default_factory=dict)
    out_of_fold: dict[str, float] = field(default_factory=dict)
    """Raw score of every training track from the fold model that did not see it (not saved:
    only the run that trained the detector can score its own training tracks fairly)."""
    kind_out_of_fold: dict[str, float] = field(default_factory=dict)
    """P(generated | AI) of every AI training track from a kind model that did not see it."""

    def _matrix(self, features: pd.DataFrame) -> np.ndarray:
        return features.reindex(columns=self.feature_names).to_numpy(dtype=np.float64)

    def raw_scores(self, features: pd.DataFrame) -> np.ndarray:
        """Uncalibrated booster scores."""
        return np.asarray(self.booster.predict(self._matrix(features)), dtype=np.float64)

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated P(AI involved) per row."""
        raw = self.raw_scores(features)
        return np.interp(raw, self.calibration_x, self.calibration_y)

    def predict_declared(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated P(AI involved) per row, out of fold for the detector's own training
        tracks: the final booster saw their declared labels, so its score on them would
        repeat the declaration instead of checking it (cross-fitting)."""
        raw = self.raw_scores(features)
        for i, track_id in enumerate(features.index):
            held_out = self.out_of_fold.get(str(track_id))
            if held_out is not None:
                raw[i] = held_out
        return np.interp(raw, self.calibration_x, self.calibration_y)

    def predict_generated_declared(self, features: pd.DataFrame) -> np.ndarray:
        """:meth:`predict_generated`, out of fold for the kind model's own training tracks."""
        generated = self.predict_generated(features)
        for i, track_id in enumerate(features.index):
            held_out = self.kind_out_of_fold.get(str(track_id))
            if held_out is not None:
                generated[i] = held_out
        return generated

    def predict_generated(self, features: pd.DataFrame) -> np.ndarray:
        """P(fully generated | AI involved) per row (1 without a kind model)."""
        if self.kind_booster is None:
            return np.ones(len(features))
        return np.asarray(self.kind_booster.predict(self._matrix(features)), dtype=np.float64)

    def save(self, directory: Path) -> list[Path]:
        """Write LightGBM text models and a JSON sidecar; returns the files written."""
        directory.mkdir(parents=True, exist_ok=True)
        paths = [directory / MODEL_FILE, directory / META_FILE]
        self.booster.save_model(str(paths[0]))
        if self.kind_booster is not None:
            self.kind_booster.save_model(str(directory / KIND_MODEL_FILE))
            paths.append(directory / KIND_MODEL_FILE)
        meta = {
            "format": 1,
            "threshold": self.threshold,
            "train_prior": self.train_prior,
            "target_precision": self.target_precision,
            "min_threshold": self.min_threshold,
            "feature_names": self.feature_names,
            "calibration": {"x": self.calibration_x.tolist(), "y": self.calibration_y.tolist()},
            "report": self.report,
        }
        paths[1].write_text(json.dumps(meta, indent=2, sort_keys=True))
        return paths

    @classmethod
    def load(cls, directory: Path) -> AiDetector:
        """Read a detector written by :meth:`save`.

        Raises:
            ArtifactError: files missing or unreadable.
        """
        try:
            meta = json.loads((directory / META_FILE).read_text())
            booster = lgb.Booster(model_file=str(directory / MODEL_FILE))
            kind_path = directory / KIND_MODEL_FILE
            kind = lgb.Booster(model_file=str(kind_path)) if kind_path.exists() else None
        except (OSError, ValueError, lgb.basic.LightGBMError) as exc:
            raise ArtifactError(
                f"cannot load the AI detector from {directory}: {exc}. Fix: run `liner build`"
            ) from exc
        return cls(
            booster=booster,
            kind_booster=kind,
            calibration_x=np.asarray(meta["calibration"]["x"], dtype=np.float64),
            calibration_y=np.asarray(meta["calibration"]["y"], dtype=np.float64),
            threshold=float(meta["threshold"]),
            feature_names=list(meta["feature_names"]),
            train_prior=float(meta["train_prior"]),
            target_precision=float(meta["target_precision"]),
            min_threshold=float(meta["min_threshold"]),
            report=dict(meta.get("report", {})),
        )


def train_detector(
    features: pd.DataFrame,
    tracks: Sequence[Track],
    artists: Mapping[str, Artist],
    consent: ConsentState,
    config: AiDetectorConfig | None = None,
) -> AiDetector:
    """Train, calibrate and measure the detector on the consented, declared tracks.

    Args:
        features: :func:`~recsys.integrity.features.detector_features` of ``tracks``.
        tracks: the catalog.
        artists: artists by id (for rights holders).
        consent: the consent state (the training set depends on it).
        config: training settings.

    Raises:
        LinerError: fewer than 10 trainable tracks of either class.
    """
    cfg = config or AiDetectorConfig()
    mask = np.array([trainable(t, artists, consent) for t in tracks])
    y = np.array([t.provenance.ai_involvement is not AiInvolvement.NONE for t in tracks])[mask]
    x = features.loc[[t.track_id for t in tracks]].to_numpy(dtype=np.float64)[mask]
    if min(int(y.sum()), int((~y).sum())) < 10:
        raise LinerError(
            f"the AI detector needs at least 10 consented declared tracks of each class, got "
            f"{int(y.sum())} AI and {int((~y).sum())} human. Fix: ingest more declared tracks "
            "or wait for more ai_training grants"
        )
    names = list(features.columns)
    params = _params(cfg, len(y))
    fold = stratified_folds(y, cfg.folds, cfg.seed)
    oof = np.zeros(len(y))
    for k in range(cfg.folds):
        fit, held = fold != k, fold == k
        model = lgb.train(params, lgb.Dataset(x[fit], y[fit], feature_name=names), cfg.rounds)
        oof[held] = model.predict(x[held])
    held_out = _cross_calibrated(oof, y, cfg.seed)
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(oof, y.astype(float))
    calibrated_oof = iso.predict(oof)
    threshold = choose_threshold(calibrated_oof, y, cfg.target_precision, cfg.min_threshold)
    booster = lgb.train(params, lgb.Dataset(x, y, feature_name=names), cfg.rounds)
    declared = sum(
        t.provenance.label_source is LabelSource.DECLARED
        and t.provenance.ai_involvement in DECLARED_LEVELS
        for t in tracks
    )
    report: dict[str, Any] = {
        "trained_on": {"tracks": len(y), "ai": int(y.sum()), "folds": cfg.folds},
        "excluded_without_consent": int(declared - mask.sum()),
        "consent_version": consent.version,
        "threshold": threshold,
        "held_out": reliability(held_out, y, threshold),
        "top_features": _importance(booster, names),
    }
    logger.info("AI detector trained: %s", json.dumps(report["held_out"]["summary"]))
    kind_booster, kind_oof = _kind_booster(features, tracks, mask, params, cfg)
    return AiDetector(
        booster=booster,
        kind_booster=kind_booster,
        kind_out_of_fold=kind_oof,
        calibration_x=np.asarray(iso.X_thresholds_, dtype=np.float64),
        calibration_y=np.asarray(iso.y_thresholds_, dtype=np.float64),
        threshold=threshold,
        feature_names=names,
        train_prior=float(y.mean()),
        target_precision=cfg.target_precision,
        min_threshold=cfg.min_threshold,
        report=report,
        out_of_fold={
            t.track_id: float(score)
            for t, score in zip(
                [t for t, m in zip(tracks, mask, strict=True) if m], oof, strict=True
            )
        },
    )


def _cross_calibrated(oof: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Out-of-sample calibrated probabilities: isotonic fitted on one half of the
    out-of-fold scores predicts the other half, and the other way round."""
    half = stratified_folds(y, 2, seed + 1)
    out = np.zeros(len(y))
    for h in (0, 1):
        fit, held = half != h, half == h
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        out[held] = iso.fit(oof[fit], y[fit].astype(float)).predict(oof[held])
    return out


def _importance(booster: lgb.Booster, names: list[str], top: int = 10) -> dict[str, float]:
    gain = booster.feature_importance(importance_type="gain")
    total = float(gain.sum()) or 1.0
    order = np.argsort(-gain)[:top]
    return {names[i]: round(float(gain[i]) / total, 4) for i in order if gain[i] > 0}


def _kind_booster(
    features: pd.DataFrame,
    tracks: Sequence[Track],
    mask: np.ndarray,
    params: dict[str, Any],
    cfg: AiDetectorConfig,
) -> tuple[lgb.Booster | None, dict[str, float]]:
    """GENERATED vs ASSISTED among the AI tracks of the training set, and each of those
    tracks' out-of-fold P(generated) (cross-fitted like the main booster)."""
    chosen = [t for t, m in zip(tracks, mask, strict=True) if m]
    rows = [
        i
        for i in range(len(chosen))
        if chosen[i].provenance.ai_involvement is not AiInvolvement.NONE
    ]
    kind = np.array([chosen[i].provenance.is_ai_generated for i in rows])
    if len(rows) == 0 or min(int(kind.sum()), int((~kind).sum())) < 5:
        return None, {}
    ids = [chosen[i].track_id for i in rows]
    x = features.loc[ids].to_numpy(dtype=np.float64)
    names = list(features.columns)
    kind_params, rounds = {**params, "min_data_in_leaf": 3}, max(50, cfg.rounds // 3)
    folds = min(cfg.folds, int(kind.sum()), int((~kind).sum()))
    fold = stratified_folds(kind, folds, cfg.seed)
    oof = np.zeros(len(ids))
    for k in range(folds):
        fit, held = fold != k, fold == k
        model = lgb.train(kind_params, lgb.Dataset(x[fit], kind[fit], feature_name=names), rounds)
        oof[held] = model.predict(x[held])
    booster = lgb.train(kind_params, lgb.Dataset(x, kind, feature_name=names), rounds)
    return booster, {t: float(g) for t, g in zip(ids, oof, strict=True)}


@dataclass(frozen=True, kw_only=True)
class Detection:
    """The detector's verdict on the undisclosed tracks.

    Attributes:
        labels: new provenance by track id (DETECTED labels, and resets of stale ones).
        confidence: P(AI) of every open track, under the estimated prior.
        prior: estimated share of AI among the open tracks that passed screening.
        threshold: confidence from which a track is labelled.
        expected_precision: mean confidence of the labelled tracks that passed screening.
    """

    labels: dict[str, Provenance]
    confidence: dict[str, float]
    prior: float
    threshold: float
    expected_precision: float


def detect_labels(
    detector: AiDetector,
    features: pd.DataFrame,
    tracks: Sequence[Track],
    quarantined: Collection[str] = (),
) -> Detection:
    """DETECTED labels for the tracks that declare nothing.

    Declared labels always win: only tracks labelled ``UNDISCLOSED`` (or ``DETECTED`` by an
    earlier run) are considered, and a stale DETECTED label the model no longer supports
    goes back to ``UNDISCLOSED``.

    Args:
        detector: the trained detector.
        features: detector features, indexed by track id.
        tracks: the catalog.
        quarantined: track ids held back by screening; labelled like the rest, but left out
            of the estimated AI share and the threshold choice (see the module docstring).
    """
    open_tracks = [
        t
        for t in tracks
        if t.provenance.ai_involvement is AiInvolvement.UNDISCLOSED
        or t.provenance.label_source is LabelSource.DETECTED
    ]
    if not open_tracks:
        return Detection(labels={}, confidence={}, prior=0.0, threshold=1.0, expected_precision=1.0)
    rows = features.loc[[t.track_id for t in open_tracks]]
    raw = detector.predict_proba(rows)
    held = np.array([t.track_id in quarantined for t in open_tracks])
    basis = ~held if (~held).any() else np.ones(len(open_tracks), dtype=bool)
    prior = estimate_prior(raw[basis], detector.train_prior)
    probability = adjust_prior(raw, detector.train_prior, prior)
    threshold = expected_precision_threshold(
        probability[basis], detector.target_precision, detector.min_threshold
    )
    generated = detector.predict_generated(rows)
    labels: dict[str, Provenance] = {}
    for track, p, g in zip(open_tracks, probability, generated, strict=True):
        if p >= threshold:
            level = AiInvolvement.GENERATED if g >= 0.5 else AiInvolvement.ASSISTED
            labels[track.track_id] = Provenance(
                ai_involvement=level,
                label_source=LabelSource.DETECTED,
                confidence=round(float(p), 4),
                references_artist_ids=track.provenance.references_artist_ids,
            )
        elif track.provenance.label_source is LabelSource.DETECTED:
            labels[track.track_id] = Provenance(
                references_artist_ids=track.provenance.references_artist_ids
            )
    chosen = probability[basis & (probability >= threshold)]
    return Detection(
        labels=labels,
        confidence={t.track_id: float(p) for t, p in zip(open_tracks, probability, strict=True)},
        prior=prior,
        threshold=threshold,
        expected_precision=float(chosen.mean()) if chosen.size else 1.0,
    )


__all__ = [
    "KIND_MODEL_FILE",
    "META_FILE",
    "MODEL_FILE",
    "AiDetector",
    "AiDetectorConfig",
    "Detection",
    "detect_labels",
    "train_detector",
    "trainable",
]
