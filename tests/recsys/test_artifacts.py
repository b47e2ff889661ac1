"""The artifact manifest: hashes every file, and verification fails on any mismatch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recsys.artifacts import (
    MANIFEST_NAME,
    ConsentSnapshot,
    Manifest,
    hash_files,
    read_manifest,
    verify_manifest,
    write_manifest,
)
from recsys.errors import ArtifactError


@pytest.fixture
def artifact_dir(tmp_path: Path) -> Path:
    root = tmp_path / "art"
    (root / "vectors").mkdir(parents=True)
    np.save(root / "vectors" / "fused.npy", np.eye(3, dtype=np.float32))
    (root / "notes.json").write_text("{}")
    manifest = Manifest(
        files=hash_files(root),
        data_snapshot="d",
        consent=ConsentSnapshot(consent_version=3, granted_sha256="g"),
        settings={"text_model": "m"},
    )
    write_manifest(root, manifest)
    return root


def test_round_trip_lists_every_file(artifact_dir: Path) -> None:
    manifest = verify_manifest(artifact_dir)
    assert sorted(manifest.files) == ["notes.json", "vectors/fused.npy"]
    assert manifest.consent is not None and manifest.consent.consent_version == 3
    assert not (artifact_dir / (MANIFEST_NAME + ".tmp")).exists()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda r: (r / "notes.json").write_text('{"x": 1}'), id="changed"),
        pytest.param(lambda r: (r / "notes.json").unlink(), id="missing"),
        pytest.param(lambda r: (r / "extra.bin").write_bytes(b"x"), id="unlisted"),
        pytest.param(lambda r: (r / MANIFEST_NAME).unlink(), id="no-manifest"),
        pytest.param(lambda r: (r / MANIFEST_NAME).write_text("{not json"), id="corrupt-manifest"),
    ],
)
def test_verify_fails_on_any_mismatch(artifact_dir: Path, damage) -> None:  # type: ignore[no-untyped-def]
    damage(artifact_dir)
    with pytest.raises(ArtifactError):
        verify_manifest(artifact_dir)


def test_unknown_format_version_is_refused(artifact_dir: Path) -> None:
    path = artifact_dir / MANIFEST_NAME
    data = json.loads(path.read_text())
    data["format_version"] = 999
    path.write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match="format"):
        read_manifest(artifact_dir)
