"""A server process killed with SIGKILL while events stream in loses no acknowledged event:
every ``LogEvents`` call that returned OK to the app backend is in the store afterwards, with
its sender and receipt time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import grpc
import pytest

from recsys.api.v1 import feedback_pb2
from recsys.service import LinerClient
from recsys.store import IngestBatch, SqliteStore
from tests.recsys.service.fakes import ARTISTS, TRACKS

TOKEN = "feedback-crash-test"

# A real server over a real SQLite store; prints its port, then serves until killed.
CHILD = textwrap.dedent(
    """
    import sys, threading
    from pathlib import Path
    from recsys.service import LinerServer, ServiceDeps, ServiceMetrics, ServingState
    from recsys.settings import LinerSettings
    from recsys.store import SqliteStore
    from tests.recsys.service.fakes import FakeRecommender

    db, token = sys.argv[1:]
    settings = LinerSettings(host="127.0.0.1", port=0, metrics_port=None,
                             feedback_tokens=[token])
    state = ServingState(factory=lambda d: FakeRecommender(), verify=lambda d: "v")
    state.load(Path())
    server = LinerServer(settings, ServiceDeps(state=state, store=SqliteStore(db),
                                               metrics=ServiceMetrics()))
    print(server.start(), flush=True)
    server.set_serving()
    threading.Event().wait()
    """
)


@pytest.mark.slow
def test_sigkill_while_logging_events_loses_no_acknowledged_event(tmp_path: Path) -> None:
    db = tmp_path / "liner.db"
    seed = SqliteStore(db)
    seed.ingest(IngestBatch(artists=ARTISTS, tracks=TRACKS))
    seed.close()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), TOKEN],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
        cwd=Path(__file__).resolve().parents[3],
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        acknowledged: list[str] = []
        enough = threading.Event()

        def kill_mid_stream() -> None:  # lands at any point of a call, not between calls
            enough.wait(60)
            child.send_signal(signal.SIGKILL)

        killer = threading.Thread(target=kill_mid_stream)
        killer.start()
        failed = False
        with LinerClient(f"127.0.0.1:{port}", token=TOKEN, timeout=5.0, retries=0) as client:
            for batch in range(100_000):
                ids = [f"b{batch}e{i}" for i in range(5)]
                events = [
                    feedback_pb2.Event(
                        event_id=e,
                        listener_id=f"u{batch % 7}",
                        track_id="t0",
                        type=feedback_pb2.EVENT_TYPE_PLAY,
                    )
                    for e in ids
                ]
                try:
                    client.log_events(events)
                except grpc.RpcError:
                    failed = True
                    break
                acknowledged.extend(ids)
                if len(acknowledged) >= 200:
                    enough.set()
        enough.set()
        killer.join()
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    assert failed and len(acknowledged) >= 200
    store = SqliteStore(db)
    assert store.integrity_check() == "ok"
    frame = store.read_frame("events")
    stored = set(frame["event_id"])
    assert set(acknowledged) <= stored
    assert frame["sender"].str.startswith("feedback:").all()
    assert frame["received_at"].notna().all()
    store.close()
