"""Ingest throughput: rows per second of `run_ingest` on a synthetic data folder.

Generates a folder with 1M interaction rows (``--quick``: 100k) over 10k tracks, 1k artists
and 20k listeners as CSV, then times ``run_ingest`` into a fresh SQLite store (read, validate,
content-hash event ids, write in one durable transaction). ``rows_per_s`` counts interaction
rows. The reference, timed in the same run on the same file, is plain pandas:
``pandas.read_csv`` then ``DataFrame.to_sql`` (executemany) into a fresh SQLite file with the
same PRAGMAs (WAL, synchronous=FULL) and the same (listener_id, at) index, one transaction, no
validation and no event ids. ``vs_reference`` is our rate divided by the reference rate.

Example:
    python -m benchmarks.ingest --quick
"""

from __future__ import annotations

import logging
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.report import parser, write_result
from recsys.ingest import run_ingest
from recsys.store import SqliteStore


def make_folder(folder: Path, n_rows: int, seed: int = 0) -> None:
    """Write items, artists and interactions CSV files."""
    rng = np.random.default_rng(seed)
    n_tracks, n_artists, n_users = 10_000, 1_000, 20_000
    artists = pd.DataFrame(
        {
            "artist_id": [f"a{i}" for i in range(n_artists)],
            "name": [f"Artist {i}" for i in range(n_artists)],
            "kind": rng.choice(["human", "ai_persona", "unknown"], n_artists),
        }
    )
    items = pd.DataFrame(
        {
            "item_id": [f"t{i}" for i in range(n_tracks)],
            "title": [f"Track {i}" for i in range(n_tracks)],
            "artist_ids": [f"a{i % n_artists}" for i in range(n_tracks)],
            "genre": rng.choice(["rock", "pop", "jazz", "folk"], n_tracks),
            "tags": "calm|night",
            "duration_ms": rng.integers(60_000, 400_000, n_tracks),
            "ai_involvement": rng.choice(["NONE", "ASSISTED", "GENERATED"], n_tracks),
        }
    )
    start = pd.Timestamp("2024-01-01", tz="UTC").value // 1000
    at = start + rng.integers(0, 365 * 86_400 * 1_000_000, n_rows)
    interactions = pd.DataFrame(
        {
            "user_id": np.char.add("u", rng.integers(0, n_users, n_rows).astype(str)),
            "item_id": np.char.add("t", (rng.zipf(1.3, n_rows) % n_tracks).astype(str)),
            "timestamp": pd.to_datetime(at, unit="us", utc=True).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "event_type": rng.choice(
                ["play", "skip", "like", "save"], n_rows, p=[0.7, 0.2, 0.05, 0.05]
            ),
            "ms_played": rng.integers(0, 300_000, n_rows),
        }
    )
    artists.to_csv(folder / "artists.csv", index=False)
    items.to_csv(folder / "items.csv", index=False)
    interactions.to_csv(folder / "interactions.csv", index=False)


def time_ours(folder: Path, work: Path, run: int) -> float:
    store = SqliteStore(work / f"ours{run}.db")
    try:
        start = time.perf_counter()
        run_ingest(folder, store)
        return time.perf_counter() - start
    finally:
        store.close()


def time_reference(folder: Path, work: Path, run: int) -> float:
    # Default isolation: sqlite3 opens one transaction that pandas commits after the insert.
    conn = sqlite3.connect(work / f"reference{run}.db")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(
        "CREATE TABLE interactions (user_id TEXT, item_id TEXT, timestamp TEXT, "
        "event_type TEXT, ms_played INTEGER)"
    )
    conn.execute("CREATE INDEX reference_user_at ON interactions(user_id, timestamp)")
    try:
        start = time.perf_counter()
        frame = pd.read_csv(folder / "interactions.csv")
        frame.to_sql("interactions", conn, if_exists="append", index=False)
        conn.commit()
        return time.perf_counter() - start
    finally:
        conn.close()


def main() -> None:
    args = parser(__doc__ or "").parse_args()
    logging.basicConfig(level=logging.WARNING)
    n_rows = 100_000 if args.quick else 1_000_000
    runs = 3 if args.quick else 1
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = work / "data"
        folder.mkdir()
        make_folder(folder, n_rows)
        ours = [time_ours(folder, work, r) for r in range(runs)]
        reference = [time_reference(folder, work, r) for r in range(runs)]
    ours_s, ref_s = statistics.median(ours), statistics.median(reference)
    write_result(
        "ingest",
        {
            "n_rows": n_rows,
            "runs": runs,
            "format": "csv",
            "rows_per_s": round(n_rows / ours_s),
            "seconds": round(ours_s, 3),
            "reference": "pandas.read_csv + DataFrame.to_sql into SQLite (WAL, synchronous=FULL, "
            "same index), no validation",
            "reference_rows_per_s": round(n_rows / ref_s),
            "vs_reference": round(ref_s / ours_s, 3),
            "quick": bool(args.quick),
        },
    )


if __name__ == "__main__":
    main()
