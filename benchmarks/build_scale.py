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
  overhead ratio, the whole machine's CPU seconds during each build (``/proc/stat``: Ray's
  workers included, and anything else running), and how the two artifact sets compare
  (:func:`compare_builds`: every array, the indexes' ids and rows, the neighbour table, the
  slates of a sample of listeners). With ``--model-texts`` the ``model`` figures follow.
  Writes ``results/build_full_<sizes>.json``.

* ``index cost`` (``--index-cost SIZE``): on the fused and text vectors of a ``SIZE``-track
  build (steps ``catalog`` → ``fusion`` on the synthetic store), the HNSW index built as
  before 54b8477 (``walked_fp16``: float16 codes walked while building) and by
  ``FaissIndex.build`` now (``float_graph``: the graph over float32 rows, then float16 codes,
  at widths that are not a multiple of 8; by float16 walks at the others), and the neighbour
  table searched on the served index and on its float twin: CPU seconds, recall@10 and @300
  of listener queries at the served ``ef_search`` against exact search, recall@150 of the
  table against exact on a sample of tracks.
  Writes ``results/build_index_cost_<size>.json``.

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


def _machine_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (``/proc/stat``)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    busy = sum(int(v) for i, v in enumerate(fields[:8]) if i not in (3, 4))  # not idle/iowait
    return busy / os.sysconf("SC_CLK_TCK")


def _catalog_rows(index: Any) -> np.ndarray:
    """The vectors an index stores (float16 codes decoded), in catalog row order."""
    rows = index._exact_vectors()
    return rows if index._order is None else rows[np.argsort(index._order)]


def compare_builds(
    a: Path, b: Path, store: SqliteStore, settings: LinerSettings, listeners: int = 50
) -> dict[str, Any]:
    """How two artifact directories of the same store compare: every ``.npy`` (equal, or the
    largest difference), each index's ids and stored rows, the neighbour table (identical
    rows, and the mean overlap of each track's neighbour set), and the slates of a sample
    of ``listeners`` listeners (same tracks in the same order).

    HNSW graphs are built by 2 FAISS threads, whose insertion order varies from run to run,
    so two builds of the same vectors hold the same rows but not always the same graph: the
    table and the slates are compared by overlap, not only for equality."""
    from recsys.artifacts import read_manifest
    from recsys.embeddings.neighbours import ROWS
    from recsys.index import FaissIndex
    from recsys.pipeline import RecommendRequest, load_recommender

    out: dict[str, Any] = {}
    files = sorted(set(read_manifest(a).files) & set(read_manifest(b).files))
    arrays: dict[str, bool | str] = {}
    for rel in files:
        if not rel.endswith(".npy"):
            continue
        x, y = np.load(a / rel, mmap_mode="r"), np.load(b / rel, mmap_mode="r")
        if x.shape != y.shape or x.dtype != y.dtype:
            arrays[rel] = f"shape/dtype {x.shape} {x.dtype} vs {y.shape} {y.dtype}"
        elif np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"):
            arrays[rel] = True
        elif x.dtype.kind in "fc":
            arrays[rel] = f"max abs diff {float(np.abs(x.astype(np.float64) - y).max()):.3g}"
        else:
            arrays[rel] = f"{float(np.mean(np.asarray(x) != np.asarray(y))):.4%} of cells differ"
    out["arrays"] = arrays
    out["same_files_sha"] = [
        rel for rel in files if read_manifest(a).files[rel] == read_manifest(b).files[rel]
    ]
    indexes = {}
    for rel in files:
        if rel.startswith("indexes/") and rel.endswith(".npz"):
            ia, ib = FaissIndex.load(a / rel), FaissIndex.load(b / rel)
            indexes[rel] = {
                "kind": [ia.kind, ib.kind],
                "same_ids": bool(np.array_equal(ia.ids, ib.ids)),
                "same_rows": bool(np.array_equal(_catalog_rows(ia), _catalog_rows(ib))),
            }
            del ia, ib
    out["indexes"] = indexes
    if ROWS in files:
        ra, rb = np.load(a / ROWS), np.load(b / ROWS)
        overlap = [
            len(set(x.tolist()) & set(y.tolist())) / max(1, (x >= 0).sum())
            for x, y in zip(ra[::97], rb[::97], strict=True)
        ]
        out["neighbours"] = {
            "tracks_with_identical_rows": round(float(np.mean((ra == rb).all(axis=1))), 4),
            "mean_overlap_every_97th_track": round(float(np.mean(overlap)), 4),
        }
    recs = [load_recommender(d, store, settings, log_slates=False) for d in (a, b)]
    ids = sorted(u.listener_id for u in store.iter_listeners())
    sample = ids[:: max(1, len(ids) // listeners)][:listeners]
    same = 0
    overlap = []
    for listener in sample:
        slates = [
            [i.track.track_id for i in r.recommend(RecommendRequest(listener_id=listener)).items]
            for r in recs
        ]
        same += bool(slates[0]) and slates[0] == slates[1]
        overlap.append(len(set(slates[0]) & set(slates[1])) / max(1, len(slates[0])))
    out["slates"] = {
        "listeners": len(sample),
        "identical": same,
        "mean_overlap": round(float(np.mean(overlap)), 4) if overlap else None,
    }
    return out


FUSION_STEPS = ("catalog", "text", "audio", "collab", "projection", "fusion")


def _store(n: int, work: Path, store_dir: Path | None, timed: bool = False) -> Any:
    """The synthetic store of ``n`` tracks: reused from ``store_dir`` (``liner-<n>.db``) or
    ingested there (or in ``work``), then screened as `liner ingest` screens new tracks
    (the pipeline serves screened tracks only; a screened store is left as it is). Returns
    ``(store, path)``, and the ingest seconds (None when reused) with ``timed``."""
    from recsys.integrity.quarantine import screen_store

    db = (store_dir or work) / f"liner-{n}.db"
    ingest_s = None
    if not db.is_file():
        make_folder(work / "data", n)
        start = time.perf_counter()
        run_ingest(work / "data", SqliteStore(db))
        ingest_s = round(time.perf_counter() - start, 1)
        shutil.rmtree(work / "data", ignore_errors=True)
    store = SqliteStore(db)
    start = time.perf_counter()
    screened = screen_store(store).screened if store.unscreened_ids() else 0
    figures = {"tracks": n, "ingest_s": ingest_s, "screened": screened,
               "screen_s": round(time.perf_counter() - start, 1)}  # fmt: skip
    print(json.dumps(figures), file=sys.stderr, flush=True)
    return (store, db, ingest_s) if timed else (store, db)


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
    store, db, ingest_s = _store(n, work, store_dir, timed=True)
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
        start, machine, cpu = time.perf_counter(), _machine_cpu_s(), time.process_time()
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
            "build_process_cpu_s": round(time.process_time() - cpu, 1),
            "machine_cpu_s": round(_machine_cpu_s() - machine, 1),
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
    start = time.perf_counter()
    out["compare"] = compare_builds(work / "local", work / "ray", store, settings)
    out["compare"]["seconds"] = round(time.perf_counter() - start, 1)
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


def _walked_fp16(x: np.ndarray, ids: np.ndarray, config: Any) -> Any:
    """The float16 HNSW index as ``FaissIndex.build`` made it before 54b8477: float16 codes
    added to the graph directly (each construction walk reads codes), then the locality
    order."""
    import faiss

    from recsys.index import FaissIndex, locality_order

    index: Any = faiss.index_factory(
        x.shape[1], f"HNSW{config.hnsw_m},SQfp16", faiss.METRIC_INNER_PRODUCT
    )
    index.hnsw.efConstruction = config.ef_construction
    index.hnsw.efSearch = config.ef_search
    index.add(x)
    order = locality_order(x, seed=config.seed)
    index.permute_entries(order)
    return FaissIndex(index, ids, config, order)


def _exact_top(x: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    """Exact top-``k`` rows of ``x`` by inner product for each query, in blocks."""
    out = []
    for a in range(0, len(q), 256):
        s = q[a : a + 256] @ x.T
        top = np.argpartition(-s, k - 1, axis=1)[:, :k]
        out.append(np.take_along_axis(top, np.argsort(-np.take_along_axis(s, top, 1), 1), 1))
    return np.concatenate(out)


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    k = truth.shape[1]
    pairs = zip(found[:, :k], truth, strict=True)
    return round(float(np.mean([len(set(f) & set(t)) / k for f, t in pairs])), 4)


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(t: tuple[float, float]) -> dict[str, float]:
    return {
        "wall_s": round(time.perf_counter() - t[0], 2),
        "cpu_s": round(time.process_time() - t[1], 2),
    }


def index_cost(n: int, store_dir: Path | None, table_queries: int, sample: int) -> dict[str, Any]:
    """The two HNSW builds and the two neighbour-table searches, in this process, on the
    vectors of an ``n``-track build (see the module docstring)."""
    import faiss

    from recsys.embeddings.neighbours import compute_neighbours
    from recsys.index import FaissIndex

    logging.basicConfig(level=logging.WARNING)
    out: dict[str, Any] = {"tracks": n, "faiss_threads": faiss.omp_get_max_threads()}
    out["load_before"] = [round(x, 1) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="liner-index-cost-") as tmp:
        work = Path(tmp)
        store, db = _store(n, work, store_dir)
        settings = LinerSettings(db=str(db), artifacts=work / "build")
        steps = [s for s in default_steps() if s.name in FUSION_STEPS]
        build_artifacts(store, work / "build", settings, steps=steps, text_model=HashedWords())
        store.close()
        vectors = {name: np.load(work / f"build/vectors/{name}.npy") for name in ("fused", "text")}
        listeners = np.load(work / "build/listeners/fused.npy")
    config = settings.embeddings.index.model_copy(update={"exact_below": 0})
    ids = np.char.add("t", np.arange(n).astype(str))
    rng = np.random.default_rng(0)
    tracks = np.sort(rng.choice(n, min(n, sample), replace=False))
    for name, x in vectors.items():
        queries = listeners if name == "fused" else x
        q = queries[np.sort(rng.choice(len(queries), min(len(queries), sample), replace=False))]
        q = np.ascontiguousarray(q, dtype=np.float32)
        q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        truth = _exact_top(x, q, 300)
        figures: dict[str, Any] = {"dim": int(x.shape[1])}
        for way in ("walked_fp16", "float_graph"):
            t = _clock()
            index = (
                _walked_fp16(x, ids, config)
                if way == "walked_fp16"
                else FaissIndex.build(x, ids, config)
            )
            figures[way] = {"build": _since(t), "kind": index.kind}
            for k in (10, 300):
                figures[way][f"recall@{k}"] = _recall(index.search_rows(q, k)[1], truth[:, :k])
            print(json.dumps({name: {way: figures[way]}}), file=sys.stderr, flush=True)
            if name == "fused":
                table_truth = _exact_top(x, x[tracks], 150)
                searched = {"served": index}
                t = _clock()
                searched["float_twin"] = index.float_twin(x)
                figures[way]["float_twin_made"] = _since(t)
                for what, ix in searched.items():
                    some = x[: min(n, table_queries)]
                    t = _clock()
                    compute_neighbours(ix, some, 150)
                    cost = _since(t)
                    table = compute_neighbours(ix, x[tracks], 150)
                    figures[way][f"table_on_{what}"] = {
                        **cost,
                        "queries": len(some),
                        "cpu_ms_per_track": round(1000 * cost["cpu_s"] / len(some), 3),
                        "recall@150": _recall(table.rows, table_truth),
                    }
                    print(json.dumps({what: figures[way][f"table_on_{what}"]}), file=sys.stderr,
                          flush=True)  # fmt: skip
            del index
        for key in ("cpu_s", "wall_s"):
            figures[f"build_{key}_new_over_old"] = round(
                figures["float_graph"]["build"][key] / figures["walked_fp16"]["build"][key], 3
            )
        out[name] = figures
    out["load_after"] = [round(x, 1) for x in os.getloadavg()]
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
    p.add_argument(
        "--index-cost",
        type=int,
        default=None,
        metavar="SIZE",
        help="HNSW build and neighbour table, before/after, on a SIZE-track build",
    )
    p.add_argument(
        "--table-queries",
        type=int,
        default=10_000,
        help="tracks whose neighbours are timed (--index-cost)",
    )
    p.add_argument(
        "--ingest-only",
        type=int,
        default=None,
        metavar="SIZE",
        help="only make the SIZE-track store in --store-dir (reused by --full)",
    )
    args = p.parse_args()
    if args.ingest_only:
        with tempfile.TemporaryDirectory(prefix="liner-ingest-") as tmp:
            _store(args.ingest_only, Path(tmp), args.store_dir)[0].close()
        return
    if args.index_cost:
        figures = index_cost(args.index_cost, args.store_dir, args.table_queries, 1000)
        label = f"{args.index_cost // 1000}k" if args.index_cost < 1_000_000 else "1m"
        write_result(f"build_index_cost_{label}", figures)
        return
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
