"""A small valid data folder, built in the test, that malformed variants start from."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def valid_tables() -> dict[str, pd.DataFrame]:
    """Three artists, four tracks, three listeners, eight events, three ledger entries."""
    return {
        "artists": pd.DataFrame(
            {
                "artist_id": ["a1", "a2", "a3"],
                "name": ["Ada Lark", "Synth Persona", "Cal Moss"],
                "kind": ["human", "ai_persona", "human"],
                "verified": ["true", "false", "1"],
                "rights_holder_id": ["label1", "a2", ""],
            }
        ),
        "items": pd.DataFrame(
            {
                "item_id": ["t1", "t2", "t3", "t4"],
                "title": ["Morning", "Neon Copy", "Duet", "Quiet"],
                "artist_ids": ["a1", "a2", "a1|a3", "a3"],
                "genre": ["folk", "pop", "folk", "jazz"],
                "tags": ["calm|acoustic", "", "duet", "night"],
                "duration_ms": ["200000", "180000", "", "240000"],
                "release_date": ["2020-01-02", "2024", "2021-06", ""],
                "ai_involvement": ["NONE", "GENERATED", "none", ""],
                "ai_parts": ["", "vocals|composition", "", ""],
                "references_artist_ids": ["", "a1", "", ""],
                "audio_tempo": ["120.5", "", "90", ""],
                "uploaded_at": ["2024-01-01T00:00:00Z", "1704067200", "", "2024-01-03 10:00"],
            }
        ),
        "credits": pd.DataFrame(
            {
                "item_id": ["t1", "t2", "t3", "t3", "t4"],
                "artist_id": ["a1", "a2", "a1", "a3", "a3"],
                "role": ["primary", "primary", "primary", "featured", "primary"],
                "share": ["1", "1", "0.7", "0.3", "1.0"],
            }
        ),
        "listeners": pd.DataFrame(
            {
                "user_id": ["u1", "u2", "u3"],
                "ai_preference": ["allow", "opt_out", ""],
                "blocked_artist_ids": ["", "a2", ""],
            }
        ),
        "interactions": pd.DataFrame(
            {
                "user_id": ["u1", "u1", "u2", "u2", "u3", "u3", "u3", "u1"],
                "item_id": ["t1", "t2", "t1", "t3", "t4", "t4", "t4", "t3"],
                "timestamp": [
                    "2024-02-01T10:00:00Z", "2024-02-01T10:05:00Z", "1706781600",
                    "2024-02-02T11:00:00", "2024-02-03T12:00:00Z", "2024-02-03T12:00:00Z",
                    "2024-02-03T12:10:00Z", "2024-02-04T09:00:00+01:00",
                ],
                "event_type": ["play", "skip", "like", "play", "play", "play", "save", "dislike"],
                "ms_played": ["180000", "5000", "", "", "240000", "240000", "", ""],
            }
        ),
        "consent": pd.DataFrame(
            {
                "entry_id": ["c1", "c2", "c3"],
                "rights_holder_id": ["label1", "label1", "a3"],
                "scope": ["ai_style_reference", "voice_likeness", "ai_training"],
                "action": ["grant", "grant", "grant"],
                "actor": ["label1", "label1", "a3"],
                "reason": ["deal", "deal", ""],
                "timestamp": ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "2024-01-05"],
            }
        ),
    }  # fmt: skip


def write_folder(folder: Path, tables: dict[str, pd.DataFrame], *, parquet: bool = False) -> Path:
    """Write tables as CSV (or Parquet) files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if parquet:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        else:
            frame.to_csv(folder / f"{name}.csv", index=False)
    return folder
