"""The build's ALS served as a source: listener vectors folded in from the current history."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recsys.embeddings.config import AlsConfig
from recsys.pipeline.als_source import AlsScorer, collaborative_scorers


class _Ctx:
    def __init__(self, rows: list[int]) -> None:
        self.history_rows = np.asarray(rows, dtype=np.int64)


def _factors() -> np.ndarray:
    rng = np.random.default_rng(0)
    centres = np.asarray([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    y = np.vstack([centres[i // 6] + 0.1 * rng.normal(size=3) for i in range(12)])
    y[11] = 0.0  # a track nobody played: no factors
    return y.astype(np.float32)


def test_fold_in_solves_the_implicit_normal_equations() -> None:
    y = _factors().astype(np.float64)
    scorer = AlsScorer(_factors(), regularization=0.1, alpha=4.0)
    rows = np.asarray([0, 2, 3])
    c = 1.0 + 4.0 * np.log(2.0)
    conf = np.ones(12)
    conf[rows] = c
    pref = np.zeros(12)
    pref[rows] = 1.0
    expected = np.linalg.solve(y.T @ (conf[:, None] * y) + 0.1 * np.eye(3), y.T @ (conf * pref))
    np.testing.assert_allclose(scorer.user_vector(rows), expected, rtol=1e-8)


def test_scores_follow_the_history_and_skip_unplayed_tracks() -> None:
    scorer = AlsScorer(_factors())
    scores = scorer.score_all(_Ctx([6, 7]))  # type: ignore[arg-type]
    assert scores[6:11].min() > scores[:6].max()
    assert scores[11] == 0.0
    assert not scorer.score_all(_Ctx([])).any()  # type: ignore[arg-type]
    assert not scorer.score_all(_Ctx([11])).any()  # type: ignore[arg-type]


def test_collaborative_scorers_load_in_training_order(tmp_path: Path) -> None:
    assert collaborative_scorers(tmp_path, 12, AlsConfig()) == []
    (tmp_path / "vectors").mkdir()
    np.save(tmp_path / "vectors" / "collab_als.npy", _factors())
    assert [s.name for s in collaborative_scorers(tmp_path, 12, AlsConfig())] == ["als"]
    assert collaborative_scorers(tmp_path, 13, AlsConfig()) == []  # another catalog
