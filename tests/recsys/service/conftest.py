"""A real server on 127.0.0.1 port 0 with a real SQLite store and a fake recommender."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest

from recsys.domain import ConsentAction, ConsentEntry, ConsentScope
from recsys.service import LinerClient, LinerServer, ServiceDeps, ServiceMetrics, ServingState
from recsys.settings import LinerSettings
from recsys.store import IngestBatch, Store, open_store
from tests.recsys.service.fakes import ARTISTS, TRACKS, FakeRecommender, artifact_dir

ADMIN_TOKEN = "admin-secret"
RIGHTS_TOKEN = "rights-secret"
FEEDBACK_TOKEN = "feedback-secret"
LISTENER_KEY = "listener-key-for-tests-0123456789abcdef"  # HS256 keys are at least 32 bytes


@dataclass
class Running:
    """A started server and what it was built from."""

    server: LinerServer
    state: ServingState
    store: Store
    recommender: FakeRecommender
    artifacts: Path
    target: str

    def client(self, token: str | None = None, **kwargs: Any) -> LinerClient:
        return LinerClient(self.target, token=token, **kwargs)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(str(tmp_path / "liner.db"))
    s.ingest(
        IngestBatch(
            artists=ARTISTS,
            tracks=TRACKS,
            consent=[
                ConsentEntry(
                    entry_id="c0", rights_holder_id="rh-ada", scope=ConsentScope.AI_TRAINING,
                    action=ConsentAction.GRANT, actor="seed", at=datetime(2024, 1, 1, tzinfo=UTC),
                )
            ],
        )
    )  # fmt: skip
    yield s
    s.close()


@pytest.fixture
def start_server(tmp_path: Path, store: Store) -> Iterator[Callable[..., Running]]:
    started: list[LinerServer] = []

    def start(
        recommender: FakeRecommender | None = None,
        *,
        load: bool = True,
        conversation: Any = None,
        metering: Any = None,
        **overrides: Any,
    ) -> Running:
        rec = recommender or FakeRecommender()
        base: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": 0,
            "metrics_port": None,
            "admin_tokens": [ADMIN_TOKEN],
            "rights_tokens": [RIGHTS_TOKEN],
            "feedback_tokens": [FEEDBACK_TOKEN],
            "listener_token_key": LISTENER_KEY,
        }
        settings = LinerSettings(**{**base, **overrides})
        factory_calls = {"n": 0}

        def factory(_: Path) -> FakeRecommender:
            factory_calls["n"] += 1
            return rec if factory_calls["n"] == 1 else FakeRecommender(f"v{factory_calls['n']}")

        state = ServingState(factory=factory)
        deps = ServiceDeps(
            state=state, store=store, metrics=ServiceMetrics(), metering=metering,
            conversation=conversation,
        )  # fmt: skip
        server = LinerServer(settings, deps)
        port = server.start()
        started.append(server)
        art = artifact_dir(tmp_path, f"art{len(started)}")
        if load:
            state.load(art)
            server.set_serving()
        return Running(server, state, store, rec, art, f"127.0.0.1:{port}")

    yield start
    for server in started:
        server.stop(0)


@pytest.fixture
def running(start_server: Callable[..., Running]) -> Running:
    return start_server()


def code_of(fn: Callable[[], Any]) -> grpc.StatusCode:
    """Call ``fn`` and return the status code of the RpcError it raises."""
    with pytest.raises(grpc.RpcError) as info:
        fn()
    return info.value.code()  # type: ignore[attr-defined, no-any-return]


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()
