"""Content projection and fusion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.embeddings.fusion import PcaReducer, fuse, normalise_rows
from recsys.embeddings.projection import (
    ContentProjection,
    KnnProjection,
    load_projection,
    select_projection,
)
from recsys.errors import ConfigError


def test_projection_recovers_a_linear_map_and_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6))
    w = rng.normal(size=(6, 3))
    y = x @ w + 0.5
    proj = ContentProjection.fit(x, y, alpha=1e-3)
    np.testing.assert_allclose(proj.predict(x[:5]), y[:5], atol=1e-2)
    proj.save(tmp_path / "p.npz")
    again = ContentProjection.load(tmp_path / "p.npz")
    np.testing.assert_allclose(again.predict(x[:5]), proj.predict(x[:5]))


def test_projection_needs_training_rows() -> None:
    with pytest.raises(ConfigError, match="ai_training"):
        ContentProjection.fit(np.zeros((1, 3)), np.zeros((1, 2)))


def test_fused_inner_product_is_weighted_mean_of_cosines() -> None:
    rng = np.random.default_rng(1)
    a = {m: normalise_rows(rng.normal(size=(2, d))) for m, d in (("text", 5), ("audio", 3))}
    weights = {"text": 0.7, "audio": 0.3}
    fused = fuse(a, weights)
    expected = 0.7 * a["text"][0] @ a["text"][1] + 0.3 * a["audio"][0] @ a["audio"][1]
    assert fused[0] @ fused[1] == pytest.approx(expected, rel=1e-5)


def test_missing_modality_rows_stay_zero_in_pca() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(50, 10))
    pca = PcaReducer.fit(x, 4, standardise=True)
    out = pca.transform(np.vstack([x[:2], np.zeros((1, 10))]))
    assert out.shape == (3, 4) and not out[2].any() and out[0].any()


def test_knn_projection_is_the_similarity_weighted_mean_and_round_trips(tmp_path: Path) -> None:
    x = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-1.0, 0.0]])
    y = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [5.0, 5.0, 5.0]])
    proj = KnnProjection.fit(x, y, neighbours=2)
    sims = np.array([1.0, 0.8])  # query (1, 0): rows 0 and 1
    expected = (sims[0] * y[0] + sims[1] * y[1]) / sims.sum()
    np.testing.assert_allclose(proj.predict(np.array([[2.0, 0.0]]))[0], expected, atol=1e-6)
    proj.save(tmp_path / "k.npz")
    again = load_projection(tmp_path / "k.npz")
    assert isinstance(again, KnnProjection)
    np.testing.assert_allclose(again.predict(x), proj.predict(x))
    ContentProjection.fit(x, y).save(tmp_path / "r.npz")
    assert isinstance(load_projection(tmp_path / "r.npz"), ContentProjection)
    with pytest.raises(ConfigError, match="ai_training"):
        KnnProjection.fit(x[:1], y[:1])


def test_select_projection_picks_the_mapping_that_fits_the_catalog() -> None:
    rng = np.random.default_rng(3)
    # linear world: targets are a linear map of content -> ridge
    x = rng.normal(size=(400, 8))
    linear, scores = select_projection(x, x @ rng.normal(size=(8, 6)), holdout=80)
    assert isinstance(linear, ContentProjection) and scores
    # clustered world: each content cluster has its own unrelated target -> kNN
    centres, targets = rng.normal(size=(60, 3)), rng.normal(size=(60, 6))
    label = rng.integers(0, 60, size=600)
    xc = centres[label] + 0.05 * rng.normal(size=(600, 3))
    yc = targets[label] + 0.05 * rng.normal(size=(600, 6))
    local, scores = select_projection(xc, yc, holdout=100)
    assert isinstance(local, KnnProjection)
    assert max(v for k, v in scores.items() if k.startswith("knn")) > max(
        v for k, v in scores.items() if k.startswith("ridge")
    )
