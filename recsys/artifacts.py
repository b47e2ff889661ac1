"""The artifact directory's manifest: what was built, from which data and consent, and the
sha256 of every file, so the server loads only a directory that checks out.

Layout written by `liner build` (other steps add their own files; every file is listed)::

    manifest.json                 this manifest (written last)
    track_ids.npy                 row -> track id, shared by every space
    vectors/{text,audio,collab,fused}.npy
    listeners/ids.npy, listeners/fused.npy
    indexes/{fused,text}.npz      FaissIndex files
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from recsys.errors import ArtifactError

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_text(*parts: str) -> str:
    """Hex sha256 of strings joined by newlines (for id lists and snapshot ids)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\n")
    return digest.hexdigest()


class ConsentSnapshot(BaseModel):
    """The consent a build used to decide which tracks may fit models."""

    consent_version: int
    """Ledger entries the state was derived from."""
    granted_sha256: str
    """sha256 of the sorted granted (rights holder, scope) pairs."""
    training_tracks: int = 0
    """Tracks whose audio/text were used to fit models (all rights holders grant ai_training)."""
    training_tracks_sha256: str = ""
    """sha256 of the sorted ids of those tracks."""


class StepRecord(BaseModel):
    """One build step's outcome, used to skip it when its inputs are unchanged."""

    input_hash: str
    files: list[str]
    finished_at: datetime
    info: dict[str, Any] = Field(default_factory=dict)


class Manifest(BaseModel):
    """``manifest.json`` of an artifact directory."""

    format_version: int = FORMAT_VERSION
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    files: dict[str, str] = Field(default_factory=dict)
    """Relative path (POSIX) -> sha256, for every file except the manifest."""
    data_snapshot: str = ""
    """Id of the store contents the build read (hash of table counts and latest event time)."""
    consent: ConsentSnapshot | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    """The settings used (secrets removed)."""
    steps: dict[str, StepRecord] = Field(default_factory=dict)

    def sha256_of(self, relpath: str) -> str:
        """The recorded sha256 of a file, or ArtifactError when it is not listed."""
        try:
            return self.files[relpath]
        except KeyError:
            raise ArtifactError(f"artifact file {relpath} is not in the manifest") from None


def list_files(root: Path) -> list[str]:
    """Relative POSIX paths of every regular file under ``root`` except the manifest."""
    root = Path(root)
    out = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != MANIFEST_NAME:
            out.append(path.relative_to(root).as_posix())
    return out


def hash_files(root: Path) -> dict[str, str]:
    """``relpath -> sha256`` for every file under ``root`` except the manifest."""
    return {rel: sha256_file(Path(root) / rel) for rel in list_files(root)}


def write_manifest(root: Path, manifest: Manifest) -> Path:
    """Write ``manifest.json`` atomically (temp file, fsync, rename)."""
    path = Path(root) / MANIFEST_NAME
    tmp = path.with_name(MANIFEST_NAME + ".tmp")
    with tmp.open("w") as f:
        f.write(manifest.model_dump_json(indent=2))
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    return path


def read_manifest(root: Path) -> Manifest:
    """Parse ``manifest.json`` without checking files.

    Raises:
        ArtifactError: when it is missing, unreadable or of an unknown format.
    """
    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        raise ArtifactError(f"{root} has no {MANIFEST_NAME}; run `liner build --out {root}`")
    try:
        manifest = Manifest.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path} is not a valid manifest: {exc}") from exc
    if manifest.format_version != FORMAT_VERSION:
        raise ArtifactError(
            f"{path} has format {manifest.format_version}, this version reads {FORMAT_VERSION};"
            " rebuild with `liner build`"
        )
    return manifest


def verify_manifest(root: Path, *, hashed_on_load: Callable[[str], bool] | None = None) -> Manifest:
    """Check every file against the manifest.

    Args:
        root: the artifact directory.
        hashed_on_load: files (relative paths) whose sha256 the caller checks on the bytes it
            loads; they are checked here for presence only, not read twice.

    Raises:
        ArtifactError: on a missing, changed or unlisted file, or a bad manifest.
    """
    manifest = read_manifest(root)
    present = set(list_files(root))
    missing = sorted(set(manifest.files) - present)
    extra = sorted(present - set(manifest.files))
    if missing:
        raise ArtifactError(f"{root}: files listed in the manifest are missing: {missing[:5]}")
    if extra:
        raise ArtifactError(f"{root}: files not in the manifest: {extra[:5]}")
    for rel, expected in manifest.files.items():
        if hashed_on_load is not None and hashed_on_load(rel):
            continue
        if sha256_file(Path(root) / rel) != expected:
            raise ArtifactError(
                f"{rel} (in {root}) fails its sha256 check; rebuild with `liner build`"
            )
    return manifest


__all__ = [
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "ConsentSnapshot",
    "Manifest",
    "StepRecord",
    "hash_files",
    "list_files",
    "read_manifest",
    "sha256_file",
    "sha256_text",
    "verify_manifest",
    "write_manifest",
]
