"""`liner build --ray` builds what the local build builds, on a Ray cluster this test starts.

The cluster is a local one (head on loopback, 2 CPUs), started once for the module and shut
down at its end. The world is a small demo world with audio clips, so text embedding, audio
analysis and audio facts all run as Ray tasks over partitions (text and audio rows written to
part files by the tasks, the facts in tasks of 32 tracks). Runs with
``make test-ray`` (``LINER_RAY_TESTS=1``): starting Ray costs 10-20 s.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

if os.environ.get("LINER_RAY_TESTS") != "1":
    pytest.skip("the Ray tests run with `make test-ray`", allow_module_level=True)
pytest.importorskip("ray", reason="Ray is an optional extra: pip install '.[ray]'")

from recsys.build import build_artifacts
from recsys.demo import DemoConfig, generate_demo, write_folder
from recsys.distributed import PartitionError, RayBackend
from recsys.index import FaissIndex
from recsys.ingest import run_ingest
from recsys.integrity.quarantine import screen_store
from recsys.parallel import parallel_map, use_backend
from recsys.pipeline import RecommendRequest, load_recommender
from recsys.settings import LinerSettings
from recsys.store import SqliteStore
from tests.recsys.pipeline.test_demo_world import HashTextModel

pytestmark = pytest.mark.timeout(600)  # a build both ways on a loaded 2-core machine


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory, ray_cluster: None) -> Iterator[RayBackend]:
    ray_backend = RayBackend(None, num_cpus=2, partition_size=32)
    ray_backend.checkpoint_dir = tmp_path_factory.mktemp("checkpoints")
    with ray_backend:
        yield ray_backend


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SqliteStore, LinerSettings]:
    root = tmp_path_factory.mktemp("world")
    write_folder(generate_demo(DemoConfig(tracks=120, listeners=40, seed=5)), root / "data")
    store = SqliteStore(root / "liner.db")
    run_ingest(root / "data", store)
    screen_store(store)
    return root, store, LinerSettings(db=str(root / "liner.db"), artifacts=root / "local")


def _arrays(path: Path) -> dict[str, np.ndarray]:
    if path.suffix == ".npy":
        return {"": np.load(path, allow_pickle=False)}
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def test_ray_build_equals_the_local_build(
    world: tuple[Path, SqliteStore, LinerSettings], backend: RayBackend
) -> None:
    root, store, settings = world
    local = build_artifacts(store, root / "local", settings, text_model=HashTextModel())
    backend.report.clear()
    remote = build_artifacts(
        store, root / "ray", settings, text_model=HashTextModel(), backend=backend
    )
    maps = {r["map"]: r for r in backend.report}
    # Text and audio: one task per partition (cut by content, about 256 texts or 32 clips),
    # each writing its rows to a part file in the build cache; only names come back.
    assert maps["text"]["partitions"] == maps["text"]["items"] >= 1
    assert maps["audio"]["partitions"] == maps["audio"]["items"] >= 2
    # The neighbour table: one task per batch of catalog rows (one batch at 120 tracks),
    # compared file by file with the local table below.
    assert maps["neighbours"]["items"] == 1
    for name in ("text", "audio"):
        parts = list((root / "ray.cache").glob(f"{name}-*.parts/part-*.npy"))
        assert len(parts) == maps[name]["items"], name
    assert not any(r["failed"] for r in backend.report)
    assert set(local.files) == set(remote.files) and set(local.steps) == set(remote.steps)
    assert local.consent == remote.consent and local.data_snapshot == remote.data_snapshot
    # Catalog rows are identical; embeddings within float tolerance.
    for rel in sorted(local.files):
        if not rel.endswith((".npy", ".npz")) or rel.startswith(("models/reranker", "indexes/")):
            continue
        a, b = _arrays(root / "local" / rel), _arrays(root / "ray" / rel)
        assert a.keys() == b.keys(), rel
        for key in a:
            if a[key].dtype.kind in "fc":
                np.testing.assert_allclose(a[key], b[key], atol=1e-5, err_msg=rel)
            else:
                np.testing.assert_array_equal(a[key], b[key], err_msg=rel)
    # The indexes hold the same ids in the same order and the same vectors.
    for name in ("fused", "text"):
        ia = FaissIndex.load(root / "local" / f"indexes/{name}.npz")
        ib = FaissIndex.load(root / "ray" / f"indexes/{name}.npz")
        np.testing.assert_array_equal(ia.ids, ib.ids)
        np.testing.assert_allclose(ia._exact_vectors(), ib._exact_vectors(), atol=1e-5)
    # The same slates for a sample of listeners.
    recs = [load_recommender(root / d, store, settings, log_slates=False) for d in ("local", "ray")]
    listeners = sorted(u.listener_id for u in store.iter_listeners())[::5]
    for listener in listeners:
        slates = [
            [i.track.track_id for i in r.recommend(RecommendRequest(listener_id=listener)).items]
            for r in recs
        ]
        assert slates[0] and slates[0] == slates[1], listener


def _flaky(marker: str, x: int) -> int:
    """Fails on item 7 while ``marker`` exists."""
    if x == 7 and Path(marker).exists():
        raise RuntimeError("disk on fire")
    return x * 10


def _once(marker: str, x: int) -> int:
    """Fails the first time item 3 is seen (the marker records that it was)."""
    if x == 3 and not Path(marker).exists():
        Path(marker).touch()
        raise RuntimeError("transient")
    return x + 1


def test_failed_partitions_are_retried_reported_and_resumed(
    backend: RayBackend, tmp_path: Path
) -> None:
    backend.report.clear()
    with use_backend(backend):
        out = parallel_map(partial(_once, str(tmp_path / "seen")), list(range(10)), partition=4)
        assert out == [x + 1 for x in range(10)]
        assert backend.report[-1]["retried"] == 1
        marker = tmp_path / "broken"
        marker.touch()
        flaky: Any = partial(_flaky, str(marker))
        with pytest.raises(PartitionError) as failure:
            parallel_map(flaky, list(range(12)), partition=4)
        message = str(failure.value)
        assert "partition 1 (items 4-7)" in message and "disk on fire" in message
        assert backend.report[-1]["retried"] == backend.retries
        marker.unlink()  # fixed: the rerun resumes from the two partitions that had finished
        assert parallel_map(flaky, list(range(12)), partition=4) == [x * 10 for x in range(12)]
        assert backend.report[-1]["reused"] == 2


def test_partition_rows_written_on_workers_merge_to_the_local_rows(
    backend: RayBackend, tmp_path: Path
) -> None:
    from recsys.parallel import map_rows_to_npy
    from tests.recsys.parallel.test_row_files import rows_of

    backend.report.clear()
    with use_backend(backend):
        shape = map_rows_to_npy(rows_of, list(range(200)), tmp_path / "rows.npy", partition=50)
    assert shape == (200, 3) and backend.report[-1]["partitions"] == 4
    np.testing.assert_array_equal(np.load(tmp_path / "rows.npy"), rows_of(list(range(200))))
