"""The robustness checks on PostgreSQL: the same demo world ingested by `liner ingest` into a
PostgreSQL the suite starts itself (``recsys.store.postgres_local``: Debian's binaries, a
temporary folder, a Unix socket), served from the world's artifacts (a build reads the store
once; what replicas share at run time is the database); kill -9 of a writing `liner serve`;
kill -9 of `liner ingest`; and two `liner serve` replicas on one database, where a
revocation made through replica A holds on replica B's next slate.

Skipped, with the reason, only when the PostgreSQL binaries are absent.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pandas as pd
import pytest

from recsys.api.v1 import feedback_pb2, rights_pb2
from recsys.domain import IMITATION_SCOPES, AiInvolvement
from recsys.service import LinerClient
from recsys.store.postgres_local import LocalPostgres, find_binaries
from tests.robustness.conftest import FEEDBACK, ROOT, World, liner, start_service

RIGHTS = "robustness-rights-token"


# The first test also pays for the world and its ingest into PostgreSQL (minutes on a busy host).
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def pg(world: World) -> Iterator[tuple[LocalPostgres, str]]:
    """A server with database ``world``: the world's data ingested; the world's artifacts."""
    if find_binaries() is None:
        pytest.skip("PostgreSQL binaries not found (apt-get install postgresql)")
    import psycopg

    root = Path(tempfile.mkdtemp(prefix="liner-robust-pg-"))
    try:
        with LocalPostgres.start(root, stop_mode="immediate") as server:
            with psycopg.connect(server.url(), autocommit=True) as conn:
                conn.execute("CREATE DATABASE world")
            url = server.url("world")
            liner("ingest", str(world.data), "--db", url)
            yield server, str(world.artifacts)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def copy_of_world(server: LocalPostgres, name: str) -> Iterator[str]:
    """A private copy of the built world's database (tests write to it)."""
    import psycopg

    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE world")
    try:
        yield server.url(name)
    finally:
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _rows(url: str, sql: str) -> set[Any]:
    import psycopg

    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute(sql).fetchall()}


def test_sigkill_of_a_writing_server_on_postgres_loses_no_acknowledged_event(
    world: World, pg: tuple[LocalPostgres, str]
) -> None:
    server, artifacts = pg
    with copy_of_world(server, "killserve") as url:
        service = start_service(url, Path(artifacts))  # type: ignore[arg-type]
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
                        feedback_pb2.Event(event_id=e, listener_id=f"u_{1 + batch % 80:05d}",
                                           track_id=tracks[(batch + i) % len(tracks)],
                                           type=feedback_pb2.EVENT_TYPE_PLAY, ms_played=100_000)
                        for i, e in enumerate(ids)
                    ]  # fmt: skip
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
        stored = _rows(url, "SELECT event_id FROM events WHERE event_id LIKE 'k%'")
    missing = [e for e in acknowledged if e not in stored]
    print(f"\nkill -9 server (PostgreSQL): {len(acknowledged)} events acknowledged, "
          f"{len(missing)} missing")  # fmt: skip
    assert acknowledged, "the server was killed before any call returned"
    assert not missing, missing[:5]


def test_sigkill_of_ingest_on_postgres_leaves_the_batch_whole_or_absent(
    pg: tuple[LocalPostgres, str], tmp_path: Path
) -> None:
    server, _ = pg
    more = tmp_path / "more"
    liner("demo-data", "--out", str(more), "--tracks", "300", "--listeners", "40", "--seed",
          "12", "--no-audio")  # fmt: skip
    for name in ("items.csv", "interactions.csv", "credits.csv"):
        path = more / name
        if path.exists():
            frame = pd.read_csv(path, dtype=str)
            for column in ("item_id", "track_id"):
                if column in frame:
                    frame[column] = "new-" + frame[column]
            frame.to_csv(path, index=False)
    new_ids = set(pd.read_csv(more / "items.csv", dtype=str)["item_id"])  # new-… already
    outcomes = []
    with copy_of_world(server, "killingest") as url:
        for attempt, delay in enumerate((1.0, 3.0, 6.0, 12.0, 24.0)):
            process = subprocess.Popen(
                [str(Path(sys.executable).with_name("liner")), "ingest", str(more), "--db", url],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
            )  # fmt: skip
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            present = _rows(url, "SELECT track_id FROM tracks") & new_ids
            assert present in (set(), new_ids), f"attempt {attempt}: {len(present)} of all"
            outcomes.append("whole" if present else "absent")
            if present:
                break
        out = liner("ingest", str(more), "--db", url)
        present = _rows(url, "SELECT track_id FROM tracks") & new_ids
        unscreened = _rows(url, "SELECT track_id FROM unscreened")
    print(f"\nkill -9 ingest (PostgreSQL): after each kill the batch was {outcomes}; then all "
          f"{len(present)} tracks, {len(unscreened)} unscreened")  # fmt: skip
    assert present == new_ids, out
    assert not unscreened, "the next ingest did not finish the screening"


def _imitating(url: str) -> dict[str, set[str]]:
    """Imitating AI tracks per referenced rights holder whose consent currently allows them."""
    from recsys.store.postgres import PostgresStore

    store = PostgresStore(url, pool_size=1)
    try:
        state = store.consent_state()
        holder_of = {a.artist_id: a.rights_holder_id for a in store.iter_artists()}
        found: dict[str, set[str]] = {}
        for track in store.iter_tracks():
            prov = track.provenance
            if prov.ai_involvement is AiInvolvement.NONE or not prov.references_artist_ids:
                continue
            holders = {holder_of.get(a, "") for a in prov.references_artist_ids}
            if all(state.allows(h, s) for h in holders for s in IMITATION_SCOPES):
                for h in holders:
                    found.setdefault(h, set()).add(track.track_id)
        return found
    finally:
        store.close()


def test_two_replicas_a_revocation_through_a_holds_on_b_at_its_next_request(
    pg: tuple[LocalPostgres, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two `liner serve` processes on one database: B serves an imitation of a consenting
    holder; the holder's imitation consent is revoked through A; B's very next slates for the
    same listeners leave every imitation of that holder out."""
    server, artifacts = pg
    monkeypatch.setenv("LINER_RIGHTS_TOKENS", f'["{RIGHTS}"]')
    with copy_of_world(server, "replicas") as url:
        imitating = _imitating(url)
        a = start_service(url, Path(artifacts))  # type: ignore[arg-type]
        b = start_service(url, Path(artifacts))  # type: ignore[arg-type]
        try:
            with LinerClient(b.target, timeout=30) as client_b:
                listeners = [f"u_{i:05d}" for i in range(1, 81)]
                slates = {u: {i.track.id for i in client_b.recommend(u, k=20).items}
                          for u in listeners}  # fmt: skip
                served = {
                    h: [u for u, s in slates.items() if s & tracks]
                    for h, tracks in sorted(imitating.items())
                }
                holder = next((h for h, us in served.items() if us), None)
                assert holder is not None, (
                    f"B served no imitation of a consenting holder ({len(imitating)} imitated "
                    "holders): the world no longer exercises the revocation"
                )
                with LinerClient(a.target, token=RIGHTS, timeout=30) as rights_a:
                    for scope in IMITATION_SCOPES:
                        name = f"CONSENT_SCOPE_{scope.name}"
                        rights_a.revoke_consent(holder, rights_pb2.ConsentScope.Value(name))
                after = {u: {i.track.id for i in client_b.recommend(u, k=20).items}
                         for u in served[holder]}  # fmt: skip
            with LinerClient(b.target, token=RIGHTS, timeout=30) as rights_b:
                history = rights_b.consent_history(holder)
        finally:
            a.stop()
            b.stop()
    still = sorted(u for u, s in after.items() if s & imitating[holder])
    print(f"\nreplicas: holder {holder!r} imitated in {len(served[holder])} of B's 80 slates "
          f"before the revocation through A, in {len(still)} at B's next request")  # fmt: skip
    assert history[-1].action == rights_pb2.CONSENT_ACTION_REVOKE
    assert not still
