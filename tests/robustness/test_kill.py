"""kill -9 of a writing server and of `liner ingest`: every acknowledged event is in the
store afterwards, an ingest batch is all there or not at all, and the next command finishes
what was interrupted."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pandas as pd

from recsys.api.v1 import feedback_pb2
from recsys.service import LinerClient
from tests.robustness.conftest import FEEDBACK, ROOT, World, copy_store, liner, start_service


def test_sigkill_of_a_writing_server_loses_no_acknowledged_event(
    world: World, tmp_path: Path
) -> None:
    db = copy_store(world.db, tmp_path / "liner.db")
    service = start_service(db, world.artifacts)
    acknowledged: list[str] = []
    tracks = pd.read_csv(world.data / "items.csv")["item_id"].astype(str).tolist()[:50]
    killer = threading.Timer(random.Random(3).uniform(1.0, 3.0), service.process.kill)
    killer.start()
    failed_after = 0
    try:
        with LinerClient(service.target, token=FEEDBACK, timeout=5, retries=0) as client:
            for batch in range(100_000):
                ids = [f"k{batch}-{i}" for i in range(10)]
                events = [
                    feedback_pb2.Event(
                        event_id=e,
                        listener_id=f"u_{1 + batch % 80:05d}",
                        track_id=tracks[(batch + i) % len(tracks)],
                        type=feedback_pb2.EVENT_TYPE_PLAY,
                        ms_played=100_000,
                    )
                    for i, e in enumerate(ids)
                ]
                try:
                    client.log_events(events)
                except grpc.RpcError:
                    failed_after += 1
                    if failed_after > 3:
                        break
                    continue
                acknowledged.extend(ids)
    finally:
        killer.cancel()
        service.process.wait(30)
        service.stop()
    assert service.process.returncode == -signal.SIGKILL
    with sqlite3.connect(db) as conn:
        stored = {
            r[0] for r in conn.execute("SELECT event_id FROM events WHERE event_id LIKE 'k%'")
        }
    missing = [e for e in acknowledged if e not in stored]
    print(f"\nkill -9 server: {len(acknowledged)} events acknowledged, {len(missing)} missing")
    assert acknowledged, "the server was killed before any call returned"
    assert not missing, missing[:5]


def test_sigkill_of_ingest_leaves_the_batch_whole_or_absent_and_the_next_run_finishes(
    world: World, tmp_path: Path
) -> None:
    db = copy_store(world.db, tmp_path / "liner.db")
    more = tmp_path / "more"
    liner("demo-data", "--out", str(more), "--tracks", "300", "--listeners", "40", "--seed",
          "12", "--no-audio")  # fmt: skip
    items = pd.read_csv(more / "items.csv")
    # Other ids than the world's, so the batch is visibly new.
    for name in ("items.csv", "interactions.csv", "credits.csv"):
        path = more / name
        if path.exists():
            frame = pd.read_csv(path, dtype=str)
            for column in ("item_id", "track_id"):
                if column in frame:
                    frame[column] = "new-" + frame[column]
            frame.to_csv(path, index=False)
    new_ids = {f"new-{i}" for i in items["item_id"].astype(str)}
    outcomes = []
    for attempt, delay in enumerate((1.0, 3.0, 6.0, 12.0, 24.0)):
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("liner")), "ingest", str(more), "--db", str(db)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
            env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
        )  # fmt: skip
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        with sqlite3.connect(db) as conn:
            present = {r[0] for r in conn.execute("SELECT track_id FROM tracks")} & new_ids
        assert present in (set(), new_ids), f"attempt {attempt}: {len(present)} of {len(new_ids)}"
        outcomes.append("whole" if present else "absent")
        if present:
            break
    out = liner("ingest", str(more), "--db", str(db))
    with sqlite3.connect(db) as conn:
        present = {r[0] for r in conn.execute("SELECT track_id FROM tracks")} & new_ids
    from recsys.store import SqliteStore

    store = SqliteStore(db)
    try:
        unscreened = store.unscreened_ids()
    finally:
        store.close()
    print(f"\nkill -9 ingest: after each kill the batch was {outcomes}; then all "
          f"{len(present)} tracks, {len(unscreened)} unscreened")  # fmt: skip
    assert present == new_ids, out
    assert not unscreened, "the next ingest did not finish the screening"
