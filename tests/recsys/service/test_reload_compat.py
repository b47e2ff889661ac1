"""Reload refuses artifact sets that check out against their manifest but cannot serve:
another dimension in one file, a truncated array, a recommender that fails a trial slate.
The previous set keeps serving in every case."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest

from recsys.artifacts import read_manifest, sha256_file, write_manifest
from recsys.build import build_artifacts, default_steps
from recsys.demo import DemoConfig, generate_demo, write_folder
from recsys.errors import ArtifactError
from recsys.ingest import run_ingest
from recsys.pipeline import RecommendRequest, load_recommender
from recsys.service import ServingState
from recsys.service.state import trial_recommend
from recsys.settings import LinerSettings
from recsys.store import SqliteStore
from tests.recsys.pipeline.test_demo_world import HashTextModel


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SqliteStore, LinerSettings]:
    faiss.omp_set_num_threads(1)
    root = tmp_path_factory.mktemp("reload")
    world = generate_demo(DemoConfig(tracks=120, listeners=30, seed=5, audio=False))
    write_folder(world, root / "data")
    store = SqliteStore(root / "liner.db")
    run_ingest(root / "data", store)
    settings = LinerSettings(db=str(root / "liner.db"), artifacts=root / "artifacts")
    build_artifacts(
        store, root / "artifacts", settings, steps=default_steps(), text_model=HashTextModel()
    )
    return root / "artifacts", store, settings


def _load(directory: Path, store: SqliteStore, settings: LinerSettings) -> Any:
    rec = load_recommender(directory, store, settings, log_slates=False)
    rec.spaces._model = HashTextModel()  # queries embedded by the model the build used
    return rec


def _state(store: SqliteStore, settings: LinerSettings) -> ServingState:
    return ServingState(factory=lambda d: _load(d, store, settings), trial=trial_recommend)


def _rehash(root: Path, rel: str) -> None:
    """Rewrite the manifest entry of ``rel`` so the tampered file checks out."""
    manifest = read_manifest(root)
    manifest.files[rel] = sha256_file(root / rel)
    write_manifest(root, manifest)


def _serves(state: ServingState) -> bool:
    out = state.current().recommender.recommend(RecommendRequest(listener_id="x", k=3))
    return out is not None  # (items depend on what screening has cleared)


def test_another_dimension_with_a_matching_manifest_is_refused(
    built: tuple[Path, SqliteStore, LinerSettings], tmp_path: Path
) -> None:
    artifacts, store, settings = built
    state = _state(store, settings)
    state.load(artifacts)
    bad = tmp_path / "bad"
    shutil.copytree(artifacts, bad)
    fused = np.load(bad / "vectors/fused.npy")
    np.save(bad / "vectors/fused.npy", np.hstack([fused, fused]))
    _rehash(bad, "vectors/fused.npy")
    with pytest.raises(ArtifactError, match=r"fused\.npy") as info:
        state.load(bad)
    assert "dimension" in str(info.value)
    assert state.current().artifact_dir == artifacts and _serves(state)


def test_a_truncated_array_with_a_matching_manifest_is_refused(
    built: tuple[Path, SqliteStore, LinerSettings], tmp_path: Path
) -> None:
    artifacts, store, settings = built
    state = _state(store, settings)
    state.load(artifacts)
    bad = tmp_path / "bad"
    shutil.copytree(artifacts, bad)
    raw = (bad / "vectors/text.npy").read_bytes()
    (bad / "vectors/text.npy").write_bytes(raw[: len(raw) // 2])
    _rehash(bad, "vectors/text.npy")
    with pytest.raises(ArtifactError, match=r"text\.npy"):
        state.load(bad)
    assert state.current().artifact_dir == artifacts and _serves(state)


def test_a_recommender_that_fails_its_trial_slate_is_never_swapped_in(
    built: tuple[Path, SqliteStore, LinerSettings],
) -> None:
    artifacts, store, settings = built
    calls: list[str] = []

    def broken(directory: Path) -> Any:
        rec = _load(directory, store, settings)
        if calls:  # the second load gets a recommender that cannot serve

            def fail(request: RecommendRequest) -> Any:
                raise RuntimeError("query dim 112 does not match index dim 224")

            rec.recommend = fail  # type: ignore[method-assign]
        calls.append(str(directory))
        return rec

    state = ServingState(factory=broken, trial=trial_recommend)
    first = state.load(artifacts)
    with pytest.raises(ArtifactError, match="trial recommendation"):
        state.load(artifacts)
    assert state.current() is first and _serves(state)
