"""Integrity screens against an adversarial suite of real recordings, and fingerprint scale.

1. Generates the adversarial suite of ``--seed`` (default: the held-out report seed,
   :data:`offline_eval.adversarial.REPORT_SEED`; detectors may be tuned on
   :data:`~offline_eval.adversarial.TUNE_SEED` only) into ``var/adversarial/`` (reused when
   already there: the audio is expensive to make on two shared cores).
2. Ingests it the way a user does, ``liner ingest catalog`` then ``liner ingest uploads``
   (each screens after its commit), into a fresh SQLite store in a temporary folder.
3. Scores what the store decided against ``truth.csv``
   (:func:`offline_eval.adversarial.scoring.score_suite`): ``recall_by_attack``, ``recall``,
   near-duplicate ``precision``, ``genuine_false_quarantine_rate``.
4. Throughput: ``uploads_per_s`` is the uploads batch's size over the time ``liner ingest``
   spent after its commit (screening: decoding, fingerprints, screens, detector, disputes).
   Reference in the same run: decoding the same files alone (``soundfile`` + resampling to
   16 kHz), ``decode_uploads_per_s``; ``vs_decode`` is the ratio of the two rates.
5. Scale: fingerprint match time per upload (a 60 s query, ~5.6k landmarks, as real uploads
   have) against indexes of 100k and 1M tracks built from synthetic fingerprints
   (``recsys.integrity.fingerprint_index``); medians over the queries, half of them planted
   copies (``copies_found`` checks they are found). An indexed track holds
   ``--index-hashes`` landmarks (default 200): a real 3-minute track has ~17k, which at 1M
   tracks (2e10 postings) does not fit this machine's memory, so the index is sparser than
   a real one of that many tracks and the figure is a lower bound (conditions record it).

Example:
    python -m benchmarks.integrity --quick
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.report import parser, write_result
from offline_eval.adversarial import REPORT_SEED, SuiteConfig, generate_suite
from offline_eval.adversarial.scoring import score_suite
from recsys.integrity.evaluation import evaluate_screening, read_truth
from recsys.store import open_store

logger = logging.getLogger(__name__)
VAR = Path(__file__).resolve().parents[1] / "var" / "adversarial"


def _liner(*args: str) -> dict[str, Any]:
    """Run a ``liner`` command in its own process; its last output line is JSON."""
    script = Path(sys.executable).with_name("liner")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "recsys.cli"]
    done = subprocess.run([*command, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        raise RuntimeError(f"liner {' '.join(args)} exited with {done.returncode}:\n{tail}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def ingest_and_screen(folders: list[Path], db: Path) -> list[dict[str, Any]]:
    """``liner ingest --json`` each folder in order; wall time and the command's summary."""
    runs = []
    for folder in folders:
        start = time.perf_counter()
        summary = _liner("ingest", str(folder), "--db", str(db), "--json")
        wall = time.perf_counter() - start
        runs.append(
            {
                "folder": folder.name,
                "tracks": summary["ingested"]["tracks"],
                "wall_s": round(wall, 3),
                "ingest_s": summary["seconds"],
                "screen_s": round(wall - summary["seconds"], 3),
                "screening": summary.get("screening"),
            }
        )
    return runs


def decode_seconds(folder: Path) -> float:
    """Time to decode every audio file of a folder to 16 kHz mono (the reference)."""
    import soundfile as sf
    import soxr

    start = time.perf_counter()
    for path in sorted((folder / "audio").iterdir()):
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
        soxr.resample(data.mean(axis=1), sr, 16_000)
    return time.perf_counter() - start


def synthetic_index(
    n_tracks: int, hashes_per_track: int, planted: list[np.ndarray], seed: int
) -> Any:
    """A fingerprint index of ``n_tracks`` synthetic tracks in CSR form, built without a
    global sort: per-key posting counts from the synthetic hash distribution, random rows and
    times, and the ``planted`` tracks' hashes (rows 0…) placed exactly."""
    from recsys.integrity.fingerprint_index import FingerprintIndex, synthetic_fingerprints

    rng = np.random.default_rng(seed)
    n_keys = 1 << 22
    counts = np.zeros(n_keys, dtype=np.int64)
    chunk = 20_000
    for k, first in enumerate(range(len(planted), n_tracks, chunk)):
        size = min(chunk, n_tracks - first)
        hashes, _ = synthetic_fingerprints(size, hashes_per_track, seed=seed * 1000 + k)
        counts += np.bincount(np.concatenate(hashes), minlength=n_keys)
    flat = np.concatenate(planted)
    counts += np.bincount(flat, minlength=n_keys)
    keys = np.flatnonzero(counts)
    starts = np.concatenate([[0], np.cumsum(counts[keys])]).astype(np.int64)
    total = int(starts[-1])
    rows = rng.integers(len(planted), n_tracks, total, dtype=np.int32)
    times = rng.integers(0, 12_000, total, dtype=np.int32)
    owner = np.repeat(np.arange(len(planted), dtype=np.int32), [p.size for p in planted])
    anchor = np.concatenate([np.arange(p.size, dtype=np.int32) for p in planted])
    order = np.argsort(flat, kind="stable")
    flat, owner, anchor = flat[order], owner[order], anchor[order]
    first_of = np.searchsorted(flat, flat, side="left")
    slot = starts[np.searchsorted(keys, flat)] + (np.arange(flat.size) - first_of)
    rows[slot], times[slot] = owner, anchor
    per_track = np.full(n_tracks, hashes_per_track, dtype=np.int32)
    per_track[: len(planted)] = [p.size for p in planted]
    ids = [f"s{i}" for i in range(n_tracks)]
    return FingerprintIndex(ids, keys.astype(np.uint32), starts, rows, times, per_track)


def match_times(
    n_tracks: int,
    index_hashes: int,
    n_queries: int,
    query_hashes: int,
    budget_s: float = float("inf"),
    seed: int = 0,
) -> dict[str, Any]:
    """Median match time of 60 s queries against a synthetic index of ``n_tracks``.

    Queries alternate between planted copies and unrelated tracks; after ``budget_s`` of
    matching (at least two queries) the rest are skipped and ``queries`` says how many ran.
    """
    from recsys.integrity.fingerprint import Fingerprint
    from recsys.integrity.fingerprint_index import synthetic_fingerprints

    planted_h, planted_t = synthetic_fingerprints(n_queries // 2, query_hashes, seed=seed + 7)
    # Planted tracks' times are their landmark order; the copies keep the same times.
    planted_t = [np.arange(h.size, dtype=np.int32) for h in planted_h]
    start = time.perf_counter()
    index = synthetic_index(n_tracks, index_hashes, planted_h, seed)
    build_s = time.perf_counter() - start
    other_h, other_t = synthetic_fingerprints(n_queries - len(planted_h), query_hashes, seed + 9)
    rng = np.random.default_rng(seed)
    queries: list[tuple[Any, int | None]] = []
    for row, (h, t) in enumerate(zip(planted_h, planted_t, strict=True)):
        keep = rng.random(h.size) < 0.7  # an edited copy keeps most landmarks, shifted
        queries.append((Fingerprint(hashes=h[keep], times=t[keep] + 40, seconds=60.0), row))
        if row < len(other_h):
            other = Fingerprint(hashes=other_h[row], times=other_t[row], seconds=60.0)
            queries.append((other, None))
    elapsed: list[float] = []
    found = tried = 0
    for query, copy_of in queries:
        t0 = time.perf_counter()
        matches = index.match(query, top=5)
        elapsed.append((time.perf_counter() - t0) * 1000)
        if copy_of is not None:
            tried += 1
            found += bool(matches) and matches[0].row == copy_of
        if len(elapsed) >= 2 and sum(elapsed) / 1000 > budget_s:
            break
    return {
        "tracks": n_tracks,
        "postings": index.postings,
        "build_s": round(build_s, 1),
        "match_ms_p50": round(statistics.median(elapsed), 2),
        "match_ms_p90": round(float(np.percentile(elapsed, 90)), 2),
        "queries": len(elapsed),
        "copies_found": f"{found}/{tried}",
    }


def scale_figures(
    sizes: list[int], index_hashes: int, n_queries: int, budget_s: float
) -> dict[str, Any]:
    """Match times per index size, or the reason they could not be measured."""
    try:
        import recsys.integrity.fingerprint_index  # noqa: F401
    except ImportError as exc:
        return {"error": f"no fingerprint index API to measure: {exc}"}
    out: dict[str, Any] = {}
    for n in sizes:
        try:
            out[str(n)] = match_times(n, index_hashes, n_queries, 5_600, budget_s)
        except (MemoryError, AttributeError, TypeError, ValueError) as exc:
            out[str(n)] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--seed", type=int, default=REPORT_SEED, help="suite seed (report split)")
    p.add_argument("--suite-dir", type=Path, default=None, help="where the suite is cached")
    p.add_argument("--index-hashes", type=int, default=200, help="landmarks per indexed track")
    p.add_argument("--queries", type=int, default=20, help="match queries per index size")
    p.add_argument(
        "--scale-budget-s", type=float, default=300.0, help="matching time per index size"
    )
    p.add_argument("--no-scale", action="store_true", help="skip the 100k/1M match timing")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    config = SuiteConfig.quick() if args.quick else SuiteConfig()
    size = "quick" if args.quick else "full"
    suite_dir = args.suite_dir or VAR / f"seed{args.seed}-{size}"
    load_before = os.getloadavg()[0]
    suite = generate_suite(suite_dir, seed=args.seed, config=config)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "liner.db"
        runs = ingest_and_screen(list(suite.folders), db)
        store = open_store(str(db))
        try:
            truth = read_truth(suite.truth)
            scores = score_suite(store, truth)
            screening = evaluate_screening(store, truth)
        finally:
            store.close()
    # The scale part can take long on a loaded host: the suite's figures are on record first.
    logger.warning("suite figures: %s", json.dumps(scores, sort_keys=True))
    uploads = runs[-1]
    decode_s = statistics.median(decode_seconds(suite.folders[-1]) for _ in range(3))
    rate = uploads["tracks"] / uploads["screen_s"] if uploads["screen_s"] > 0 else None
    decode_rate = uploads["tracks"] / decode_s
    scale = (
        {"skipped": "--no-scale"}
        if args.no_scale
        else scale_figures(
            [100_000, 1_000_000], args.index_hashes, args.queries, args.scale_budget_s
        )
    )

    def p50(n: int) -> float | None:
        value: Any = scale.get(str(n), {})
        return value.get("match_ms_p50") if isinstance(value, dict) else None

    write_result(
        "integrity_quick" if args.quick else "integrity",
        {
            "quick": bool(args.quick),
            "seed": args.seed,
            "suite": {
                "tracks": suite.manifest["tracks"],
                "counts": suite.manifest["counts"],
                "sources": len(suite.manifest["sources"]),
                "generated_s": round(suite.seconds, 1),
            },
            **{k: v for k, v in scores.items() if k != "genuine_quarantined_reasons"},
            "genuine_quarantined_reasons": scores["genuine_quarantined_reasons"],
            "by_abuse_kind": screening["by_kind"],
            "ingest_runs": runs,
            "uploads_per_s": None if rate is None else round(rate, 2),
            "decode_uploads_per_s": round(decode_rate, 2),
            "vs_decode": None if rate is None else round(rate / decode_rate, 4),
            "scale": scale,
            "scale_conditions": {
                "index_hashes_per_track": args.index_hashes,
                "query_hashes": 5_600,
                "queries_asked": args.queries,
                "budget_s_per_size": args.scale_budget_s,
                "note": "synthetic fingerprints; sparser than a real catalog of that size",
            },
            "match_ms_p50_100k": p50(100_000),
            "match_ms_p50_1m": p50(1_000_000),
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        },
    )


if __name__ == "__main__":
    main()
