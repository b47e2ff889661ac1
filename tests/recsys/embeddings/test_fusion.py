"""The served fused space: ALS dot products kept for listeners, unit-norm tracks."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.embeddings.fusion import collab_scale, fuse_listeners, fuse_tracks, normalise_rows


def _catalog(seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    content = {"text": rng.normal(size=(40, 6)), "audio": rng.normal(size=(40, 3))}
    content["audio"][:5] = 0.0  # tracks without audio
    collab = rng.normal(size=(40, 4)) * rng.uniform(0.05, 2.0, size=(40, 1))
    collab[-3:] = 0.0  # tracks without any collaborative vector
    return content, collab


def test_track_vectors_are_unit_norm_and_finite() -> None:
    content, collab = _catalog()
    tracks = fuse_tracks(content, collab, {"text": 0.2, "audio": 0.1, "collab": 0.7}, scale=1.0)
    assert np.isfinite(tracks).all()
    np.testing.assert_allclose(np.linalg.norm(tracks, axis=1), 1.0, atol=1e-5)


def test_listener_score_is_weighted_cosines_plus_als_dot_product() -> None:
    content, collab = _catalog(1)
    rng = np.random.default_rng(2)
    weights = {"text": 0.4, "audio": 0.2, "collab": 1.4}  # divided by their sum (2.0)
    scale = collab_scale(collab)
    tracks = fuse_tracks(content, collab, weights, scale=scale)
    profiles = {"text": rng.normal(size=(3, 6)), "audio": rng.normal(size=(3, 3))}
    factors = rng.normal(size=(3, 4))
    listeners = fuse_listeners(profiles, factors, weights)
    np.testing.assert_allclose(np.linalg.norm(listeners, axis=1), 1.0, atol=1e-5)
    cos = {m: normalise_rows(profiles[m]) @ normalise_rows(content[m]).T for m in profiles}
    dot = normalise_rows(factors) @ collab.T / scale
    expected = 0.2 * cos["text"] + 0.1 * cos["audio"] + 0.7 * dot
    np.testing.assert_allclose(listeners @ tracks.T, expected, atol=1e-5)


def test_collab_only_ranking_matches_als_dot_product_not_cosine() -> None:
    content, collab = _catalog(3)
    factors = np.random.default_rng(4).normal(size=(5, 4))
    w = {"text": 0.0, "audio": 0.0, "collab": 1.0}  # content blocks present, weighing nothing
    listeners = fuse_listeners({k: v[:5] for k, v in content.items()}, factors, w)
    scores = listeners @ fuse_tracks(content, collab, w, scale=collab_scale(collab)).T
    als = factors @ collab.T
    np.testing.assert_array_equal(np.argsort(-scores, axis=1)[:, :10], np.argsort(-als)[:, :10])


def test_track_to_track_is_a_positive_mix_of_modality_cosines() -> None:
    content, collab = _catalog(5)
    w = {"text": 0.3, "audio": 0.0, "collab": 0.7}
    scale = collab_scale(collab)
    tracks = fuse_tracks(content, collab, w, scale=scale)
    i, j = 10, 20
    v = collab / scale
    used = 0.3 + 0.7 * np.square(v).sum(axis=1)
    pad = np.sqrt(1 - used)
    cos_t = normalise_rows(content["text"])[i] @ normalise_rows(content["text"])[j]
    cos_c = normalise_rows(collab)[i] @ normalise_rows(collab)[j]
    mix = 0.7 * np.linalg.norm(v[i]) * np.linalg.norm(v[j]) + pad[i] * pad[j]
    assert tracks[i] @ tracks[j] == pytest.approx(0.3 * cos_t + mix * cos_c, abs=1e-5)


def test_fusion_needs_a_positive_weight() -> None:
    content, collab = _catalog()
    with pytest.raises(ValueError, match="positive weight"):
        fuse_tracks(content, collab, {"text": 0.0}, scale=1.0)
