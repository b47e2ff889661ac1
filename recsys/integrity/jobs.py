"""The integrity job: screen uploads (with calibrated near-duplicate search), label undeclared
AI and dispute contradicted declarations, over everything in a store. `liner ingest`,
`liner screen`, `liner build` and `liner serve` run it (:func:`resume_screening`).

All of a run's decisions (quarantines, DETECTED labels, disputes) are committed in one
transaction together with clearing the unscreened marks the run read before it started, so a
crash at any point leaves the unscreened uploads held and the next run screens them again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from recsys.domain import Artist, LabelSource, Provenance, Track
from recsys.errors import LinerError
from recsys.integrity.audio import (
    FORENSIC_NAMES,
    AudioFeatures,
    extract_audio,
    extract_audio_cached,
)
from recsys.integrity.detector import AiDetector, AiDetectorConfig, detect_labels, train_detector
from recsys.integrity.disputes import (
    CHAIN_FEATURE,
    DisputeCheck,
    DisputeConfig,
    check_declarations,
    check_declarations_by_chain,
    machine_chain,
)
from recsys.integrity.features import detector_features
from recsys.integrity.machine_audio import extract_machine_cues_cached, machine_cue_cache
from recsys.integrity.machine_evidence import (
    AudioCheck,
    AudioDisputeConfig,
    audio_checked,
    check_declarations_by_audio,
)
from recsys.integrity.neardup import (
    Calibration,
    build_near_duplicate_screen,
    fingerprint_cache_path,
)
from recsys.integrity.protected import protected_artists
from recsys.integrity.quarantine import ScreeningResult, pause_for_test, screen_store
from recsys.integrity.screening import Screen, ScreeningConfig
from recsys.integrity.streams.screen import screen_streams
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
        disputes: the check of declared NONE/ASSISTED labels, when the detector ran.
        audio_check: the check of declared NONE/ASSISTED labels against the audio alone
            (:mod:`recsys.integrity.machine_evidence`), when any has an audio file.
        unscreened_before: tracks that were unscreened when the run started (all of them
            are screened once it commits).
        streams: the artificial-streaming screen of the event log (flags recorded).
    """

    screening: ScreeningResult
    near_duplicate: Calibration | None = None
    detector: AiDetector | None = None
    probabilities: dict[str, float] = field(default_factory=dict)
    detected: dict[str, str] = field(default_factory=dict)
    detection: dict[str, Any] = field(default_factory=dict)
    detector_skipped: str = ""
    disputes: DisputeCheck | None = None
    audio_check: AudioCheck | None = None
    unscreened_before: int = 0
    streams: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary of the run."""
        near = self.near_duplicate
        return {
            "flagged": len(self.screening.flags),
            "quarantined": len(self.screening.quarantined),
            "flags_by_reason": self.screening.counts_by_reason(),
            "near_duplicate": None if near is None else near.summary(),
            "detector": None if self.detector is None else self.detector.report,
            "detector_skipped": self.detector_skipped or None,
            "detection": self.detection or None,
            "disputes": None if self.disputes is None else self.disputes.summary(),
            "audio_check": None if self.audio_check is None else self.audio_check.summary(),
            "unscreened_before": self.unscreened_before,
            "streams": self.streams or None,
        }


def run_integrity(
    store: Store,
    *,
    data_root: Path | None = None,
    screening: ScreeningConfig | None = None,
    detector_config: AiDetectorConfig | None = None,
    near_duplicate_fpr: float = 0.001,
    detect: bool = True,
    model_dir: Path | None = None,
    audio: AudioFeatures | None = None,
    audio_cache: Path | None = None,
    at: datetime | None = None,
    dry_run: bool = False,
    disputes: DisputeConfig | None = None,
) -> IntegrityRun:
    """Screen the store's catalog, label its undeclared AI tracks and dispute declared labels
    its analysis strongly contradicts; commit it all with the screened marks, or nothing.

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
        disputes: when a declared label counts as strongly contradicted.

    Example:
        >>> run = run_integrity(open_store("var/liner.db"))  # doctest: +SKIP
        >>> run.summary()["flags_by_reason"]  # doctest: +SKIP
    """
    # Marks before the catalog: whatever they mark, the rows read next cover.
    marks = store.unscreened_marks()
    tracks = list(store.iter_tracks())
    artists = {a.artist_id: a for a in store.iter_artists()}
    if audio is None:
        audio = (
            extract_audio_cached(tracks, audio_cache, data_root)
            if audio_cache is not None
            else extract_audio(tracks, data_root)
        )
    extra: list[Screen] = []
    near = build_near_duplicate_screen(
        tracks,
        artists,
        root=data_root,
        cache=None if audio_cache is None else fingerprint_cache_path(audio_cache),
        target_fpr=near_duplicate_fpr,
        protected=protected_artists(store, tracks, artists, screening or ScreeningConfig()),
    )
    extra.append(near)
    calibration = near.calibration
    result = screen_store(
        store,
        config=screening,
        extra_screens=extra,
        at=at,
        defer=True,
        marks=marks,
        machine_like=_machine_like(tracks, artists, audio),
    )
    run = IntegrityRun(screening=result, near_duplicate=calibration, unscreened_before=len(marks))
    labels: dict[str, Provenance] = {}
    if detect:
        labels = _detect(store, run, tracks, artists, audio, detector_config, disputes, at)
    else:
        run.detector_skipped = "not asked"
    held = set(result.quarantined) | store.quarantined_ids()
    run.audio_check = _check_audio(store, run, tracks, artists, data_root, audio_cache, held, at)
    opened = [] if run.disputes is None else list(run.disputes.records)
    opened += [] if run.audio_check is None else run.audio_check.records
    if not dry_run:
        pause_for_test("before_screening_commit")
        store.finish_screening(
            screened=marks,
            quarantines=result.records,
            disputes=opened,
            labels=labels,
        )
    run.streams = screen_streams(store, at=at, dry_run=dry_run).summary()
    if run.detector is not None and model_dir is not None:
        run.detector.save(model_dir)
    logger.info(
        "screening committed: %d unscreened before, %d quarantined, %d labelled, %d disputed",
        len(marks),
        len(result.records),
        len(labels),
        len(opened),
    )
    return run


def _check_audio(
    store: Store,
    run: IntegrityRun,
    tracks: list[Track],
    artists: dict[str, Artist],
    data_root: Path | None,
    audio_cache: Path | None,
    held: set[str],
    at: datetime | None,
    config: AudioDisputeConfig | None = None,
) -> AudioCheck | None:
    """Declared NONE/ASSISTED labels against the audio alone; a track the detector's check
    already disputes gets the audio evidence added to that dispute instead of a second one."""
    wanted = [t for t in tracks if t.audio_path and audio_checked(t)]
    if not wanted:
        return None
    cache = None if audio_cache is None else machine_cue_cache(audio_cache)
    cues = extract_machine_cues_cached(wanted, cache, data_root)
    check = check_declarations_by_audio(
        cues, tracks, artists, history=store.dispute_history(), quarantined=held,
        config=config, at=at,
    )  # fmt: skip
    audio = {r.track_id: r for r in check.records}
    if run.disputes is not None:
        merged = []
        for record in run.disputes.records:
            extra = audio.pop(record.track_id, None)
            if extra is not None:
                record = replace(record, evidence={**extra.evidence, **record.evidence})
            merged.append(record)
        run.disputes.records = merged
    check.records = list(audio.values())
    return check


def _machine_like(
    tracks: list[Track], artists: dict[str, Artist], audio: AudioFeatures
) -> frozenset[str]:
    """Tracks whose recording chain has no noise floor, unlike every clean reference
    (:func:`~recsys.integrity.disputes.machine_chain`); none without forensic statistics."""
    if audio.forensic.shape[1] != len(FORENSIC_NAMES) or len(audio.forensic) != len(tracks):
        return frozenset()
    column = audio.forensic[:, FORENSIC_NAMES.index(CHAIN_FEATURE)]
    floor = {t.track_id: float(v) for t, v in zip(tracks, column, strict=True)}
    return machine_chain(floor, tracks, artists).ids


def _detect(
    store: Store,
    run: IntegrityRun,
    tracks: list[Track],
    artists: dict[str, Artist],
    audio: AudioFeatures,
    detector_config: AiDetectorConfig | None,
    dispute_config: DisputeConfig | None,
    at: datetime | None,
) -> dict[str, Provenance]:
    """Train the detector, label undisclosed tracks and check declared ones (into ``run``);
    returns the labels to write."""
    result = run.screening
    features = detector_features(tracks, artists, audio)
    # A declaration in dispute is in doubt: it does not teach the detector what AI sounds like.
    disputed = store.disputed_ids()
    train_on = [t for t in tracks if t.track_id not in disputed]
    try:
        detector = train_detector(
            features, train_on, artists, store.consent_state(), detector_config
        )
    except LinerError as exc:
        logger.warning("AI detector not trained: %s", exc)
        run.detector_skipped = str(exc)
        run.disputes = check_declarations_by_chain(
            features,
            tracks,
            artists,
            history=store.dispute_history(),
            quarantined=set(result.quarantined) | store.quarantined_ids(),
            at=at,
        )
        return {}
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
    run.disputes = check_declarations(
        detector,
        features,
        tracks,
        artists,
        history=store.dispute_history(),
        quarantined=held,
        config=dispute_config,
        at=at,
    )
    logger.info("AI detector labelled %d undisclosed tracks", len(detection.labels))
    return detection.labels


def resume_screening(
    store: Store, *, audio_cache: Path | None = None, why: str = ""
) -> IntegrityRun | None:
    """Finish screening what an interrupted run (or ``UpsertTracks``) left unscreened.

    Unscreened tracks are held (never served, never paid) until this commits; it is what
    `liner build` and `liner serve` call on start (`liner ingest` and `liner screen` run the
    whole job anyway). Returns None when nothing was pending.
    """
    pending = store.unscreened_ids()
    if not pending:
        return None
    logger.warning(
        "%d tracks are unscreened (an ingest or screening did not finish, or UpsertTracks "
        "wrote them); they are held from serving and payouts; screening them now%s",
        len(pending),
        f" ({why})" if why else "",
    )
    run = run_integrity(store, audio_cache=audio_cache)
    logger.warning(
        "screening resumed and committed: %d tracks screened, %d still unscreened",
        run.unscreened_before,
        len(store.unscreened_ids()),
    )
    return run


__all__ = ["IntegrityRun", "resume_screening", "run_integrity"]
