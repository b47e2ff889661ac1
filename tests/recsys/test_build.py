"""`liner build`: artifacts, manifest, consent in fitting, resume."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from recsys.artifacts import sha256_text, verify_manifest
from recsys.build import BUILD_STEPS, build_artifacts
from recsys.cli import main
from recsys.domain import (
    Artist,
    ConsentAction,
    ConsentEntry,
    ConsentScope,
    Credit,
    FeedbackEvent,
    Listener,
    Track,
)
from recsys.embeddings.spaces import EmbeddingSpaces
from recsys.settings import LinerSettings
from recsys.store import IngestBatch, SqliteStore

T0 = datetime(2024, 1, 1, tzinfo=UTC)
GENRES = ("jazz", "metal", "folk", "techno")
EMBEDDING_STEPS = (
    "catalog",
    "text",
    "audio",
    "collab",
    "projection",
    "fusion",
    "indexes",
    "neighbours",
)


class FakeTextModel:
    """Deterministic 16-d 'embeddings' from character codes."""

    name = "fake-text"

    def encode(self, sentences: list[str], **_: Any) -> np.ndarray:
        out = np.zeros((len(sentences), 16), dtype=np.float32)
        for i, s in enumerate(sentences):
            for j, ch in enumerate(s):
                out[i, (ord(ch) + j) % 16] += 1.0
        return out


def _track(i: int) -> Track:
    g = i % 4
    return Track(
        track_id=f"t{i:03d}",
        title=f"{GENRES[g]} song {i}",
        credits=(Credit(artist_id=f"a{g}", share=1.0),),
        genre=GENRES[g],
        tags=(GENRES[g], "mood"),
        audio_descriptors={"energy": g / 4 + 0.01 * (i % 5), "tempo": 80.0 + 20 * g + i % 3},
    )


def _consent(holder: str, n: int) -> ConsentEntry:
    return ConsentEntry(
        entry_id=f"c{holder}{n}",
        rights_holder_id=holder,
        scope=ConsentScope.AI_TRAINING,
        action=ConsentAction.GRANT,
        actor=holder,
        at=T0,
    )


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    s = SqliteStore(str(tmp_path / "liner.db"))
    tracks = [_track(i) for i in range(48)]
    events = [
        FeedbackEvent(
            event_id=f"e{u}-{t.track_id}",
            listener_id=f"u{u:02d}",
            track_id=t.track_id,
            at=T0,
        )
        for u in range(24)
        for t in tracks
        if int(t.track_id[1:]) % 4 == u % 4 and int(t.track_id[1:]) < 40
    ]
    s.ingest(
        IngestBatch(
            artists=[
                Artist(artist_id=f"a{g}", name=f"Artist {g}", rights_holder_id=f"rh{g}")
                for g in range(4)
            ],
            tracks=tracks,
            listeners=[Listener(listener_id=f"u{u:02d}") for u in range(24)],
            events=events,
            consent=[_consent("rh0", 1), _consent("rh1", 1)],
        )
    )
    return s


def _build(store: SqliteStore, out: Path, **kw: Any):  # type: ignore[no-untyped-def]
    settings = LinerSettings(text_model="fake-text")
    kw.setdefault("steps", [s for s in BUILD_STEPS if s.name in EMBEDDING_STEPS])
    return build_artifacts(store, out, settings, text_model=FakeTextModel(), **kw)


def test_build_writes_a_verified_directory_the_server_can_load(
    store: SqliteStore, tmp_path: Path
) -> None:
    out = tmp_path / "art"
    manifest = _build(store, out)
    assert verify_manifest(out).files == manifest.files
    assert tuple(manifest.steps) == EMBEDDING_STEPS
    spaces = EmbeddingSpaces.load(out, LinerSettings())
    assert len(spaces.track_ids) == 48 and set(spaces.vectors) == {
        "text",
        "audio",
        "collab",
        "fused",
    }
    for vec in spaces.vectors.values():
        norms = np.linalg.norm(vec, axis=1)
        assert np.all((np.abs(norms - 1) < 1e-4) | (norms == 0))
    listener = spaces.listener_vector("u01")
    assert listener is not None and spaces.listener_vector("nobody") is None
    hits = spaces.indexes["fused"].search(listener[None], 5)[0]
    assert all(int(t[1:]) % 4 == 1 for t, _ in hits)  # u01 plays genre 1
    assert manifest.steps["projection"].info["projected"] == 8  # the 8 tracks with no plays
    # cold tracks still land beside their genre through the content projection
    cold = spaces.row_of["t041"]
    near = spaces.indexes["fused"].search(spaces.vectors["fused"][cold][None], 4, exclude={"t041"})
    assert sum(int(t[1:]) % 4 == 1 for t, _ in near[0]) >= 3
    assert spaces.profile_vector(["t001", "t005"]) is not None
    # item-to-item neighbours: one row per track, the track itself first, listed and checked
    table = spaces.neighbours
    assert table is not None and table.rows.shape == (48, 48) and table.rows.dtype == np.int32
    assert "neighbours/fused_rows.npy" in manifest.files
    assert table.rows[cold, 0] == cold
    assert [spaces.track_ids[r] for r in table.rows[cold, 1:4]] == [t for t, _ in near[0][:3]]
    assert spaces.profile_vector(["unknown"]) is None


def test_manifest_records_consented_training_tracks(store: SqliteStore, tmp_path: Path) -> None:
    manifest = _build(store, tmp_path / "art")
    consented = sorted(f"t{i:03d}" for i in range(48) if i % 4 in (0, 1))
    assert manifest.consent is not None
    assert manifest.consent.consent_version == 2
    assert manifest.consent.training_tracks == len(consented)
    assert manifest.consent.training_tracks_sha256 == sha256_text(*consented)


def test_only_consented_tracks_fit_models(store: SqliteStore, tmp_path: Path) -> None:
    first = _build(store, tmp_path / "a")
    store.ingest(IngestBatch(tracks=[replace(_track(2), audio_descriptors={"energy": 9.0})]))
    unconsented = _build(store, tmp_path / "b")
    for model in ("models/audio_pca.npz", "models/text_pca.npz", "models/projection.npz"):
        assert unconsented.files[model] == first.files[model]
    assert unconsented.files["vectors/audio.npy"] != first.files["vectors/audio.npy"]
    store.ingest(IngestBatch(tracks=[replace(_track(1), audio_descriptors={"energy": 9.0})]))
    consented = _build(store, tmp_path / "c")
    assert consented.files["models/audio_pca.npz"] != first.files["models/audio_pca.npz"]


def test_resume_skips_up_to_date_steps(store: SqliteStore, tmp_path: Path) -> None:
    out = tmp_path / "art"
    first = _build(store, out)
    again = _build(store, out)
    assert all(again.steps[n].finished_at == first.steps[n].finished_at for n in first.steps)
    assert again.files == first.files
    store.append_consent([_consent("rh2", 2)])
    third = _build(store, out)
    rerun = {n for n in first.steps if third.steps[n].finished_at != first.steps[n].finished_at}
    assert "text" not in rerun and "collab" not in rerun
    assert {"catalog", "audio", "projection", "fusion"} <= rerun
    forced = _build(store, out, resume=False)
    assert all(forced.steps[n].finished_at > third.steps[n].finished_at for n in first.steps)
    verify_manifest(out)
    assert not list(tmp_path.glob(".art.*"))


def test_build_help_has_an_example() -> None:
    result = CliRunner().invoke(main, ["build", "--help"])
    assert result.exit_code == 0 and "Example" in result.output and "--force" in result.output


def test_without_any_ai_training_grant_nothing_is_fitted(tmp_path: Path) -> None:
    s = SqliteStore(str(tmp_path / "none.db"))
    s.ingest(
        IngestBatch(
            artists=[Artist(artist_id="a0", name="A", rights_holder_id="rh0")],
            tracks=[_track(i * 4) for i in range(6)],
            listeners=[Listener(listener_id="u0")],
            events=[FeedbackEvent(event_id="e", listener_id="u0", track_id="t000", at=T0)],
        )
    )
    manifest = _build(s, tmp_path / "art")
    assert manifest.consent is not None and manifest.consent.training_tracks == 0
    assert manifest.steps["projection"].info["fit_on"] == 0
    assert "models/projection.npz" not in manifest.files
    assert manifest.steps["audio"].info["fit_on"] == 0


def test_default_steps_put_embeddings_first_and_include_plugins() -> None:
    from recsys.build import default_steps

    names = [s.name for s in default_steps()]
    assert tuple(names[:7]) == EMBEDDING_STEPS[:7] and "neighbours" in names
    assert {"reranker", "integrity"} <= set(names[7:])


def test_reranker_training_spaces_are_refitted_before_the_cutoff(tmp_path: Path) -> None:
    """Tracks first played after a cut-off have no collaborative signal in the spaces the
    reranker's training features for that cut-off are computed in (no label leakage)."""
    from recsys.build import BuildStep
    from recsys.embeddings.steps import track_als
    from recsys.pipeline.build_step import BuiltSpaces, spaces_as_of

    store = SqliteStore(str(tmp_path / "liner.db"))
    tracks = [_track(i) for i in range(48)]
    late = [t.track_id for t in tracks if int(t.track_id[1:]) >= 40]
    events = [
        FeedbackEvent(
            event_id=f"e{u}-{t.track_id}",
            listener_id=f"u{u:02d}",
            track_id=t.track_id,
            at=T0 if t.track_id not in late else datetime(2024, 3, 1, tzinfo=UTC),
        )
        for u in range(24)
        for t in tracks
        if int(t.track_id[1:]) % 4 == u % 4
    ]
    store.ingest(
        IngestBatch(
            artists=[
                Artist(artist_id=f"a{g}", name=f"Artist {g}", rights_holder_id=f"rh{g}")
                for g in range(4)
            ],
            tracks=tracks,
            listeners=[Listener(listener_id=f"u{u:02d}") for u in range(24)],
            events=events,
            consent=[_consent(f"rh{g}", 1) for g in range(4)],
        )
    )
    seen: dict[str, np.ndarray] = {}

    def probe(ctx: Any) -> dict[str, Any]:
        base = BuiltSpaces(
            track_ids=[str(t) for t in ctx.track_ids],
            vectors={s: ctx.load_npy(f"vectors/{s}.npy") for s in ("text", "audio", "collab")},
        )
        cutoff = pd.Timestamp(datetime(2024, 2, 1, tzinfo=UTC))
        before = ctx.events[ctx.events["at"] < cutoff]
        early = spaces_as_of(ctx, base, cutoff)
        rows = [base.track_ids.index(t) for t in late]
        seen["full_als"] = ctx.load_npy("vectors/collab_als.npy")[rows]
        seen["early_als"] = track_als(before, ctx.track_ids, ctx.config.als, seed=0)[0][rows]
        seen["full"], seen["early"] = base.vectors["collab"][rows], early.vectors["collab"][rows]
        assert set(early.indexes) == {"fused"} and len(early.vectors["fused"]) == 48
        return {}

    steps = [s for s in BUILD_STEPS if s.name in EMBEDDING_STEPS]
    _build(
        store,
        tmp_path / "art",
        steps=[*steps, BuildStep(name="probe", run=probe, inputs=lambda _: 1)],
    )
    assert np.any(seen["full_als"], axis=1).all()  # played (late): warm in the served spaces
    assert not np.any(seen["early_als"])  # before the cut-off they had no plays at all
    assert not np.allclose(seen["full"], seen["early"])  # so their training vectors differ
