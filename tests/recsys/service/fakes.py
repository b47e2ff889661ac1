"""A tiny world and a fake recommender for service tests (no artifacts, no models)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recsys.artifacts import Manifest, hash_files, write_manifest
from recsys.domain import (
    AiInvolvement,
    AiPart,
    Artist,
    ArtistKind,
    Credit,
    CreditRole,
    LabelSource,
    Provenance,
    Track,
)
from recsys.pipeline.api import Recommendation, RecommendedItem, RecommendRequest

ARTISTS = (
    Artist(artist_id="a-human", name="Ada Human", kind=ArtistKind.HUMAN, verified=True,
           rights_holder_id="rh-ada"),
    Artist(artist_id="a-bot", name="Botty", kind=ArtistKind.AI_PERSONA, rights_holder_id="rh-bot"),
)  # fmt: skip


def make_track(i: int) -> Track:
    """Even tracks are by the human artist, odd ones AI-generated imitating her."""
    if i % 2 == 0:
        return Track(
            track_id=f"t{i}", title=f"Song {i}", genre="jazz", tags=("calm",),
            credits=(Credit(artist_id="a-human", role=CreditRole.PRIMARY, share=1.0),),
            provenance=Provenance(ai_involvement=AiInvolvement.NONE),
            duration_ms=180_000,
        )  # fmt: skip
    return Track(
        track_id=f"t{i}", title=f"Synth {i}", genre="electronic",
        credits=(Credit(artist_id="a-bot", role=CreditRole.PRIMARY, share=1.0),),
        provenance=Provenance(
            ai_involvement=AiInvolvement.GENERATED, ai_parts=(AiPart.VOCALS,),
            label_source=LabelSource.DETECTED, confidence=0.9, references_artist_ids=("a-human",),
        ),
    )  # fmt: skip


TRACKS = tuple(make_track(i) for i in range(20))


class FakeRecommender:
    """Returns the first ``k`` tracks not excluded, with a label derived from ``tag``.

    Args:
        tag: shows up in every reason, so a test can tell which instance served a call.
        gate: when set, each call waits on it (for deadline, overload and shutdown tests).
        started: set when a call begins.
    """

    def __init__(
        self, tag: str = "v1", *, gate: threading.Event | None = None, delay_s: float = 0.0
    ) -> None:
        self.tag = tag
        self.gate = gate
        self.delay_s = delay_s
        self.started = threading.Event()
        self.calls: list[RecommendRequest] = []
        self.finished = 0
        self._artists = {a.artist_id: a for a in ARTISTS}

    def recommend(self, request: RecommendRequest) -> Recommendation:
        self.calls.append(request)
        self.started.set()
        if self.gate is not None:
            self.gate.wait(10.0)
        if self.delay_s:
            time.sleep(self.delay_s)
        excluded = set(request.filters.exclude_track_ids)
        tracks = [t for t in TRACKS if t.track_id not in excluded][: request.k]
        items = tuple(
            RecommendedItem(
                track=t,
                artists=tuple(self._artists[a] for a in t.artist_ids),
                position=i,
                score=1.0 - i / 100,
                reasons=(f"{self.tag}: because you like jazz",),
                contributions={"ann": 0.5} if request.explain else {},
                sources=("popular",),
            )
            for i, t in enumerate(tracks)
        )
        self.finished += 1
        return Recommendation(
            request_id=request.request_id,
            listener_id=request.listener_id,
            variant=request.variant,
            items=items,
            stage_ms={"candidates": 0.4, "rerank": 0.2},
        )


def artifact_dir(root: Path, name: str = "art") -> Path:
    """A directory with one file and a manifest that checks out."""
    path = root / name
    path.mkdir()
    (path / "vectors.txt").write_text(f"{name} {datetime.now(UTC).isoformat()}\n")
    write_manifest(path, Manifest(files=hash_files(path)))
    return path


def serve_fake_worker(settings: Any, grace: float, log_level: int, broadcast: Any) -> None:
    """A ``run_workers`` target: a server over a FakeRecommender tagged with this process id,
    the CPUs it may run on and the name of the loaded artifact directory, serving until
    SIGTERM."""
    import os
    import signal

    from recsys.service import LinerServer, ServiceDeps, ServiceMetrics, ServingState
    from recsys.service.workers import pin_process

    if settings.cpu_affinity:
        pin_process(settings.cpu_affinity)
    cpus = "-".join(map(str, sorted(os.sched_getaffinity(0))))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    state = ServingState(
        factory=lambda d: FakeRecommender(tag=f"pid{os.getpid()}cpu{cpus}@{d.name or 'initial'}"),
        verify=lambda d: d.name or "initial",
        announce=broadcast.announce,
    )
    state.load(Path())
    broadcast.watch(state, stop)
    server = LinerServer(settings, ServiceDeps(state=state, store=None, metrics=ServiceMetrics()))
    server.start()
    server.set_serving()
    stop.wait()
    server.stop(grace)
