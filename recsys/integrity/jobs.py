"""The integrity job: screen uploads (with calibrated near-duplicate search) and label
undeclared AI, over everything in a store. `liner screen` and the `integrity` build step run it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from recsys.domain import LabelSource
from recsys.errors import LinerError
from recsys.integrity.audio import AudioFeatures, extract_audio, extract_audio_cached
from recsys.integrity.detector import AiDetector, AiDetectorConfig, detect_labels, train_detector
from recsys.integrity.features import detector_features
from recsys.integrity.neardup import Calibration, NearDuplicateScreen, calibrate_threshold
from recsys.integrity.quarantine import ScreeningResult, screen_store
from recsys.integrity.screening import Screen, ScreeningConfig
from recsys.integrity.texture import texture_neighbours
from recsys.store import Store

logger = logging.getLogger(__name__)


@dataclass(kw_only=True)
class IntegrityRun:
    """What one run found and did.

    Attributes:
        screening: flags and quarantines.
        near_duplicate: the calibrated near-duplicate threshold, when audio was available.
        detector: the trained detector, when it could be trained.
        probabilities: calibrated P(AI) of every undisclosed track.
        detected: labels written (or that would be, on a dry run), by track id.
        detection: the figures of the labelling (estimated AI share, threshold, expected
            precision).
        detector_skipped: why the detector did not run, if it did not.
    """

    screening: ScreeningResult
    near_duplicate: Calibration | None = None
    detector: AiDetector | None = None
    probabilities: dict[str, float] = field(default_factory=dict)
    detected: dict[str, str] = field(default_factory=dict)
    detection: dict[str, Any] = field(default_factory=dict)
    detector_skipped: str = ""

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary of the run."""
        near = self.near_duplicate
        return {
            "flagged": len(self.screening.flags),
            "quarantined": len(self.screening.quarantined),
            "flags_by_reason": self.screening.counts_by_reason(),
            "near_duplicate": None
            if near is None
            else {
                "threshold": round(near.threshold, 4),
                "target_fpr": near.target_fpr,
                "reference_fpr": round(near.reference_fpr, 4),
                "references": near.references,
            },
            "detector": None if self.detector is None else self.detector.report,
            "detector_skipped": self.detector_skipped or None,
            "detection": self.detection or None,
        }


def run_integrity(
    store: Store,
    *,
    data_root: Path | None = None,
    screening: ScreeningConfig | None = None,
    detector_config: AiDetectorConfig | None = None,
    near_duplicate_fpr: float = 0.005,
    detect: bool = True,
    model_dir: Path | None = None,
    audio: AudioFeatures | None = None,
    audio_cache: Path | None = None,
    at: datetime | None = None,
    dry_run: bool = False,
) -> IntegrityRun:
    """Screen the store's catalog and label its undeclared AI tracks.

    Args:
        store: the store.
        data_root: folder that relative audio paths are resolved against.
        screening: thresholds of the metadata screens.
        detector_config: detector training settings.
        near_duplicate_fpr: target false-positive rate of the near-duplicate threshold.
        detect: train and apply the AI detector.
        model_dir: where to save the detector (LightGBM text + JSON), if anywhere.
        audio: precomputed audio features of ``store.iter_tracks()`` (read when None).
        audio_cache: an ``.npz`` file keeping audio analyses between runs.
        at: decision time of quarantines.
        dry_run: compute everything, write nothing to the store.

    Example:
        >>> run = run_integrity(open_store("var/liner.db"))  # doctest: +SKIP
        >>> run.summary()["flags_by_reason"]  # doctest: +SKIP
    """
    tracks = list(store.iter_tracks())
    artists = {a.artist_id: a for a in store.iter_artists()}
    if audio is None:
        audio = (
            extract_audio_cached(tracks, audio_cache, data_root)
            if audio_cache is not None
            else extract_audio(tracks, data_root)
        )
    extra: list[Screen] = []
    calibration = None
    space = audio.similarity_space()
    if space.shape[1] and len(tracks) > 1:
        mel = audio.mel if audio.has_mel() else None
        # Texture matching when audio files exist; descriptor cosine otherwise.
        found = texture_neighbours(mel, tracks, artists) if mel is not None else None
        calibration = calibrate_threshold(
            space, tracks, artists, near_duplicate_fpr, neighbours=found
        )
        logger.info(
            "near-duplicate threshold %.4f (reference FPR %.4f over %d tracks)",
            calibration.threshold,
            calibration.reference_fpr,
            calibration.references,
        )
        ids = [t.track_id for t in tracks]
        extra.append(
            NearDuplicateScreen(space, ids, calibration.threshold, mel=mel, neighbours=found)
        )
    result = screen_store(store, config=screening, extra_screens=extra, at=at, dry_run=dry_run)
    run = IntegrityRun(screening=result, near_duplicate=calibration)
    if not detect:
        run.detector_skipped = "not asked"
        return run
    features = detector_features(tracks, artists, audio)
    try:
        detector = train_detector(features, tracks, artists, store.consent_state(), detector_config)
    except LinerError as exc:
        logger.warning("AI detector not trained: %s", exc)
        run.detector_skipped = str(exc)
        return run
    run.detector = detector
    held = set(result.quarantined) | store.quarantined_ids()
    detection = detect_labels(detector, features, tracks, quarantined=held)
    run.probabilities = detection.confidence
    run.detected = {tid: str(p.ai_involvement) for tid, p in detection.labels.items()}
    run.detection = {
        "open_tracks": len(detection.confidence),
        "estimated_ai_share": round(detection.prior, 4),
        "threshold": round(detection.threshold, 4),
        "expected_precision": round(detection.expected_precision, 4),
        "labelled": sum(p.label_source is LabelSource.DETECTED for p in detection.labels.values()),
    }
    labels = detection.labels
    if not dry_run:
        for track_id, provenance in labels.items():
            store.set_provenance(track_id, provenance)
    if model_dir is not None:
        detector.save(model_dir)
    logger.info("AI detector labelled %d undisclosed tracks", len(labels))
    return run


__all__ = ["IntegrityRun", "run_integrity"]
