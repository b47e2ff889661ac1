"""Fingerprint match time and recall against 100k and 1M indexed tracks.

The index holds the adversarial suite's **real** originals (its ``catalog`` folder,
fingerprinted from the audio) among synthetic filler tracks; the queries are the suite's
**real** uploads: every edited copy of an original (trims, offsets, gain, EQ, noise, pitch,
speed, stretch, MP3, 30 s excerpts, combinations) and every genuine newcomer's track (music
that is in no original). Figures:

- ``match_ms_p50`` / ``_p90``: per query, the median of ``--repeats`` timed calls of
  :func:`recsys.integrity.neardup.match_upload`, what the screen spends per upload: the
  match played forwards **and backwards** (reversed copies), wall clock; then the median
  and 90th percentile over queries. ``match_cpu_ms_p50``: the same in the process's CPU
  time (what a loaded shared host inflates less). ``forward_only_ms_p50``: the forward
  match alone, so ``reversed_share`` is what the backwards match adds. ``matches_per_s`` is
  1000 / p50 (one core); ``load_average`` is the host's 1-minute load before and after the
  queries.
- ``copies_found``: copies whose best match is their original with a score at or above
  :data:`recsys.integrity.neardup.DEFAULT_THRESHOLD` (recall at that scale);
  ``genuine_matched``: genuine tracks with any match at or above it (false matches).
- ``build_s``, ``build_peak_rss_mb``: building the index into memory-mapped files (a counting
  sort by hash, two passes over the tracks; no global sort); ``query_peak_rss_mb``: a fresh
  process that memory-maps the saved index and runs every query. Each size runs in its own
  processes so peak RSS is per size.

**Synthetic filler.** Each filler track's hashes are drawn from the empirical distribution of
the real originals' hashes (so posting lists are as skewed as real music makes them), with
anchor times spread over three minutes; a track holds ``--index-hashes`` landmarks (default
256). A real 3-minute track has ~17k landmarks: a 1M-track index at that density (1.7e10
postings, ~270 GB) does not fit this machine, so the filler is a sparse sample of a real
track's landmarks, and posting lists (the cost of a match) are ~66x shorter than a real
catalog of the same size would have (``mean_postings_per_key`` records them).

Example:
    python -m benchmarks.fingerprint_scale --sizes 100000
    flock /tmp/liner-big.lock python -m benchmarks.fingerprint_scale --sizes 1000000
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.report import write_result

VAR = Path(__file__).resolve().parents[1] / "var" / "adversarial"
CHUNK = 20_000  # filler tracks made per chunk while building


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def suite_fingerprints(suite_dir: Path) -> dict[str, Any]:
    """The suite's originals, copies and genuine uploads, fingerprinted (cached in
    ``suite_dir/fingerprints``): ``originals`` (id, hashes, times), ``copies`` (query
    index, original id, edits), ``genuine`` (query index)."""
    from recsys.domain import Track
    from recsys.integrity.fingerprint_cache import fingerprint_tracks

    truth = {r["item_id"]: r for r in csv.DictReader((suite_dir / "truth.csv").open())}
    tracks: list[Track] = []
    batch: dict[str, str] = {}
    for folder in ("catalog", "uploads"):
        for row in csv.DictReader((suite_dir / folder / "items.csv").open()):
            path = suite_dir / folder / row["audio_path"]
            tracks.append(Track(track_id=row["item_id"], title=row["title"], audio_path=str(path)))
            batch[row["item_id"]] = folder
    found = fingerprint_tracks(tracks, None, suite_dir / "fingerprints")
    fps = {t.track_id: f for t, f in zip(tracks, found.fingerprints, strict=True)}
    originals = [t for t in fps if batch[t] == "catalog" and fps[t] is not None]
    copies, genuine = [], []
    for tid, row in truth.items():
        fp = fps.get(tid)
        if fp is None or batch.get(tid) != "uploads" or row.get("machine_audio") == "true":
            continue
        if row["duplicate_of"] in originals and row["edits"]:
            copies.append((tid, row["duplicate_of"], row["edits"]))
        elif not row["duplicate_of"] and row["organic"] == "true":
            genuine.append(tid)
    return {"fps": fps, "originals": originals, "copies": copies, "genuine": genuine}


def _filler(
    n_filler: int, per_track: int, pool: np.ndarray, seed: int
) -> Iterator[tuple[list[np.ndarray], list[np.ndarray]]]:
    from recsys.integrity.fingerprint_index import synthetic_fingerprints

    for k, first in enumerate(range(0, n_filler, CHUNK)):
        size = min(CHUNK, n_filler - first)
        yield synthetic_fingerprints(size, per_track, seed=seed * 100_003 + k, pool=pool)


def build(n_tracks: int, per_track: int, suite_dir: Path, folder: Path, seed: int) -> None:
    """Build the index of the suite's originals (rows 0…) and synthetic filler into
    ``folder``; print the build figures as JSON."""
    from recsys.integrity.fingerprint_index import FingerprintIndex

    data = suite_fingerprints(suite_dir)
    fps = data["fps"]
    originals = data["originals"]
    pool = np.concatenate([fps[t].hashes for t in originals])
    n_filler = n_tracks - len(originals)
    ids = [*originals, *(f"s{i}" for i in range(n_filler))]

    def chunks() -> Iterator[tuple[list[np.ndarray], list[np.ndarray]]]:
        yield [fps[t].hashes for t in originals], [fps[t].times for t in originals]
        yield from _filler(n_filler, per_track, pool, seed)

    start = time.perf_counter()
    index = FingerprintIndex.from_chunks(ids, chunks, folder=folder)
    figures = {
        "build_s": round(time.perf_counter() - start, 1),
        "postings": index.postings,
        "keys": int(index.keys.size),
        "mean_postings_per_key": round(index.postings / max(1, index.keys.size), 1),
        "build_peak_rss_mb": _peak_rss_mb(),
    }
    print(json.dumps(figures))


def query(folder: Path, suite_dir: Path, repeats: int, max_queries: int) -> None:
    """Time every real query against the memory-mapped index in ``folder``; print JSON."""
    from recsys.integrity.fingerprint_index import FingerprintIndex
    from recsys.integrity.neardup import DEFAULT_THRESHOLD, MATCHES_PER_TRACK, match_upload

    index = FingerprintIndex.load(folder)
    data = suite_fingerprints(suite_dir)
    fps = data["fps"]
    row_of = {t: i for i, t in enumerate(index.track_ids[: len(data["originals"])])}
    plan: list[tuple[str, str | None, str]] = [(c, o, e) for c, o, e in data["copies"]]
    plan += [(g, None, "") for g in data["genuine"]]
    plan = plan[:max_queries] if max_queries else plan
    per_query: list[float] = []
    per_query_cpu: list[float] = []
    found: list[str] = []
    missed: list[dict[str, Any]] = []
    genuine_hits: list[float] = []
    excerpt_scores: list[float] = []
    forward_ms: list[float] = []
    load_before = os.getloadavg()[0]
    for tid, original, edits in plan:
        times, cpu, fwd = [], [], []
        for _ in range(repeats):
            # What the screen spends per upload: the match played forwards and backwards.
            t0, c0 = time.perf_counter(), time.process_time()
            matches, _ = match_upload(index, fps[tid])
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            t0 = time.perf_counter()
            index.match(fps[tid], top=MATCHES_PER_TRACK)
            fwd.append((time.perf_counter() - t0) * 1000)
        per_query.append(statistics.median(times))
        per_query_cpu.append(statistics.median(cpu))
        forward_ms.append(statistics.median(fwd))
        best = matches[0] if matches else None
        if original is None:
            genuine_hits.append(best.score if best else 0.0)
            continue
        ok = best is not None and best.row == row_of[original] and best.score >= DEFAULT_THRESHOLD
        if "excerpt" in edits and best is not None and best.row == row_of[original]:
            excerpt_scores.append(best.score)
        if ok:
            found.append(tid)
        else:
            missed.append(
                {
                    "query": tid,
                    "edits": edits,
                    "best": None if best is None else [best.track_id, round(best.score, 3)],
                }
            )
    n_copies = sum(o is not None for _, o, _ in plan)
    print(
        json.dumps(
            {
                "queries": len(plan),
                "repeats": repeats,
                "match_ms_p50": round(statistics.median(per_query), 2),
                "match_ms_p90": round(float(np.percentile(per_query, 90)), 2),
                "match_cpu_ms_p50": round(statistics.median(per_query_cpu), 2),
                "forward_only_ms_p50": round(statistics.median(forward_ms), 2),
                "reversed_share": round(
                    1 - statistics.median(forward_ms) / statistics.median(per_query), 3
                ),
                "matches_per_s": round(1000 / statistics.median(per_query), 2),
                "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                "copies_found": f"{len(found)}/{n_copies}",
                "copy_recall": round(len(found) / max(1, n_copies), 4),
                "missed": missed,
                "excerpt_scores": [round(s, 3) for s in excerpt_scores],
                "genuine_matched": (
                    f"{sum(s >= DEFAULT_THRESHOLD for s in genuine_hits)}/{len(genuine_hits)}"
                ),
                "genuine_best_score_max": round(max(genuine_hits, default=0.0), 3),
                "threshold": DEFAULT_THRESHOLD,
                "query_peak_rss_mb": _peak_rss_mb(),
            }
        )
    )


def _child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.fingerprint_scale", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-6:])
        return {"error": f"exited with {done.returncode}: {tail}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(
    n_tracks: int, per_track: int, suite_dir: Path, repeats: int, max_queries: int, seed: int
) -> dict[str, Any]:
    """Build then query an index of ``n_tracks``, each in its own process."""
    with tempfile.TemporaryDirectory(prefix="liner-fp-scale-") as tmp:
        folder = Path(tmp) / "index"
        common = ["--suite-dir", str(suite_dir), "--folder", str(folder)]
        built = _child("--build", str(n_tracks), "--index-hashes", str(per_track),
                       "--seed", str(seed), *common)  # fmt: skip
        if "error" in built:
            return {"tracks": n_tracks, **built}
        asked = _child("--query", "--repeats", str(repeats), "--max-queries",
                       str(max_queries), *common)  # fmt: skip
    return {"tracks": n_tracks, **built, **asked}


def scale_figures(
    sizes: list[int],
    suite_dir: Path,
    per_track: int = 256,
    repeats: int = 3,
    max_queries: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    """Figures per index size (the entry point :mod:`benchmarks.integrity` calls)."""
    return {str(n): measure(n, per_track, suite_dir, repeats, max_queries, seed) for n in sizes}


def saved_scale_figures(sizes: list[int]) -> dict[str, Any]:
    """The last saved figures per size (``results/fingerprint_scale_<n>k.json``), for a run
    that skips the scale part; each says which file and date it comes from."""
    from benchmarks.report import RESULTS_DIR

    out: dict[str, Any] = {"skipped": "--no-scale: figures from the last scale run"}
    for n in sizes:
        path = RESULTS_DIR / f"fingerprint_scale_{n // 1000}k.json"
        try:
            saved = json.loads(path.read_text())
            figures = saved["scale"][str(n)]
        except (OSError, ValueError, KeyError):
            continue
        out[str(n)] = {**figures, "from": path.name, "date": saved["machine"]["date"]}
    return out


def conditions(per_track: int, repeats: int, suite_dir: Path) -> dict[str, Any]:
    return {
        "index_hashes_per_track": per_track,
        "filler": "hashes drawn from the real originals' hash distribution, times over 3 min",
        "planted": "the suite's real originals; queries are its real edited copies and "
        "genuine uploads",
        "suite": str(suite_dir),
        "repeats_per_query": repeats,
        "note": "a real 3-minute track has ~17k landmarks: posting lists here are ~66x "
        "shorter than a real catalog of the same size",
    }


def main() -> None:
    from offline_eval.adversarial import REPORT_SEED, SuiteConfig, generate_suite

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--seed", type=int, default=REPORT_SEED, help="adversarial suite seed")
    p.add_argument("--suite-dir", type=Path, default=None)
    p.add_argument("--index-hashes", type=int, default=256, help="landmarks per filler track")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--max-queries", type=int, default=0, help="0: every copy and genuine")
    p.add_argument("--build", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--query", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--folder", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    suite_dir = args.suite_dir or VAR / f"seed{args.seed}-quick"
    if args.build:
        build(args.build, args.index_hashes, suite_dir, args.folder, args.seed)
        return
    if args.query:
        query(args.folder, suite_dir, args.repeats, args.max_queries)
        return
    if not (suite_dir / "truth.csv").exists():
        generate_suite(suite_dir, seed=args.seed, config=SuiteConfig.quick())
    figures = scale_figures(
        args.sizes, suite_dir, args.index_hashes, args.repeats, args.max_queries, args.seed
    )
    name = "fingerprint_scale" + "".join(f"_{n // 1000}k" for n in args.sizes)
    write_result(
        name,
        {"scale": figures, "conditions": conditions(args.index_hashes, args.repeats, suite_dir)},
    )


if __name__ == "__main__":
    main()
