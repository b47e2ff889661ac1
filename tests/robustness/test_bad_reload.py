"""Reloading to a bad artifact directory is refused with FAILED_PRECONDITION naming the
problem, while the old artifacts keep serving: not one Recommend call fails meanwhile."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import grpc
import numpy as np
import pytest

from recsys.artifacts import read_manifest, sha256_file, write_manifest
from recsys.service import LinerClient
from tests.robustness.conftest import ADMIN, Service


def _rehash(root: Path, rel: str) -> None:
    manifest = read_manifest(root)
    manifest.files[rel] = sha256_file(root / rel)
    write_manifest(root, manifest)


def _other_dimension(root: Path) -> None:
    fused = np.load(root / "vectors/fused.npy")
    np.save(root / "vectors/fused.npy", fused[:, : fused.shape[1] // 2].copy())
    _rehash(root, "vectors/fused.npy")


def _truncated(root: Path) -> None:
    raw = (root / "vectors/text.npy").read_bytes()
    (root / "vectors/text.npy").write_bytes(raw[: len(raw) // 3])
    _rehash(root, "vectors/text.npy")


def _fewer_rows(root: Path) -> None:
    ids = np.load(root / "track_ids.npy")
    np.save(root / "track_ids.npy", ids[:-5])
    _rehash(root, "track_ids.npy")


def _tampered(root: Path) -> None:
    path = root / "vectors/fused.npy"
    raw = bytearray(path.read_bytes())
    for i in range(1, 9):  # flip the last bytes, whatever they were
        raw[-i] ^= 0xFF
    path.write_bytes(bytes(raw))


def _missing(root: Path) -> None:
    (root / "indexes/text.npz").unlink()


def _unlisted(root: Path) -> None:
    (root / "vectors/extra.npy").write_bytes(b"not listed")


def _bad_manifest(root: Path) -> None:
    (root / "manifest.json").write_text("{not json")


BREAKERS: dict[str, Callable[[Path], None]] = {
    "other-dimension": _other_dimension,
    "truncated-array": _truncated,
    "fewer-rows": _fewer_rows,
    "tampered-bytes": _tampered,
    "missing-file": _missing,
    "unlisted-file": _unlisted,
    "bad-manifest": _bad_manifest,
}


def test_bad_reloads_are_refused_while_serving_without_a_failed_call(
    service: Service, tmp_path: Path
) -> None:
    failures: list[str] = []
    served = [0]
    stop = threading.Event()

    def load() -> None:
        with LinerClient(service.target, timeout=30, retries=0) as client:
            i = 0
            while not stop.is_set():
                try:
                    client.recommend(f"u_{1 + i % 80:05d}", k=10)
                    served[0] += 1
                except grpc.RpcError as exc:
                    failures.append(f"{exc.code()}: {exc.details()}")  # type: ignore[attr-defined]
                i += 1

    worker = threading.Thread(target=load)
    worker.start()
    refused: dict[str, str] = {}
    try:
        with LinerClient(service.target, token=ADMIN, timeout=120, retries=0) as admin:
            for name, breaker in BREAKERS.items():
                bad = tmp_path / name
                shutil.copytree(service.artifacts, bad)
                breaker(bad)
                try:
                    admin.reload_artifacts(str(bad))
                except grpc.RpcError as exc:
                    code = exc.code()  # type: ignore[attr-defined]
                    assert code is grpc.StatusCode.FAILED_PRECONDITION, (name, code)
                    refused[name] = exc.details()  # type: ignore[attr-defined]
                else:
                    raise AssertionError(f"the {name} artifact directory was accepted")
            with pytest.raises(grpc.RpcError) as info:
                admin.reload_artifacts(str(tmp_path / "does-not-exist"))
            assert info.value.code() is grpc.StatusCode.FAILED_PRECONDITION  # type: ignore[attr-defined]
            good = admin.reload_artifacts(str(service.artifacts))
    finally:
        stop.set()
        worker.join(60)
    for name, details in refused.items():
        print(f"\nreload {name}: refused: {details[:160]}")
    print(f"\nserved {served[0]} slates during {len(BREAKERS) + 2} reloads; failed {len(failures)}")
    assert not failures, failures[:5]
    assert good.artifact_dir
    assert "dimension" in refused["other-dimension"]
    assert "fused.npy" in refused["other-dimension"]
    assert "text.npy" in refused["truncated-array"]
    assert "audio.npy" in refused["tampered-bytes"] or "fused.npy" in refused["tampered-bytes"]
