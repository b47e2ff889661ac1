"""Two service replicas on one PostgreSQL: a revocation or a quarantine made through replica A
holds on replica B at its very next request, both replicas' slates land in the one store, and
an artifact reload on A reaches B through the store's reload signal.

Each replica is a real gRPC server with the real pipeline (hard filters reading consent and
held tracks from its own store handle) over a small generated world.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from recsys.api.v1 import feedback_pb2, rights_pb2
from recsys.domain import IMITATION_SCOPES
from recsys.params import PolicyParams
from recsys.pipeline import PipelineRecommender
from recsys.pipeline.slate_log import SlateLogger
from recsys.service import LinerClient, LinerServer, ServiceDeps, ServiceMetrics, ServingState
from recsys.service.replicas import StoreReloadSignal
from recsys.settings import LinerSettings
from recsys.store import IngestBatch, QuarantineRecord, Store
from recsys.store.postgres import PostgresStore
from tests.recsys.pipeline.world import World, make_world
from tests.recsys.service.conftest import ADMIN_TOKEN, FEEDBACK_TOKEN, RIGHTS_TOKEN

PARAMS = PolicyParams(ai_generated_cap=0.3, human_artist_boost=0.0, mmr_lambda=1.0)
SEEDS = ("t0_5_0",)
SCOPE_PB = {
    scope: rights_pb2.ConsentScope.Value(f"CONSENT_SCOPE_{scope.name}")
    for scope in IMITATION_SCOPES
}


class _Fixed:
    """Every listener gets the same params (so the world serves its imitating tracks)."""

    def assign(self, listener_id: str) -> Any:
        return dataclasses.make_dataclass("A", [("params", PolicyParams)])(PARAMS)


@dataclasses.dataclass
class Replica:
    server: LinerServer
    state: ServingState
    store: Store
    target: str
    stop: threading.Event

    def client(self, token: str | None = None) -> LinerClient:
        return LinerClient(self.target, token=token, timeout=30)


def _seed(url: str, world: World) -> None:
    store = PostgresStore(url, pool_size=1)
    try:
        store.ingest(
            IngestBatch(
                artists=list(world.store.artists.values()),
                tracks=list(world.store.tracks.values()),
                listeners=list(world.store.listeners.values()),
                events=world.store.events,
                consent=world.store.ledger,
            )
        )
        store.finish_screening(screened=store.unscreened_marks())  # screened: servable
    finally:
        store.close()


@pytest.fixture
def replicas(postgres_url: str, tmp_path: Path) -> Iterator[tuple[World, list[Replica]]]:
    world = make_world()
    _seed(postgres_url, world)
    settings = LinerSettings(
        host="127.0.0.1",
        port=0,
        metrics_port=None,
        admin_tokens=[ADMIN_TOKEN],
        rights_tokens=[RIGHTS_TOKEN],
        feedback_tokens=[FEEDBACK_TOKEN],
    )
    loads: dict[str, list[Path]] = {}
    started: list[Replica] = []
    for name in ("A", "B"):
        store = PostgresStore(postgres_url)
        rec = PipelineRecommender(
            spaces=world.spaces,
            catalog=world.catalog,
            store=store,
            slate_logger=SlateLogger(store, background=False),
        )
        loads[name] = []

        def factory(path: Path, rec: PipelineRecommender = rec, name: str = name) -> Any:
            loads[name].append(path)
            return rec

        holder: dict[str, ServingState] = {}

        def loaded(holder: dict[str, ServingState] = holder) -> Any:
            return holder["s"].loaded

        signal = StoreReloadSignal(store, loaded, interval=0.5, name=name)
        state = ServingState(
            factory=factory,
            verify=lambda d: d.name,  # the version id: the folder's name, for the test
            experiments=_Fixed,
            announce=signal.announce,
        )
        holder["s"] = state
        server = LinerServer(settings, ServiceDeps(state=state, store=store,
                                                   metrics=ServiceMetrics()))  # fmt: skip
        port = server.start()
        state.load(tmp_path / "build1")
        state.load_experiments()
        server.set_serving()
        stop = threading.Event()
        signal.watch(state, stop)
        started.append(Replica(server, state, store, f"127.0.0.1:{port}", stop))
    try:
        yield world, started
    finally:
        for r in started:
            r.stop.set()
            r.server.stop(0)
            r.store.close()


def _served(replica: Replica, listener: str = "u0") -> set[str]:
    with replica.client() as client:
        out = client.recommend(listener, k=10, context_track_ids=SEEDS)
    return {i.track.id for i in out.items}


def test_a_revocation_through_a_holds_on_b_at_its_next_request(
    replicas: tuple[World, list[Replica]],
) -> None:
    world, (a, b) = replicas
    imitating = set(world.imitating)
    assert _served(b) & imitating, "the world should serve an imitating track first"
    assert _served(a) & imitating
    with a.client(RIGHTS_TOKEN) as rights:
        rights.revoke_consent(
            world.referenced_holder, SCOPE_PB[IMITATION_SCOPES[1]], reason="replica test"
        )
    # Requests through B until the revocation holds: the very next one.
    assert not _served(b) & imitating
    assert not _served(a) & imitating
    with b.client(RIGHTS_TOKEN) as rights:
        history = rights.consent_history(world.referenced_holder)
    assert history[-1].action == rights_pb2.CONSENT_ACTION_REVOKE


def test_events_logged_through_both_replicas_land_in_the_one_store(
    replicas: tuple[World, list[Replica]],
) -> None:
    world, (a, b) = replicas
    track = sorted(world.store.tracks)[0]
    for name, replica in (("a", a), ("b", b)):
        events = [
            feedback_pb2.Event(event_id=f"{name}{i}", listener_id="u1", track_id=track,
                               type=feedback_pb2.EVENT_TYPE_PLAY, ms_played=90_000)
            for i in range(5)
        ]  # fmt: skip
        with replica.client(FEEDBACK_TOKEN) as client:
            client.log_events(events)
            client.log_events(events)  # a retry writes nothing twice
    ids = {e.event_id for e in a.store.listener_events("u1") if e.event_id[0] in "ab"}
    assert ids == {f"{n}{i}" for n in "ab" for i in range(5)}
    # Both replicas stamped the same authenticated sender (one token) and their own receipt.
    stored = [e for e in b.store.listener_events("u1") if e.event_id in ids]
    assert len({e.sender for e in stored}) == 1 and stored[0].sender.startswith("feedback:")
    assert all(e.received_at is not None for e in stored)


def test_a_quarantine_recorded_through_a_holds_on_b_and_both_slates_are_logged(
    replicas: tuple[World, list[Replica]],
) -> None:
    _, (a, b) = replicas
    first = _served(a)
    target = sorted(first)[0]
    a.store.record_quarantine(
        [QuarantineRecord(track_id=target, quarantined=True, reasons=("test",),
                          actor="replica-a", at=datetime.now(UTC))]
    )  # fmt: skip
    assert target not in _served(b)
    # One slate served by A, one by B: both in the one store, seen from either replica.
    slates = list(b.store.iter_slates())
    assert len(slates) == 2 and {s.listener_id for s in slates} == {"u0"}
    assert [s.request_id for s in a.store.iter_slates()] == [s.request_id for s in slates]


def test_a_reload_on_a_reaches_b_through_the_store(
    replicas: tuple[World, list[Replica]], tmp_path: Path
) -> None:
    _, (a, b) = replicas
    with a.client(ADMIN_TOKEN) as admin:
        admin.reload_artifacts(str(tmp_path / "build2"))
    assert a.state.current().version == "build2"
    deadline = time.monotonic() + 20
    while b.state.current().version != "build2" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert b.state.current().version == "build2"
    notice = b.store.latest_reload()
    assert notice is not None and notice.announced_by == "A" and notice.version == "build2"
    # B does not announce what it followed, and A does not reload its own announcement.
    time.sleep(1.2)
    assert b.store.latest_reload() == notice
    assert a.state.current().version == "build2"
