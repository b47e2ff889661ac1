"""`liner build` locally and with `--ray` on one synthetic catalog: the overhead of Ray.

On this 2-core machine the point is overhead and correctness, not speed-up. Two measurements,
both in one run:

* ``steps``: a store of ``--tracks`` synthetic tracks (100k; ``--quick`` 10k), then the build's
  ``catalog`` and ``text`` steps with a cheap deterministic text model (hashed words, 64-d: the
  per-track work is tiny, so the ratio is an upper bound of Ray's overhead), once locally (in
  this process, as `liner build`) and once as Ray tasks over partitions of 256 tracks on a local
  Ray cluster (head on loopback, 2 CPUs), which includes starting the cluster. The two
  ``vectors/text.npy`` must be equal.
* ``model``: ``--model-texts`` texts (2,000) through the real text model as the build's text
  step runs a named model (``embed_bulk_chunk`` in ``bulk_precision()``, partitions written to
  part files), three ways: in one process, one single-threaded process per CPU, Ray tasks on a
  local cluster of 2 CPUs (each worker loads the model once): the ratio where the work
  dominates.

* ``full`` (``--full SIZE ...``, e.g. ``--full 100000``): per catalog size, in a fresh process,
  a synthetic store (ingested, or reused from ``--store-dir``), then ``liner build``'s steps
  (all, or ``--steps``) with the cheap text model, locally and on a local Ray cluster
  (2 CPUs, its start included): each step's wall and CPU seconds and the build process's RSS
  before it and peak during it (``VmHWM`` reset per step; Ray workers not included), the
  overhead ratio, and whether the text, fused and mask arrays are equal. With
  ``--model-texts`` the ``model`` figures follow. Writes ``results/build_full_<sizes>.json``.

* ``memory`` (``--memory``, alone): peak RSS of a build process at two catalog sizes
  (``--memory-sizes``, default 100k and 500k tracks) embedding every track's text with the cheap
  model by partitions of 256 and building the compressed index from the vectors, two ways:
  ``gathered`` (every partition's rows returned to the process, as ``parallel_map`` does,
  then one array and ``FaissIndex.build``) and ``on_disk`` (each partition written to its own
  ``.npy``, merged by streaming, ``FaissIndex.build_streamed`` reading blocks:
  ``recsys.parallel.map_rows_to_npy``). Each size and way runs in a fresh process; the peak
  is reported after the map (``map_peak_mb``) and at the end (``peak_mb``).

Figures: wall seconds, ``ray_over_local`` ratios, tracks per second, peak RSS of this process,
and the per-track costs the extrapolation in benchmarks/README.md uses. Run it under the big
lock: ``flock /tmp/liner-big.lock python -m benchmarks.build_scale``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.report import parser, write_result
from recsys.build import build_artifacts, default_steps
from recsys.ingest import run_ingest
from recsys.settings import LinerSettings
from recsys.store import SqliteStore

GENRES = ("pop", "rock", "jazz", "folk", "ambient", "hip-hop", "electronic", "classical")
TAGS = ("calm", "night", "dance", "sad", "bright", "dark", "live", "lofi", "epic", "warm")


class HashedWords:
    """A cheap, deterministic stand-in text model (hashed bag of words, 64-d)."""

    name = "hashed-words-64"

    def encode(self, sentences: list[str], **_: Any) -> np.ndarray:
        out = np.zeros((len(sentences), 64), dtype=np.float32)
        for i, s in enumerate(sentences):
            for w in s.lower().split():
                out[i, int(hashlib.blake2b(w.encode(), digest_size=4).hexdigest(), 16) % 64] += 1
        return out + 1e-3


def make_folder(folder: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    n_artists = max(10, n // 10)
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "artist_id": [f"a{i}" for i in range(n_artists)],
            "name": [f"Artist {i}" for i in range(n_artists)],
            "kind": "human",
        }
    ).to_csv(folder / "artists.csv", index=False)
    tags = rng.choice(TAGS, (n, 2))
    pd.DataFrame(
        {
            "item_id": [f"t{i}" for i in range(n)],
            "title": [f"Song {i} of {rng.integers(1_000_000)}" for i in range(n)],
            "artist_ids": [f"a{i % n_artists}" for i in range(n)],
            "genre": rng.choice(GENRES, n),
            "tags": [f"{a}|{b}" for a, b in tags],
            "duration_ms": rng.integers(60_000, 400_000, n),
            "ai_involvement": "NONE",
        }
    ).to_csv(folder / "items.csv", index=False)
    m = 5 * n
    pd.DataFrame(
        {
            "user_id": np.char.add("u", rng.integers(0, max(10, n // 20), m).astype(str)),
            "item_id": np.char.add("t", rng.integers(0, n, m).astype(str)),
            "timestamp": "2026-01-01T00:00:00Z",
            "event_type": "play",
        }
    ).to_csv(folder / "interactions.csv", index=False)


def _steps() -> list[Any]:
    return [s for s in default_steps() if s.name in ("catalog", "text")]


def time_steps(store: SqliteStore, work: Path, settings: LinerSettings) -> dict[str, Any]:
    from recsys.distributed import RayBackend

    model = HashedWords()
    start = time.perf_counter()
    build_artifacts(store, work / "local", settings, steps=_steps(), text_model=model)
    local = time.perf_counter() - start
    start = time.perf_counter()
    with RayBackend(None, num_cpus=2) as backend:
        started = time.perf_counter() - start
        build_artifacts(
            store, work / "ray", settings, steps=_steps(), text_model=model, backend=backend
        )
        report = list(backend.report)
    ray = time.perf_counter() - start
    a = np.load(work / "local/vectors/text.npy")
    b = np.load(work / "ray/vectors/text.npy")
    return {
        "local_s": round(local, 2),
        "ray_s": round(ray, 2),
        "ray_cluster_start_s": round(started, 2),
        "ray_over_local": round(ray / local, 2),
        "ray_over_local_without_start": round((ray - started) / local, 2),
        "same_vectors": bool(np.array_equal(a, b)),
        "ray_maps": report,
    }


def time_model(n_texts: int, settings: LinerSettings) -> dict[str, Any]:
    """``n_texts`` texts through the real text model as the build's text step runs it: by
    partitions of about 256 texts written to part files, with the function it uses for a
    named model (``embed_bulk_chunk`` in ``bulk_precision()``), three ways: in this process
    (how fewer than ``BULK_MIN`` missing texts run), one single-threaded process per CPU (a
    catalog's worth, locally), and as Ray tasks on a local cluster of 2 CPUs."""
    from functools import partial

    from recsys.distributed import RayBackend
    from recsys.embeddings.steps import TEXT_CHUNK, _content_hash
    from recsys.embeddings.text import bulk_precision, embed_bulk_chunk
    from recsys.parallel import content_bounds, map_rows_to_npy, use_backend

    rng = np.random.default_rng(1)
    texts = [
        f"Song {i} by Artist {rng.integers(1000)}. Genre: {rng.choice(GENRES)}. "
        f"Tags: {rng.choice(TAGS)}, {rng.choice(TAGS)}"
        for i in range(n_texts)
    ]
    precision = bulk_precision()
    embed = partial(embed_bulk_chunk, settings.text_model, precision, settings.text_batch_size)
    ends = content_bounds([_content_hash(t) for t in texts], TEXT_CHUNK)
    out: dict[str, Any] = {"texts": n_texts, "precision": precision, "partitions": len(ends)}
    vectors = {}
    # In this process last: a model it loaded would serve the others (each way loads its own).
    for way in ("processes", "ray", "in_process"):
        with tempfile.TemporaryDirectory(prefix="liner-text-model-") as tmp:
            target = Path(tmp) / "text.npy"
            start, cpu = time.perf_counter(), time.process_time()
            if way == "ray":
                with RayBackend(None, num_cpus=2) as backend, use_backend(backend):
                    out["ray_cluster_start_s"] = round(time.perf_counter() - start, 1)
                    map_rows_to_npy(embed, texts, target, ends=ends)
            else:
                workers = 1 if way == "in_process" else None
                map_rows_to_npy(embed, texts, target, ends=ends, workers=workers)
            wall = time.perf_counter() - start
            vectors[way] = np.load(target)
        out[way] = {
            "wall_s": round(wall, 1),
            "texts_per_s": round(n_texts / wall, 1),
            "driver_cpu_s": round(time.process_time() - cpu, 1),
            "load_after": [round(x, 1) for x in os.getloadavg()],
        }
        print(json.dumps({way: out[way]}), file=sys.stderr, flush=True)
    out["ray_over_processes"] = round(out["ray"]["wall_s"] / out["processes"]["wall_s"], 2)
    out["ray_over_in_process"] = round(out["ray"]["wall_s"] / out["in_process"]["wall_s"], 2)
    out["max_abs_diff_ray_vs_processes"] = float(
        np.abs(vectors["ray"] - vectors["processes"]).max()
    )
    out["max_abs_diff_in_process_vs_processes"] = float(
        np.abs(vectors["in_process"] - vectors["processes"]).max()
    )
    return out


def _track_rows(tracks: Sequence[int]) -> np.ndarray:
    """The cheap model's text vectors of synthetic tracks, each a function of its number."""
    texts = [
        f"Song {t} by Artist {t % 9973}. Genre: {GENRES[t % len(GENRES)]}. "
        f"Tags: {TAGS[t % len(TAGS)]}, {TAGS[(t // 7) % len(TAGS)]}"
        for t in tracks
    ]
    x = HashedWords().encode(texts)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(way: str, n: int, work: Path) -> dict[str, Any]:
    """One build process: text rows of ``n`` tracks by partitions, then the index."""
    from recsys.index import FaissIndex, FaissIndexConfig
    from recsys.parallel import iter_npy_blocks, map_rows_to_npy, parallel_map

    config = FaissIndexConfig(factory="IVF1024,PQ32x4fs,Refine(SQ8)", train_size=65_536)
    start = time.perf_counter()
    tracks = range(n)
    if way == "gathered":
        chunks = [list(tracks[a : a + 256]) for a in range(0, n, 256)]
        parts: list[Any] = parallel_map(_track_rows, chunks, workers=1)
        rows = np.concatenate(parts)
        map_peak = _peak_mb()
        index = FaissIndex.build(rows, np.char.add("t", np.arange(n).astype(str)), config)
    else:
        out = work / "text.npy"
        map_rows_to_npy(_track_rows, tracks, out, partition=256)
        map_peak = _peak_mb()
        train = np.load(out, mmap_mode="r")[: config.train_size].copy()
        ids = np.char.add("t", np.arange(n).astype(str))
        index = FaissIndex.build_streamed(iter_npy_blocks(out), ids, config, train=train)
    return {
        "way": way,
        "tracks": n,
        "seconds": round(time.perf_counter() - start, 1),
        "map_peak_mb": round(map_peak),
        "peak_mb": round(_peak_mb()),
        "index_vectors": len(index),
    }


def memory_figures(sizes: list[int]) -> list[dict[str, Any]]:
    """Each (way, size) in a fresh interpreter, so each peak is that build's alone."""
    out = []
    for n in sizes:
        for way in ("gathered", "on_disk"):
            with tempfile.TemporaryDirectory(prefix="liner-build-memory-") as tmp:
                cmd = [sys.executable, "-m", "benchmarks.build_scale", "--memory-child", way,
                       str(n), tmp]  # fmt: skip
                done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            out.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(out[-1], flush=True)
    return out


def _read_status(field: str) -> float:
    """A ``/proc/self/status`` memory field in MB (0 off Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _reset_peak() -> None:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux ``clear_refs`` 5)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _timed_steps(names: Sequence[str] | None, stats: list[dict[str, Any]]) -> list[Any]:
    """The build's steps, each wrapped to record its wall and CPU seconds and this process's
    RSS before it and peak RSS during it (children, e.g. Ray workers, not included)."""
    from dataclasses import replace

    def wrap(step: Any) -> Any:
        def run(ctx: Any) -> Any:
            _reset_peak()
            before = _read_status("VmRSS")
            started = {"starting": step.name, "at": time.strftime("%H:%M:%S")}
            print(json.dumps({**started, "load": os.getloadavg()[0]}), file=sys.stderr, flush=True)
            wall, cpu = time.perf_counter(), time.process_time()
            info = step.run(ctx)
            stats.append(
                {
                    "step": step.name,
                    "wall_s": round(time.perf_counter() - wall, 2),
                    "cpu_s": round(time.process_time() - cpu, 2),
                    "rss_before_mb": round(before),
                    "peak_rss_mb": round(_read_status("VmHWM")),
                    "load_after": round(os.getloadavg()[0], 1),
                }
            )
            print(json.dumps(stats[-1]), file=sys.stderr, flush=True)  # a stall shows where
            return info

        return replace(step, run=run)

    return [wrap(s) for s in default_steps() if names is None or s.name in names]


def full_child(
    n: int,
    work: Path,
    store_dir: Path | None,
    names: Sequence[str] | None,
    ways: Sequence[str] = ("local", "ray"),
    exact_below: int | None = None,
) -> dict:
    """One catalog size in this process: ingest (or reuse a store made by an earlier run),
    then the build locally and on a local Ray cluster (2 CPUs), in the order of ``ways``, each
    step timed."""
    from recsys.distributed import RayBackend

    logging.basicConfig(level=logging.WARNING)
    db = (store_dir or work) / f"liner-{n}.db"
    ingest_s = None
    if not db.is_file():
        make_folder(work / "data", n)
        start = time.perf_counter()
        run_ingest(work / "data", SqliteStore(db))
        ingest_s = round(time.perf_counter() - start, 1)
        shutil.rmtree(work / "data", ignore_errors=True)
    print(json.dumps({"tracks": n, "ingest_s": ingest_s}), file=sys.stderr, flush=True)
    store = SqliteStore(db)
    settings = LinerSettings(db=str(db), artifacts=work / "local")
    if exact_below is not None:  # e.g. HNSW indexes on a catalog small enough for a quick run
        index = settings.embeddings.index.model_copy(update={"exact_below": exact_below})
        embeddings = settings.embeddings.model_copy(update={"index": index})
        settings = settings.model_copy(update={"embeddings": embeddings})
    model = HashedWords()
    out: dict[str, Any] = {"tracks": n, "ingest_s": ingest_s, "steps": names}
    out["exact_below"] = settings.embeddings.index.exact_below
    out["load_before"] = [round(x, 1) for x in os.getloadavg()]
    out["order"] = list(ways)
    for way in ways:
        stats: list[dict[str, Any]] = []
        steps = _timed_steps(names, stats)
        start = time.perf_counter()
        if way == "local":
            build_artifacts(store, work / way, settings, steps=steps, text_model=model)
            report = None
        else:
            with RayBackend(None, num_cpus=2) as backend:
                out["ray_cluster_start_s"] = round(time.perf_counter() - start, 2)
                build_artifacts(
                    store, work / way, settings, steps=steps, text_model=model, backend=backend
                )
                report = list(backend.report)
        out[way] = {
            "load_after": [round(x, 1) for x in os.getloadavg()],
            "wall_s": round(time.perf_counter() - start, 1),
            "per_step": stats,
            "ray_maps": report,
        }
        print(json.dumps(out), file=sys.stderr, flush=True)  # kept if a later part fails
    out["ray_over_local"] = round(out["ray"]["wall_s"] / out["local"]["wall_s"], 3)
    out["ray_over_local_without_start"] = round(
        (out["ray"]["wall_s"] - out["ray_cluster_start_s"]) / out["local"]["wall_s"], 3
    )
    same = {}
    for rel in ("vectors/text.npy", "vectors/fused.npy", "catalog/training_mask.npy"):
        a, b = work / "local" / rel, work / "ray" / rel
        if a.is_file() and b.is_file():
            same[rel] = bool(np.array_equal(np.load(a), np.load(b)))
    out["same_arrays"] = same
    store.close()
    return out


def full_figures(
    sizes: list[int],
    store_dir: Path | None,
    names: Sequence[str] | None,
    ray_first: bool,
    exact_below: int | None = None,
) -> list:
    """Each size in a fresh interpreter (its peaks are that size's alone)."""
    out = []
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="liner-build-full-") as tmp:
            cmd = [sys.executable, "-m", "benchmarks.build_scale", "--full-child", str(n), tmp]
            if store_dir is not None:
                cmd += ["--store-dir", str(store_dir)]
            if names:
                cmd += ["--steps", *names]
            if ray_first:
                cmd += ["--ray-first"]
            if exact_below is not None:
                cmd += ["--exact-below", str(exact_below)]
            done = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
        out.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(out[-1]), flush=True)
    return out


WAIT_POLICY_CHILD = """
import json, os, sys, time
import numpy as np
policy = os.environ.get("OMP_WAIT_POLICY", "(libgomp default)")  # before FAISS loads libgomp
import faiss
from recsys.index import FaissIndex, FaissIndexConfig
n = int(sys.argv[1])
x = np.random.default_rng(0).normal(size=(n, 224)).astype(np.float32)
x /= np.linalg.norm(x, axis=1, keepdims=True)
faiss.omp_set_num_threads(2)
wall, cpu = time.perf_counter(), time.process_time()
FaissIndex.build(x, np.char.add("t", np.arange(n).astype(str)), FaissIndexConfig(exact_below=0))
print(json.dumps({"policy": policy, "wall_s": round(time.perf_counter() - wall, 2),
                  "cpu_s": round(time.process_time() - cpu, 2),
                  "load": round(os.getloadavg()[0], 1)}))
"""
"""One HNSW build of ``n`` × 224 vectors (the fused width, the served setting), 2 FAISS
threads, in a fresh interpreter that does not import :mod:`recsys.build` (which sets the
policy): wall and CPU seconds under the ``OMP_WAIT_POLICY`` it was given."""


def wait_policy_figures(n: int, rounds: int) -> list[dict[str, Any]]:
    """The same HNSW build under libgomp's default wait policy and ``PASSIVE``, alternated,
    each in a fresh interpreter (libgomp reads the policy when it loads)."""
    out = []
    for _ in range(rounds):
        for policy in (None, "PASSIVE"):
            env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
            if policy:
                env["OMP_WAIT_POLICY"] = policy
            cmd = [sys.executable, "-c", WAIT_POLICY_CHILD, str(n)]
            done = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
            out.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(out[-1], flush=True)
    return out


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--tracks", type=int, default=None, help="catalog size (default 100k)")
    p.add_argument("--model-texts", type=int, default=2000, help="texts for the model part")
    p.add_argument("--memory", action="store_true", help="only the two-size memory figures")
    p.add_argument("--memory-sizes", type=int, nargs="+", default=[100_000, 500_000])
    p.add_argument("--memory-child", nargs=3, default=None, help=argparse.SUPPRESS)
    p.add_argument("--full", type=int, nargs="+", default=None, help="full-build sizes")
    p.add_argument("--steps", nargs="+", default=None, help="only these build steps (--full)")
    p.add_argument("--store-dir", type=Path, default=None, help="keep/reuse stores here")
    p.add_argument("--full-child", nargs=2, default=None, help=argparse.SUPPRESS)
    p.add_argument("--ray-first", action="store_true", help="the Ray build before the local")
    p.add_argument("--exact-below", type=int, default=None,
                   help="index setting: exact search below this many tracks (--full)")  # fmt: skip
    p.add_argument("--wait-policy", type=int, default=None, metavar="N",
                   help="HNSW build of N vectors: OpenMP wait default vs PASSIVE")  # fmt: skip
    args = p.parse_args()
    if args.wait_policy:
        runs = wait_policy_figures(args.wait_policy, rounds=2)
        write_result("build_wait_policy", {"vectors": args.wait_policy, "runs": runs})
        return
    if args.full_child:
        size, folder = args.full_child
        ways = ("ray", "local") if args.ray_first else ("local", "ray")
        figures = full_child(
            int(size), Path(folder), args.store_dir, args.steps, ways, args.exact_below
        )
        print(json.dumps(figures))
        return
    if args.full:
        load = os.getloadavg()
        sizes = full_figures(
            args.full, args.store_dir, args.steps, args.ray_first, args.exact_below
        )
        model = time_model(args.model_texts, LinerSettings()) if args.model_texts else None
        label = "_".join(
            f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}m" for n in args.full
        )
        write_result(
            f"build_full_{label}" if not args.quick else "build_full_quick",
            {"sizes": sizes, "model": model, "load_before": load, "load_after": os.getloadavg()},
        )
        return
    if args.memory_child:
        way, size, folder = args.memory_child
        print(json.dumps(memory_child(way, int(size), Path(folder))))
        return
    if args.memory:
        write_result("build_memory", {"ways": memory_figures(args.memory_sizes)})
        return
    logging.basicConfig(level=logging.WARNING)
    n = args.tracks or (10_000 if args.quick else 100_000)
    work = Path(tempfile.mkdtemp(prefix="liner-build-scale-"))
    try:
        make_folder(work / "data", n)
        store = SqliteStore(work / "liner.db")
        start = time.perf_counter()
        run_ingest(work / "data", store)
        ingest_s = time.perf_counter() - start
        settings = LinerSettings(db=str(work / "liner.db"), artifacts=work / "local")
        steps = time_steps(store, work, settings)
        store.close()
        model = time_model(args.model_texts, settings) if args.model_texts else None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_result(
        "build_scale" if not args.quick else "build_scale_quick",
        {
            "tracks": n,
            "ingest_s": round(ingest_s, 1),
            "steps": steps,
            "model": model,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        },
    )


if __name__ == "__main__":
    main()
