"""CPU per request of one source tree against another, with their slates compared.

Serves the synthetic world of ``benchmarks.service`` (the same world, indexes and neighbour
table, reused from ``--world-cache``) in process with the search cache off, so every call is
cold: 200 plain requests, 50 with two seed tracks and 50 with a query, three passes (with
``--sessions``: ``benchmarks.service``'s session pattern over 300 listeners, each asking two
to four times, with the exact caches on and emptied before each pass). Reports the
thread CPU time per call (median; ``time.thread_time``, which preemptions on a shared host do
not inflate) and the wall-clock stages, and writes every slate of the first pass (track ids,
scores as ``repr``, reasons, sources) to ``--out``. With ``--against`` an earlier run's file
(typically the previous code, run from another checkout) is compared: the CPU ratio and how
many slates are identical.

Run the two trees alternately, in separate processes, with ``PYTHONHASHSEED=0`` (the
synthetic world's query vectors come from ``hash()``):

    PYTHONHASHSEED=0 PYTHONPATH=/tmp/old python -m benchmarks.request_ab \\
        --tracks 100000 --world-cache var/bench-world --out /tmp/old.json
    PYTHONHASHSEED=0 python -m benchmarks.request_ab --tracks 100000 \\
        --world-cache var/bench-world --out /tmp/new.json --against /tmp/old.json
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.service import (
    BENCH_PARAMS,
    SESSION_CACHE_ENTRIES,
    session_listeners,
    set_cache,
    synthetic_pipeline,
)
from recsys.pipeline.api import RecommendRequest

PASSES = 3


def requests(n: int) -> list[RecommendRequest]:
    """200 plain requests, 50 with two seed tracks, 50 with a free-text query."""
    out = [RecommendRequest(listener_id=f"u{i}", k=10, params=BENCH_PARAMS) for i in range(200)]
    out += [
        RecommendRequest(
            listener_id=f"u{200 + i}",
            k=10,
            params=BENCH_PARAMS,
            context_track_ids=(f"t{(i * 7919) % n}", f"t{(i * 104729) % n}"),
        )
        for i in range(50)
    ]
    out += [
        RecommendRequest(
            listener_id=f"u{250 + i}", k=10, params=BENCH_PARAMS, query=f"night jazz {i}"
        )
        for i in range(50)
    ]
    return out


def session_requests() -> list[RecommendRequest]:
    """``benchmarks.service``'s session pattern over its first 300 listeners: each asks two
    to four times within a window of 20 listeners (plain requests)."""
    return [
        RecommendRequest(listener_id=u, k=10, params=BENCH_PARAMS) for u in session_listeners(300)
    ]


def measure(n: int, cache_dir: Path | None, sessions: bool = False) -> dict[str, Any]:
    """CPU per call, stages and the first pass's slates of this tree's pipeline (with
    ``sessions``: the session pattern with the exact caches on, emptied before each pass)."""
    t = time.perf_counter()
    rec = synthetic_pipeline(n, cache_dir=cache_dir)
    setup_s = time.perf_counter() - t
    set_cache(rec, 0)
    reqs = session_requests() if sessions else requests(n)
    for r in reqs[:30]:  # warm-up: compilation, first touches
        rec.recommend(r)
    cpu: list[float] = []
    stages: dict[str, list[float]] = {}
    slates = []
    for p in range(PASSES):
        set_cache(rec, SESSION_CACHE_ENTRIES if sessions else 0)  # (empty)
        for r in reqs:
            start = time.thread_time()
            res = rec.recommend(r)
            cpu.append((time.thread_time() - start) * 1000.0)
            for s, v in res.stage_ms.items():
                stages.setdefault(s, []).append(v)
            if p == 0:
                slates.append(
                    [
                        [it.track.track_id, repr(it.score), list(it.reasons), list(it.sources)]
                        for it in res.items
                    ]
                )
    return {
        "n_tracks": n,
        "setup_s": round(setup_s, 1),
        "requests": len(reqs),
        "passes": PASSES,
        "sessions": sessions,
        "cpu_ms_p50": round(float(np.median(cpu)), 3),
        "cpu_ms_mean": round(float(np.mean(cpu)), 3),
        "stages_ms_p50": {s: round(float(np.median(v)), 3) for s, v in stages.items()},
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python_path": os.environ.get("PYTHONPATH", ""),
        "slates": slates,
    }


def compare(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """The CPU ratio new / old and how many slates are the same."""
    pairs = list(zip(new["slates"], old["slates"], strict=True))
    return {
        "cpu_ms_p50_old": old["cpu_ms_p50"],
        "cpu_ms_p50_new": new["cpu_ms_p50"],
        "cpu_ratio": round(new["cpu_ms_p50"] / old["cpu_ms_p50"], 3),
        "cpu_ratio_mean": round(new["cpu_ms_mean"] / old["cpu_ms_mean"], 3)
        if "cpu_ms_mean" in old
        else None,
        "slates_identical": sum(a == b for a, b in pairs),
        "slates_same_items": sum([i[0] for i in a] == [i[0] for i in b] for a, b in pairs),
        "slates_compared": len(pairs),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--tracks", type=int, default=100_000, help="catalog size")
    p.add_argument("--world-cache", default=None, help="benchmarks.service's world cache dir")
    p.add_argument("--out", required=True, help="where this run's figures and slates go")
    p.add_argument("--against", default=None, help="an earlier run's --out to compare with")
    p.add_argument(
        "--sessions",
        action="store_true",
        help="the session pattern (listeners asking 2-4 times) with the exact caches on",
    )
    args = p.parse_args()
    if os.environ.get("PYTHONHASHSEED") != "0":
        sys.exit("set PYTHONHASHSEED=0: the query requests' vectors come from hash()")
    figures = measure(
        args.tracks, Path(args.world_cache) if args.world_cache else None, args.sessions
    )
    if args.against:
        figures["comparison"] = compare(figures, json.loads(Path(args.against).read_text()))
    Path(args.out).write_text(json.dumps(figures) + "\n")
    print(json.dumps({k: v for k, v in figures.items() if k != "slates"}, sort_keys=True))


if __name__ == "__main__":
    main()
