"""The AI detector: trains only on consented declared tracks, is calibrated, labels only what
declares nothing, and round-trips through its LightGBM text artifact."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from recsys.domain import (
    AiInvolvement,
    Artist,
    ConsentScope,
    ConsentState,
    Credit,
    LabelSource,
    Provenance,
    Track,
)
from recsys.integrity import (
    AiDetector,
    AiDetectorConfig,
    AudioFeatures,
    detect_labels,
    detector_features,
    train_detector,
    trainable,
)
from recsys.integrity.calibration import (
    adjust_prior,
    estimate_prior,
    reliability,
    stratified_folds,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _world(seed: int = 0) -> tuple[list[Track], dict[str, Artist], ConsentState, np.ndarray]:
    """Declared tracks (AI ones have a machine-like peak level), a non-consenting holder, and
    undisclosed tracks whose truth is returned as the last value."""
    rng = np.random.default_rng(seed)
    artists = {
        f"a{i}": Artist(artist_id=f"a{i}", name=f"A{i}", rights_holder_id=f"h{i % 8}")
        for i in range(40)
    }
    consent = ConsentState(
        granted=frozenset((f"h{i}", ConsentScope.AI_TRAINING) for i in range(7)), version=7
    )
    tracks, truth = [], []
    for n in range(420):
        ai = rng.random() < 0.3
        undisclosed = n >= 300
        level = AiInvolvement.GENERATED if ai else AiInvolvement.NONE
        tracks.append(
            Track(
                track_id=f"t{n:04d}",
                title="x",
                credits=(Credit(artist_id=f"a{n % 40}", share=1.0),),
                duration_ms=int(rng.integers(120, 300)) * 1000,
                uploaded_at=T0 + timedelta(hours=int(n)),
                uploader_id=f"u{n % 40}",
                audio_descriptors={
                    "peak": float(-1.0 + rng.normal(0, 0.02) if ai else rng.uniform(-6, -1.5)),
                    "noise": float(rng.normal(0, 1)),
                },
                provenance=Provenance() if undisclosed else Provenance(ai_involvement=level),
            )
        )
        if undisclosed:
            truth.append(ai)
    return tracks, artists, consent, np.array(truth)


def _features(tracks: list[Track], artists: dict[str, Artist]):  # type: ignore[no-untyped-def]
    names = ("noise", "peak")
    audio = AudioFeatures(
        fingerprint=np.zeros((len(tracks), 0), np.float32),
        forensic=np.zeros((len(tracks), 0), np.float32),
        descriptors=np.array([[t.audio_descriptors[n] for n in names] for t in tracks]),
        descriptor_names=names,
    )
    return detector_features(tracks, artists, audio)


@pytest.fixture(scope="module")
def trained():  # type: ignore[no-untyped-def]
    tracks, artists, consent, truth = _world()
    features = _features(tracks, artists)
    detector = train_detector(features, tracks, artists, consent, AiDetectorConfig(rounds=60))
    return tracks, artists, consent, truth, features, detector


def test_training_set_respects_ai_training_consent(trained) -> None:  # type: ignore[no-untyped-def]
    tracks, artists, consent, _, _, detector = trained
    allowed = [t for t in tracks if trainable(t, artists, consent)]
    assert all(artists[t.credits[0].artist_id].rights_holder_id != "h7" for t in allowed)
    assert all(t.provenance.ai_involvement is not AiInvolvement.UNDISCLOSED for t in allowed)
    assert detector.report["trained_on"]["tracks"] == len(allowed)
    assert detector.report["excluded_without_consent"] == 300 - len(allowed)


def test_held_out_figures_are_calibrated_and_separating(trained) -> None:  # type: ignore[no-untyped-def]
    summary = trained[5].report["held_out"]["summary"]
    assert summary["auc"] >= 0.95
    assert summary["ece"] <= 0.1
    assert "peak" in " ".join(trained[5].report["top_features"])


def test_labels_only_undisclosed_tracks(trained) -> None:  # type: ignore[no-untyped-def]
    tracks, _, _, truth, features, detector = trained
    detection = detect_labels(detector, features, tracks)
    undisclosed = [t.track_id for t in tracks[300:]]
    assert set(detection.labels) <= set(undisclosed)
    predicted = np.array([t in detection.labels for t in undisclosed])
    precision = (predicted & truth).sum() / predicted.sum()
    recall = (predicted & truth).sum() / truth.sum()
    assert precision >= 0.9 and recall >= 0.8
    label = next(iter(detection.labels.values()))
    assert label.label_source is LabelSource.DETECTED
    assert detection.threshold <= label.confidence <= 1.0


def test_quarantined_uploads_do_not_move_the_share_or_threshold(trained) -> None:  # type: ignore[no-untyped-def]
    # Quarantined spam, a population of its own, would move the estimated share and the
    # threshold for everyone; it is still labelled, but does not vote.
    tracks, artists, _, _, features, detector = trained
    spam = [
        replace(
            tracks[300 + k % 120], track_id=f"spam{k}", audio_descriptors={"peak": -1.9, "noise": 0}
        )
        for k in range(200)
    ]
    both = [*tracks, *spam]
    feats = _features(both, artists)
    alone = detect_labels(detector, features, tracks)
    mixed = detect_labels(detector, feats, both)
    held = detect_labels(detector, feats, both, quarantined={t.track_id for t in spam})
    assert held.prior == pytest.approx(alone.prior) and held.threshold == alone.threshold
    assert abs(mixed.prior - alone.prior) > 0.02
    assert {t for t in held.labels if not t.startswith("spam")} == set(alone.labels)


def test_declared_labels_always_win(trained) -> None:  # type: ignore[no-untyped-def]
    tracks, artists, _, _, _, detector = trained
    machine_like = tracks[300:].copy()
    declared = Track(
        **{
            **machine_like[0].__dict__,
            "track_id": "declared-human",
            "audio_descriptors": {"peak": -1.0, "noise": 0.0},
            "provenance": Provenance(ai_involvement=AiInvolvement.NONE),
        }
    )
    undisclosed = Track(**{**declared.__dict__, "track_id": "silent", "provenance": Provenance()})
    both = [*machine_like, declared, undisclosed]
    detection = detect_labels(detector, _features(both, artists), both)
    assert "silent" in detection.labels  # the same audio without a declaration is labelled
    assert "declared-human" not in detection.labels


def test_stale_detected_label_goes_back_to_undisclosed(trained) -> None:  # type: ignore[no-untyped-def]
    tracks, _, _, _, features, detector = trained
    human = next(t for t in tracks[300:] if t.audio_descriptors["peak"] < -3)
    stale = Provenance(
        ai_involvement=AiInvolvement.GENERATED, label_source=LabelSource.DETECTED, confidence=0.9
    )
    relabelled = [Track(**{**human.__dict__, "provenance": stale})]
    detection = detect_labels(detector, features, relabelled)
    assert detection.labels[human.track_id].ai_involvement is AiInvolvement.UNDISCLOSED


def test_artifact_round_trip_is_lightgbm_text(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, _, _, _, features, detector = trained
    paths = detector.save(tmp_path)
    assert (tmp_path / "detector.txt").read_text().startswith("tree")
    assert all(p.suffix in {".txt", ".json"} for p in paths)
    loaded = AiDetector.load(tmp_path)
    rows = features.iloc[300:]
    np.testing.assert_allclose(loaded.predict_proba(rows), detector.predict_proba(rows))
    assert loaded.threshold == detector.threshold


def test_reliability_of_a_perfectly_calibrated_forecaster() -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 1, 20_000)
    y = rng.uniform(0, 1, p.size) < p
    figures = reliability(p, y, threshold=0.5)
    assert figures["summary"]["ece"] < 0.02
    assert len(figures["bins"]) == 10


def test_prior_shift_recovers_a_new_class_balance() -> None:
    rng = np.random.default_rng(4)
    # Scores calibrated where 20 % are positive, applied where 60 % are.
    y = rng.uniform(size=20_000) < 0.6
    score = np.where(y, rng.normal(1, 1, y.size), rng.normal(-1, 1, y.size))
    odds = np.exp(2 * score) * (0.2 / 0.8)
    p_train = odds / (1 + odds)
    prior = estimate_prior(p_train, 0.2)
    assert abs(prior - 0.6) < 0.03
    assert np.all(np.diff(adjust_prior(np.array([0.1, 0.5, 0.9]), 0.2, prior)) > 0)


def test_folds_keep_class_balance() -> None:
    y = np.array([True] * 10 + [False] * 40)
    folds = stratified_folds(y, 5, seed=0)
    for k in range(5):
        assert y[folds == k].sum() == 2 and (folds == k).sum() == 10
