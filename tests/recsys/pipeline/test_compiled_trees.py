"""Prediction parity of the compiled tree evaluator with LightGBM's own predict."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from recsys.pipeline.compiled_trees import CompiledTrees, UnsupportedModelError


@pytest.mark.parametrize("objective", ["lambdarank", "regression"])
def test_compiled_predictions_match_lightgbm(objective: str) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3000, 6)).astype(np.float32)
    x[rng.random(x.shape) < 0.05] = np.nan  # missing values take the default branch
    x[rng.random(x.shape) < 0.05] = 0.0
    y = (np.nan_to_num(x[:, 0]) + 0.5 * np.nan_to_num(x[:, 1]) > 0.8).astype(float)
    params = {"objective": objective, "num_threads": 1, "verbose": -1, "min_data_in_leaf": 5}
    data = lgb.Dataset(x, y, group=[30] * 100 if objective == "lambdarank" else None)
    booster = lgb.train(params, data, num_boost_round=60)
    test = rng.normal(size=(500, 6)).astype(np.float32)
    test[rng.random(test.shape) < 0.1] = np.nan
    test[rng.random(test.shape) < 0.1] = 0.0
    compiled = CompiledTrees.from_booster(booster)
    np.testing.assert_allclose(compiled.predict(test), booster.predict(test), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("n_rows", [1, 2, 3, 4, 5, 7, 501])
def test_fast_path_for_models_trained_without_missing_values(n_rows: int) -> None:
    """Trained on complete data, every split has missing type ``None``: the branch-free walk
    (four rows at a time, with a remainder) must still match LightGBM, NaN and inf included."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3000, 8)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] - 0.3 * x[:, 2] > 0.5).astype(float)
    params = {"objective": "lambdarank", "num_threads": 1, "verbose": -1, "min_data_in_leaf": 5}
    booster = lgb.train(params, lgb.Dataset(x, y, group=[30] * 100), num_boost_round=80)
    compiled = CompiledTrees.from_booster(booster)
    assert compiled.plain
    test = rng.normal(size=(n_rows, 8)).astype(np.float32)
    test[rng.random(test.shape) < 0.1] = np.nan
    test[rng.random(test.shape) < 0.05] = np.inf
    test[rng.random(test.shape) < 0.05] = -np.inf
    before = test.copy()
    np.testing.assert_allclose(compiled.predict(test), booster.predict(test), rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(test, before)  # the caller's features are not modified


def test_zero_as_missing_models_take_the_general_walk() -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2000, 4))
    x[rng.random(x.shape) < 0.2] = 0.0
    y = x[:, 0] - x[:, 1]
    params = {"objective": "regression", "verbose": -1, "num_threads": 1, "zero_as_missing": True}
    booster = lgb.train(params, lgb.Dataset(x, y), num_boost_round=30)
    compiled = CompiledTrees.from_booster(booster)
    assert not compiled.plain
    test = rng.normal(size=(300, 4))
    test[rng.random(test.shape) < 0.2] = 0.0
    np.testing.assert_allclose(compiled.predict(test), booster.predict(test), rtol=1e-9, atol=1e-9)


def test_categorical_models_are_refused() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, size=(500, 2)).astype(float)
    y = (x[:, 0] == 3).astype(float)
    booster = lgb.train(
        {"objective": "regression", "verbose": -1, "num_threads": 1, "min_data_in_leaf": 5},
        lgb.Dataset(x, y, categorical_feature=[0]),
        num_boost_round=5,
    )
    with pytest.raises(UnsupportedModelError):
        CompiledTrees.from_booster(booster)
