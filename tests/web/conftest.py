"""A real server with its web port over the service tests' tiny world, and a recommender that
honours the filters, the query and consent at serve time (what the web app's switches,
search box and rights view change)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from recsys.cli.serve import integrity_metering
from recsys.domain import AiInvolvement, ArtistKind, ConsentAction, ConsentEntry, ConsentScope
from recsys.pipeline.api import Recommendation, RecommendedItem, RecommendRequest
from recsys.service.web import WebGateway
from recsys.store import QuarantineRecord, Store
from tests.recsys.service.conftest import (  # noqa: F401 (fixtures)
    RIGHTS_TOKEN,
    Running,
    start_server,
    store,
)
from tests.recsys.service.fakes import ARTISTS, TRACKS

HOLDER = "rh-ada"


class WorldRecommender:
    """Tracks in catalog order, minus what the filters, the query and consent exclude.

    An AI-generated track that references an artist is served only while that artist's rights
    holder grants ``ai_style_reference`` (read from the store's ledger on every call, as the
    real pipeline does); a query keeps tracks whose title, genre or tags contain one of its
    words.
    """

    def __init__(self, catalog: Store) -> None:
        self.store = catalog
        self.calls: list[RecommendRequest] = []
        self._artists = {a.artist_id: a for a in ARTISTS}

    def recommend(self, request: RecommendRequest) -> Recommendation:
        self.calls.append(request)
        consent = self.store.consent_state()
        held = self.store.quarantined_ids()
        words = request.query.lower().split()
        kept = []
        for track in TRACKS:
            artists = [self._artists[a] for a in track.artist_ids]
            generated = track.provenance.ai_involvement is AiInvolvement.GENERATED
            if track.track_id in held:
                continue
            if request.filters.human_only and any(a.kind is not ArtistKind.HUMAN for a in artists):
                continue
            if request.filters.exclude_ai_generated and generated:
                continue
            referenced = [self._artists[a] for a in track.provenance.references_artist_ids]
            if generated and not all(
                a.rights_holder_id
                and consent.allows(a.rights_holder_id, ConsentScope.AI_STYLE_REFERENCE)
                for a in referenced
            ):
                continue
            text = f"{track.title} {track.genre} {' '.join(track.tags)}".lower()
            if words and not any(w in text for w in words):
                continue
            kept.append(track)
        items = tuple(
            RecommendedItem(
                track=t,
                artists=tuple(self._artists[a] for a in t.artist_ids),
                position=i,
                score=1.0 - i / 100,
                reasons=(f"matches “{request.query}”" if words else "because you like jazz",),
                sources=("text" if words else "popular",),
            )
            for i, t in enumerate(kept[: request.k])
        )
        notes = ("nothing matched the query",) if words and not items else ()
        return Recommendation(
            request_id=request.request_id,
            listener_id=request.listener_id,
            variant=request.variant,
            items=items,
            notes=notes,
        )


class WorldAgent:
    """Answers a turn with the recommender's slate for the message and a two-step trace."""

    def __init__(self, recommender: WorldRecommender) -> None:
        self.recommender = recommender

    def ask(self, message: str, *, listener_id: str, session_id: str | None, k: int = 10) -> Any:
        slate = self.recommender.recommend(
            RecommendRequest(listener_id=listener_id, k=3, query="jazz")
        )
        trace = [
            SimpleNamespace(tool="parse_request", arguments={"text": message}, count=1, ms=0.4),
            SimpleNamespace(tool="search_tracks", arguments={"query": "jazz"}, count=3, ms=2.1),
        ]
        return SimpleNamespace(
            summary=f"Three calm jazz picks for “{message}”.",
            items=slate.items,
            trace=trace,
            session_id=session_id or "session-1",
            request_id="agent-answer-1",
        )


@dataclass
class WebRunning:
    running: Running
    web: WebGateway
    recommender: WorldRecommender

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web.port}"


@pytest.fixture
def start_web(
    start_server: Callable[..., Running],  # noqa: F811
    store: Store,  # noqa: F811
) -> Iterator[Callable[..., WebRunning]]:
    gateways: list[WebGateway] = []

    def start(**overrides: Any) -> WebRunning:
        store.append_consent(
            [
                ConsentEntry(
                    entry_id="c-style", rights_holder_id=HOLDER,
                    scope=ConsentScope.AI_STYLE_REFERENCE, action=ConsentAction.GRANT,
                    actor="seed", reason="demo", at=datetime(2024, 1, 2, tzinfo=UTC),
                )
            ]
        )  # fmt: skip
        store.record_quarantine(
            [
                QuarantineRecord(
                    track_id="t19", quarantined=True, reasons=("near_duplicate",),
                    evidence={"near_duplicate": "audio matches t1 by another uploader (0.97)"},
                    actor="screening", at=datetime.now(UTC),
                )
            ]
        )  # fmt: skip
        recommender = WorldRecommender(store)
        running = start_server(
            recommender,
            conversation=WorldAgent(recommender),
            metering=integrity_metering,
            web_port=0,
            **overrides,
        )
        web = WebGateway(running.server, running.server.settings)
        web.start()
        gateways.append(web)
        return WebRunning(running, web, recommender)

    yield start
    for web in gateways:
        web.stop(0)


@pytest.fixture
def web(start_web: Callable[..., WebRunning]) -> WebRunning:
    return start_web()


__all__ = ["HOLDER", "RIGHTS_TOKEN", "WebRunning", "WorldAgent", "WorldRecommender"]
