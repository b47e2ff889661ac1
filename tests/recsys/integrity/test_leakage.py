"""No quarantined upload or unconsented imitation reaches a served slate, end to end: demo world
with abuse → ingest → screen → build → ``load_recommender`` → a slate for every listener."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import faiss
import numpy as np
import pandas as pd
import pytest

from recsys.build import build_artifacts
from recsys.demo import DemoConfig, generate_demo, write_folder
from recsys.domain import AiInvolvement, ConsentScope, ConsentState, Provenance, Track
from recsys.ingest import run_ingest
from recsys.integrity.evaluation import read_truth
from recsys.integrity.jobs import run_integrity
from recsys.integrity.leakage import measure_leakage, violates_consent
from recsys.pipeline import PipelineRecommender, RecommendRequest, load_recommender
from recsys.settings import LinerSettings
from recsys.store import QuarantineRecord, SqliteStore


class HashTextModel:
    """A deterministic stand-in for sentence-transformers: hashed bag of words."""

    name = "hash-bow"

    def encode(self, sentences: list[str], **kwargs: Any) -> np.ndarray:
        out = np.zeros((len(sentences), 32), dtype=np.float32)
        for i, s in enumerate(sentences):
            for w in s.lower().split():
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % 32] += 1.0
        return out + 1e-3


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[SqliteStore, PipelineRecommender, pd.DataFrame]:
    faiss.omp_set_num_threads(1)
    root = tmp_path_factory.mktemp("leakage")
    config = DemoConfig(tracks=240, listeners=60, seed=5, audio=False)
    write_folder(generate_demo(config), root / "data")
    store = SqliteStore(root / "liner.db")
    run_ingest(root / "data", store)
    run_integrity(store, data_root=root / "data")
    settings = LinerSettings(db=str(root / "liner.db"), artifacts=root / "artifacts")
    build_artifacts(store, root / "artifacts", settings, text_model=HashTextModel())
    rec = load_recommender(root / "artifacts", store, settings, log_slates=False)
    return store, rec, read_truth(root / "data" / "truth.csv")


def test_no_forbidden_track_in_any_slate(
    served: tuple[SqliteStore, PipelineRecommender, pd.DataFrame],
) -> None:
    store, rec, truth = served
    assert len(store.quarantined_ids()) >= 20  # the screens did quarantine the injected abuse
    report = measure_leakage(rec, store, truth=truth)
    assert report.listeners == 60 and report.slate_items >= 60 * 5
    assert report.leakage == 0 and report.leaked_track_ids == ()
    assert report.uncaught_abusive_served is not None


def test_a_new_quarantine_leaves_the_very_next_slates(
    served: tuple[SqliteStore, PipelineRecommender, pd.DataFrame],
) -> None:
    # The measurement could fail: quarantine the most served track and look again.
    store, rec, _ = served
    before = measure_leakage(rec, store, listener_ids=["nobody"], k=10)
    assert before.leakage == 0
    listeners = [u.listener_id for u in store.iter_listeners()][:20]
    counts: dict[str, int] = {}
    for lid in listeners:
        for item in rec.recommend(RecommendRequest(listener_id=lid)).items:
            counts[item.track.track_id] = counts.get(item.track.track_id, 0) + 1
    top = max(counts, key=lambda t: counts[t])
    store.record_quarantine(
        [
            QuarantineRecord(
                track_id=top,
                quarantined=True,
                reasons=("test",),
                actor="test",
                at=datetime.now(UTC),
            )
        ]
    )
    after = measure_leakage(rec, store, listener_ids=listeners)
    assert after.leakage == 0
    assert top not in {
        item.track.track_id
        for lid in listeners
        for item in rec.recommend(RecommendRequest(listener_id=lid)).items
    }


def test_consent_rule_needs_style_and_voice_for_generated_tracks() -> None:
    holder_of = {"v": "h1"}
    track = Track(
        track_id="t",
        title="x",
        provenance=Provenance(ai_involvement=AiInvolvement.GENERATED, references_artist_ids=("v",)),
    )
    style = ConsentState(granted=frozenset({("h1", ConsentScope.AI_STYLE_REFERENCE)}), version=1)
    both = ConsentState(
        granted=frozenset(
            {("h1", ConsentScope.AI_STYLE_REFERENCE), ("h1", ConsentScope.VOICE_LIKENESS)}
        ),
        version=2,
    )
    assert violates_consent(track, holder_of, style)
    assert not violates_consent(track, holder_of, both)
    assert violates_consent(track, {}, both)  # unknown artist: never consented
