"""Converse on two service instances sharing one database (``--workers`` processes, or
replicas on PostgreSQL): a conversation started on one goes on on the other, with the same
NOT_FOUND and PERMISSION_DENIED answers as on one instance."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from agent.discovery import DiscoveryAgent
from agent.sessions import SessionStore
from recsys.api.answers import answer_json
from recsys.store import Store, open_store
from tests.agent.fakes import FakeBackend
from tests.recsys.service.conftest import Running


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where both instances keep their sessions: a SQLite file or a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "liner.db")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(location: str) -> Iterator[Store]:
    """The first instance's store (``start_server`` serves with it)."""
    opened = open_store(location)
    yield opened
    opened.close()


def test_a_conversation_started_on_one_instance_goes_on_on_another(
    start_server: Callable[..., Running], store: Store, location: str
) -> None:
    other = open_store(location)  # the second instance's own handle on the same database
    try:
        one = start_server(
            conversation=DiscoveryAgent(FakeBackend(), sessions=SessionStore(store=store))
        )
        two = start_server(
            conversation=DiscoveryAgent(FakeBackend(), sessions=SessionStore(store=other))
        )
        with one.client(timeout=30) as a, two.client(timeout=30) as b:
            first = a.converse("fan", "indie or rap", k=4)
            follow = b.converse("fan", "less rap", session_id=first.session_id, k=3)
            assert follow.session_id == first.session_id and len(follow.items) == 3
            said = answer_json(follow)["constraints"]
            assert "rap" in said["avoid"] and "indie" in said["genres"]
            with pytest.raises(grpc.RpcError) as denied:
                b.converse("purist", "more rap", session_id=first.session_id)
            assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED
            assert "empty session_id" in denied.value.details()
            with pytest.raises(grpc.RpcError) as missing:
                b.converse("fan", "jazz", session_id="my-own-id")
            assert missing.value.code() is grpc.StatusCode.NOT_FOUND
            assert "never issued" in missing.value.details()
            back = a.converse("fan", "and human artists only", session_id=first.session_id)
            assert "rap" in answer_json(back)["constraints"]["avoid"]
    finally:
        other.close()
