"""A process killed with SIGKILL during an ingest leaves the batch entirely there or absent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.store import SqliteStore

N_EVENTS = 200_000
N_TRACKS = 500

# Runs the real ingest. "inside" pauses inside the write transaction after every event row
# was handed to SQLite; "wal" never pauses (the parent kills it once the log grows).
CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from recsys.ingest import run_ingest
    from recsys.store import SqliteStore

    folder, db, marker, mode = sys.argv[1:]
    if mode == "inside":
        original = SqliteStore._insert_event_frame

        def paused(conn, frame):
            original(conn, frame)
            Path(marker).write_text("inside")
            time.sleep(600)

        SqliteStore._insert_event_frame = staticmethod(paused)
    store = SqliteStore(db)
    Path(marker + ".open").write_text("open")
    run_ingest(folder, store)
    Path(marker).write_text("committed")
    time.sleep(600)
    """
)


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("big")
    rng = np.random.default_rng(7)
    pd.DataFrame(
        {"item_id": [f"t{i}" for i in range(N_TRACKS)], "title": "x", "artist_ids": "a1"}
    ).to_csv(folder / "items.csv", index=False)
    pd.DataFrame(
        {
            "user_id": np.char.add("u", rng.integers(0, 5000, N_EVENTS).astype(str)),
            "item_id": np.char.add("t", rng.integers(0, N_TRACKS, N_EVENTS).astype(str)),
            "timestamp": 1_700_000_000 + np.arange(N_EVENTS),
        }
    ).to_csv(folder / "interactions.csv", index=False)
    return folder


def _wait(predicate: object, process: subprocess.Popen[bytes], limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():  # type: ignore[operator]
        if process.poll() is not None:
            raise AssertionError(f"child exited early: {process.stderr.read()!r}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("child did not reach the kill point in time")
        time.sleep(0.01)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["inside", "wal"])
def test_sigkill_leaves_batch_whole_or_absent(mode: str, big_folder: Path, tmp_path: Path) -> None:
    db, marker = tmp_path / "liner.db", tmp_path / "marker"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(big_folder), str(db), str(marker), mode],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    wal = Path(str(db) + "-wal")
    if mode == "wal":
        # Kill as soon as the write-ahead log grows past the schema's few pages.
        _wait(lambda: Path(str(marker) + ".open").exists(), child)
        start = wal.stat().st_size if wal.exists() else 0
        _wait(lambda: marker.exists() or (wal.exists() and wal.stat().st_size > start + 65536),
              child)  # fmt: skip
    else:
        _wait(marker.exists, child)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    child.stderr.close()  # type: ignore[union-attr]

    store = SqliteStore(db)
    summary = store.summary()
    assert store.integrity_check() == "ok"
    counts = (summary.tracks, summary.events, summary.listeners, summary.artists)
    full = (N_TRACKS, N_EVENTS, 5000, 1)
    assert counts in {(0, 0, 0, 0), full}, counts
    if mode == "inside":
        assert counts == (0, 0, 0, 0)
    store.close()
