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
5. Scale (:mod:`benchmarks.fingerprint_scale`): fingerprint match time per upload against
   indexes of 100k and 1M tracks: the suite's real originals planted among synthetic filler
   tracks whose hashes follow the originals' distribution; the queries are the suite's real
   edited copies and genuine uploads (medians of repeated queries, recall of the copies,
   peak RSS per size). The 1M size needs several GB: run it under
   ``flock /tmp/liner-big.lock``.

``--demo-seed N`` instead screens the demo world of seed N (``make demo``'s generator, its
short synthesized clips and its own abuse, :mod:`recsys.demo.abuse`) and writes
``integrity_demo``: recall per abuse kind, near-duplicate precision (flags whose upload is a
copy by the truth) and genuine false quarantines. Hand-tuning happens on other seeds.

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

from benchmarks.fingerprint_scale import conditions, saved_scale_figures, scale_figures
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
        load = os.getloadavg()[0]
        start = time.perf_counter()
        summary = _liner("ingest", str(folder), "--db", str(db), "--json")
        wall = time.perf_counter() - start
        runs.append(
            {
                "folder": folder.name,
                "tracks": summary["ingested"]["tracks"],
                "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
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


def demo_world_figures(seed: int, tracks: int, listeners: int) -> dict[str, Any]:
    """Generate the demo world of ``seed``, ingest and screen it, score it by its truth."""
    from recsys.demo import DemoConfig, generate_demo, write_folder
    from recsys.ingest import run_ingest
    from recsys.integrity.audio import store_audio_cache
    from recsys.integrity.jobs import run_integrity
    from recsys.store import SqliteStore

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "world"
        write_folder(generate_demo(DemoConfig(tracks=tracks, listeners=listeners, seed=seed)),
                     folder)  # fmt: skip
        db = folder / "liner.db"
        store = SqliteStore(db)
        try:
            start = time.perf_counter()
            run_ingest(folder, store)
            run = run_integrity(store, audio_cache=store_audio_cache(db))
            seconds = time.perf_counter() - start
            truth = read_truth(folder / "truth.csv")
            screening = evaluate_screening(store, truth)
            quarantined = store.quarantined_ids()
            near: set[str] = set()
            for record in store.quarantine_history():
                if record.quarantined and "near_duplicate" in record.reasons:
                    near.add(record.track_id)
                elif not record.quarantined:
                    near.discard(record.track_id)
            near &= set(quarantined)
            copies = set(truth.index[truth["duplicate_of"].astype(str) != ""])
            genuine = truth.index[truth["abuse_kinds"].astype(str) == ""]
            false_q = sorted(i for i in genuine if i in quarantined)
            disputed = store.disputed_ids()
            honest = truth.index[truth["true_ai_involvement"].astype(str) == "NONE"]
            false_d = sorted(i for i in honest if i in disputed)
        finally:
            store.close()
    return {
        "demo_seed": seed,
        "tracks": tracks,
        "by_abuse_kind": screening["by_kind"],
        "near_duplicate": {
            "copies": len(copies),
            "caught": len(copies & near),
            "recall": round(len(copies & near) / len(copies), 4) if copies else None,
            "flags": len(near),
            "precision": round(len(copies & near) / len(near), 4) if near else None,
            "false_flags": sorted(near - copies),
        },
        "genuine": len(genuine),
        "genuine_quarantined": len(false_q),
        "genuine_false_quarantine_rate": round(len(false_q) / max(1, len(genuine)), 4),
        "human_disputed": len(false_d),
        "human_false_dispute_rate": round(len(false_d) / max(1, len(honest)), 4),
        "audio_check": None if run.audio_check is None else run.audio_check.summary(),
        "near_duplicate_calibration": None
        if run.near_duplicate is None
        else run.near_duplicate.summary(),
        "screen_s": round(seconds, 1),
    }


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--seed", type=int, default=REPORT_SEED, help="suite seed (report split)")
    p.add_argument("--suite-dir", type=Path, default=None, help="where the suite is cached")
    p.add_argument("--index-hashes", type=int, default=256, help="landmarks per filler track")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats per match query")
    p.add_argument("--no-scale", action="store_true", help="skip the 100k/1M match timing")
    p.add_argument("--demo-seed", type=int, default=None, help="screen this demo world instead")
    p.add_argument("--demo-tracks", type=int, default=1500, help="demo world size")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.demo_seed is not None:
        figures = demo_world_figures(args.demo_seed, args.demo_tracks, 400)
        write_result("integrity_demo", figures)
        return
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
        saved_scale_figures([100_000, 1_000_000])
        if args.no_scale
        else scale_figures(
            [100_000, 1_000_000], suite_dir, args.index_hashes, args.repeats, seed=args.seed
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
            "uploads_per_s_conditions": {
                "load_average": uploads["load_average"],
                "cpus": os.cpu_count(),
                "what": "the uploads batch over the time liner ingest spent after its commit "
                "(decoding, fingerprints forwards and backwards, every screen, detector, "
                "disputes), one liner process using every core",
            },
            "decode_uploads_per_s": round(decode_rate, 2),
            "vs_decode": None if rate is None else round(rate / decode_rate, 4),
            "scale": scale,
            "scale_conditions": conditions(args.index_hashes, args.repeats, suite_dir),
            "match_ms_p50_100k": p50(100_000),
            "match_ms_p50_1m": p50(1_000_000),
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        },
    )


if __name__ == "__main__":
    main()
