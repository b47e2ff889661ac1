"""Declared labels are checked too: a declared-human machine track whose own text names an AI
generator is disputed (held, labelled DISPUTED) while verified human tracks are not; only a
rights admin decides, audited; a decided dispute is not re-opened."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from recsys.api.v1 import common_pb2 as pbc
from recsys.domain import (
    AiInvolvement,
    Artist,
    ConsentAction,
    ConsentEntry,
    ConsentScope,
    Credit,
    FeedbackEvent,
    LabelSource,
    Listener,
    Provenance,
    Track,
)
from recsys.errors import LinerError, NotFoundError
from recsys.integrity import AudioFeatures
from recsys.integrity.detector import AiDetectorConfig
from recsys.integrity.disputes import resolve_dispute
from recsys.integrity.figures import integrity_figures_from_store
from recsys.integrity.jobs import run_integrity
from recsys.service.convert import catalog_track_pb
from recsys.store import IngestBatch, SqliteStore

T0 = datetime(2025, 1, 1, tzinfo=UTC)
NAMES = ("noise", "peak")
MACHINE_PEAK = -1.0  # the demo's machine signature: normalised to exactly -1 dBFS


def _catalog(seed: int = 0) -> tuple[list[Artist], list[Track], list[ConsentEntry]]:
    rng = np.random.default_rng(seed)
    artists = [
        Artist(artist_id=f"a{i}", name=f"Artist {i}", verified=i < 30, rights_holder_id=f"h{i}")
        for i in range(40)
    ]
    artists.append(Artist(artist_id="new", name="Night Drive Collective", rights_holder_id="hx"))
    consent = [
        ConsentEntry(
            entry_id=f"c{i}",
            rights_holder_id=f"h{i}",
            scope=ConsentScope.AI_TRAINING,
            action=ConsentAction.GRANT,
            actor=f"h{i}",
            at=T0,
        )
        for i in range(40)
    ]
    tracks = []
    for n in range(320):
        ai = n % 10 < 3 and n % 40 >= 30  # AI studios: the unverified artists a30..a39
        peak = MACHINE_PEAK + rng.normal(0, 0.01) if ai else rng.uniform(-6, -1.5)
        level = AiInvolvement.GENERATED if ai else AiInvolvement.NONE
        tracks.append(_track(f"t{n:04d}", f"a{n % 40}", peak, rng, level, n))
    tracks.append(
        _track("t-suno", "new", MACHINE_PEAK, rng, AiInvolvement.NONE, 400, "Made with Suno v4")
    )
    tracks.append(_track("t-human", "a3", -4.0, rng, AiInvolvement.NONE, 401))
    return artists, tracks, consent


def _track(
    track_id: str,
    artist: str,
    peak: float,
    rng: np.random.Generator,
    level: AiInvolvement,
    n: int,
    description: str = "",
) -> Track:
    return Track(
        track_id=track_id,
        title=f"Song {n}",
        description=description,
        credits=(Credit(artist_id=artist, share=1.0),),
        duration_ms=int(rng.integers(120, 300)) * 1000,
        uploaded_at=T0 + timedelta(days=n),
        uploader_id=f"u-{artist}",
        audio_descriptors={"peak": float(peak), "noise": float(rng.normal(0, 1))},
        provenance=Provenance(ai_involvement=level),
    )


def _audio(tracks: list[Track]) -> AudioFeatures:
    return AudioFeatures(
        fingerprint=np.zeros((len(tracks), 0), np.float32),
        forensic=np.zeros((len(tracks), 0), np.float32),
        descriptors=np.array([[t.audio_descriptors[n] for n in NAMES] for t in tracks]),
        descriptor_names=NAMES,
    )


def _screen(store: SqliteStore):  # type: ignore[no-untyped-def]
    tracks = list(store.iter_tracks())
    return run_integrity(
        store, audio=_audio(tracks), detector_config=AiDetectorConfig(rounds=60), at=T0
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    artists, tracks, consent = _catalog()
    s = SqliteStore(tmp_path / "liner.db")
    listeners = [Listener(listener_id=f"L{i}") for i in range(5)]
    events = [
        FeedbackEvent(
            event_id=f"e{i}",
            listener_id=f"L{i % 5}",
            track_id=tracks[i].track_id,
            at=T0 + timedelta(hours=i),
        )
        for i in range(60)
    ]
    s.ingest(
        IngestBatch(
            artists=artists, tracks=tracks, consent=consent, listeners=listeners, events=events
        )
    )
    yield s
    s.close()


def test_declared_human_machine_track_with_generator_text_is_disputed(store: SqliteStore) -> None:
    run = _screen(store)
    assert run.disputes is not None and run.disputes.reference >= 20
    # Declared NONE tracks are scored now, those the detector trained on out of fold.
    assert "t-suno" in run.disputes.probabilities and "t-human" in run.disputes.probabilities
    assert run.detector is not None and "t-human" in run.detector.out_of_fold
    assert store.disputed_ids() == {"t-suno"}
    assert "t-suno" in store.held_ids() and "t-human" not in store.held_ids()
    (entry,) = store.dispute_history("t-suno")
    assert entry.opened and entry.declared is AiInvolvement.NONE and entry.actor == "screening"
    assert "suno" in entry.evidence["text"].lower() and "P(AI)" in entry.evidence["detector"]
    # The declaration is not relabelled: the track still says NONE, DECLARED.
    track = store.get_track("t-suno")
    assert track is not None and track.provenance.ai_involvement is AiInvolvement.NONE
    assert track.provenance.label_source is LabelSource.DECLARED
    # Listeners see it as disputed wherever the label is shown.
    shown = catalog_track_pb(track, {}, disputed="t-suno" in store.disputed_ids()).ai_label
    assert shown.source == pbc.LABEL_SOURCE_DISPUTED
    assert shown.involvement == pbc.AI_INVOLVEMENT_NONE
    figures = integrity_figures_from_store(store).to_dict()
    assert figures["disputed_now"] == 1 and figures["unscreened"] == 0


def test_verified_human_tracks_are_not_disputed(store: SqliteStore) -> None:
    run = _screen(store)
    assert run.disputes is not None
    verified_human = [
        t.track_id
        for t in store.iter_tracks()
        if t.provenance.ai_involvement is AiInvolvement.NONE
        and t.credits[0].artist_id not in {f"a{i}" for i in range(30, 40)} | {"new"}
    ]
    assert len(verified_human) > 200
    assert not set(verified_human) & store.disputed_ids()
    assert run.disputes.reference_rates["audio"] <= 0.005


def test_only_a_rights_admin_decides_and_the_decision_is_audited(store: SqliteStore) -> None:
    _screen(store)
    with pytest.raises(LinerError, match="actor"):
        resolve_dispute(
            store, "t-suno", label=AiInvolvement.GENERATED, actor="screening", reason="x"
        )
    with pytest.raises(LinerError, match="reason"):
        resolve_dispute(store, "t-suno", label=AiInvolvement.GENERATED, actor="admin-7", reason="")
    with pytest.raises(LinerError, match="not disputed"):
        resolve_dispute(store, "t-human", label=AiInvolvement.NONE, actor="admin-7", reason="ok")
    with pytest.raises(NotFoundError):
        resolve_dispute(store, "nope", label=AiInvolvement.NONE, actor="admin-7", reason="ok")
    record = resolve_dispute(
        store, "t-suno", label=AiInvolvement.GENERATED, actor="admin-7", reason="uploader agreed"
    )
    assert record.actor == "admin-7" and record.reason == "uploader agreed"
    assert store.disputed_ids() == frozenset() and "t-suno" not in store.held_ids()
    track = store.get_track("t-suno")
    assert track is not None and track.provenance.ai_involvement is AiInvolvement.GENERATED
    assert [r.opened for r in store.dispute_history("t-suno")] == [True, False]


def test_an_upheld_declaration_is_not_disputed_again(store: SqliteStore) -> None:
    _screen(store)
    resolve_dispute(
        store, "t-suno", label=AiInvolvement.NONE, actor="admin-7", reason="session files"
    )
    _screen(store)
    assert store.disputed_ids() == frozenset()
    assert len(store.dispute_history("t-suno")) == 2
