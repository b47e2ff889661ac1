"""Scoring against truth.csv: figures for any truth file, including ones where every item
declared its AI involvement (the adversarial suites)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from recsys.domain import AiInvolvement, Artist, Credit, Provenance, Track
from recsys.integrity.evaluation import evaluate_detection, read_truth
from recsys.store import IngestBatch, SqliteStore


def _truth(tmp_path: Path, declared: list[str]) -> pd.DataFrame:
    rows = pd.DataFrame(
        {
            "item_id": [f"t{i}" for i in range(len(declared))],
            "declared_ai_involvement": declared,
            "undeclared_ai": ["false"] * len(declared),
            "abuse_kinds": [""] * len(declared),
        }
    )
    rows.to_csv(tmp_path / "truth.csv", index=False)
    return read_truth(tmp_path / "truth.csv")


def test_detection_without_undisclosed_rows_scores_an_empty_set(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "liner.db")
    try:
        store.ingest(
            IngestBatch(
                artists=[Artist(artist_id="a", name="A", rights_holder_id="a")],
                tracks=[
                    Track(
                        track_id=f"t{i}",
                        title="x",
                        credits=(Credit(artist_id="a", share=1.0),),
                        provenance=Provenance(ai_involvement=AiInvolvement.NONE),
                    )
                    for i in range(3)
                ],
                listeners=[],
                consent=[],
                event_frame=None,
            )
        )
        truth = _truth(tmp_path, ["NONE", "NONE", "GENERATED"])
        result = evaluate_detection(store, truth, probabilities={"t0": 0.2})
    finally:
        store.close()
    assert result["undeclared_tracks"] == 0
    assert result["detected"] == 0
    assert result["true_positives"] == 0
