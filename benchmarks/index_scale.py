"""The compressed index at catalog scale: 10M synthetic vectors in the served dimension.

Builds :class:`~recsys.index.FaissIndex` with a FAISS factory (IVF lists over 4-bit
fast-scan PQ codes, the best ``k × k_factor`` re-scored on SQ8 codes) through
:meth:`~recsys.index.FaissIndex.build_streamed`, so the float32 vectors (9 GB at 10M × 224)
are never all in memory: they are generated block by block from a seed, encoded and dropped,
and generated again for the exact answers. Reports, per factory:

* memory: the FAISS index's bytes (``write_index``), the saved artifact's bytes (index + ids),
  this process's RSS after the build and its peak during build, save and load (``VmHWM``,
  reset before each phase);
* build seconds (training on a sample of ``--train`` rows, then encoding every block);
* recall@10 against exact inner-product search (chunked brute force over the regenerated
  vectors) on ``--queries`` held-out queries, and QPS at each nprobe: single-thread, one
  query per call (``qps_single``), and one call for all queries (``qps_batched``, one thread);
  wall-clock, and per CPU-second of this process (``*_per_cpu_s``: what one core would do,
  the robust figure on a shared machine where other jobs take the cores).

The vectors are a Gaussian mixture in 224 dimensions (the fused space: text 64 + audio 32 +
collaborative 64 + pad 64), generated block by block from a seed (:class:`Mixture`: genres,
artists, tracks; ``--generator retrieval`` for the harder set of ``benchmarks/retrieval.py``).
Queries are further draws from the same mixture, not indexed.

    python -m benchmarks.index_scale --quick     # 1M, four factories -> index_scale_quick.json
    flock /tmp/liner-big.lock python -m benchmarks.index_scale   # 10M -> index_scale_10m.json
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import faiss
import numpy as np

from benchmarks.report import parser, write_result
from recsys.index import FaissIndex, FaissIndexConfig

K = 10
DIM = 224
BLOCK = 250_000
DEFAULT_FACTORY = "IVF{nlist}_HNSW32,PQ112x4fs,Refine(SQ8)"  # chosen by --quick at 1M
QUICK_FACTORIES = (
    "IVF{nlist},PQ56x4fs,Refine(SQ8)",
    "IVF{nlist}_HNSW32,PQ56x4fs,Refine(SQ8)",
    "IVF{nlist},PQ112x4fs,Refine(SQ8)",
    "IVF{nlist},PQ112x4fs,Refine(SQ4)",
)
NPROBES = (4, 8, 16, 32, 64, 128)
K_FACTORS = (16, 64)


class Mixture:
    """Clustered unit-norm vectors; block ``i`` is the same on every call.

    ``kind="genres"`` (default): 32 genre centres, ``n / 500`` artist clusters around them
    (Zipf-distributed sizes), tracks spread around their artist along every direction with a
    power-law spectrum (the ``j``-th of 224 random orthogonal directions has scale
    ``∝ j^-0.6``): low intrinsic dimension, as embeddings have. ``kind="retrieval"``: the
    generator of ``benchmarks/retrieval.py`` (clusters that overlap along one shared 24-d
    subspace plus isotropic noise in every dimension), much harder for IVF: there the
    nearest neighbours lie in many lists.
    """

    def __init__(self, n: int, dim: int, seed: int, kind: str = "genres") -> None:
        rng = np.random.default_rng(seed)
        self.n, self.dim, self.seed, self.kind = n, dim, seed, kind
        self.clusters = max(50, n // 500)
        sizes = 1.0 / np.arange(1, self.clusters + 1) ** 0.7
        self.p = sizes / sizes.sum()
        if kind == "genres":
            genres = rng.normal(size=(32, dim)).astype(np.float32)
            self.centers = genres[rng.integers(0, 32, self.clusters)]
            self.centers += 0.6 * rng.normal(size=(self.clusters, dim)).astype(np.float32)
            scale = np.arange(1, dim + 1) ** -0.6
            self.scale = (scale * np.sqrt(dim / (scale**2).sum())).astype(np.float32)
            self.rotation = np.linalg.qr(rng.normal(size=(dim, dim)))[0].astype(np.float32)
        elif kind == "retrieval":
            self.centers = rng.normal(size=(self.clusters, dim)).astype(np.float32)
            self.basis = rng.normal(size=(24, dim)).astype(np.float32) / np.sqrt(24)
        else:
            raise ValueError(f"unknown generator {kind!r}")

    def _draw(self, rng: np.random.Generator, m: int) -> np.ndarray:
        labels = rng.choice(self.clusters, size=m, p=self.p)
        x = self.centers[labels]
        if self.kind == "genres":
            x += (rng.normal(size=(m, self.dim)).astype(np.float32) * self.scale) @ self.rotation
        else:
            x += 1.2 * (rng.normal(size=(m, 24)).astype(np.float32) @ self.basis)
            x += 0.5 * rng.normal(size=(m, self.dim)).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x

    def block(self, i: int, block: int = BLOCK) -> np.ndarray:
        """Rows ``[i·block, min(n, (i+1)·block))``."""
        m = min(self.n, (i + 1) * block) - i * block
        return self._draw(np.random.default_rng([self.seed, 1, i]), m)

    def blocks(self, block: int = BLOCK) -> Iterator[np.ndarray]:
        for i in range((self.n + block - 1) // block):
            yield self.block(i, block)

    def queries(self, m: int) -> np.ndarray:
        return self._draw(np.random.default_rng([self.seed, 2]), m)

    def sample(self, m: int) -> np.ndarray:
        """A training sample: further draws from the same mixture."""
        return self._draw(np.random.default_rng([self.seed, 3]), m)


def _status(field: str) -> float:
    """A ``/proc/self/status`` memory field in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> None:
    """Reset ``VmHWM`` to the current RSS (Linux: ``clear_refs`` 5)."""
    gc.collect()
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def exact_top(data: Mixture, q: np.ndarray, k: int = K) -> np.ndarray:
    """Exact top-k rows by inner product, block by block (regenerated), merged."""
    best_s = np.full((len(q), 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(q), 0), dtype=np.int64)
    for b, x in enumerate(data.blocks()):
        s, i = faiss.knn(q, x, k, metric=faiss.METRIC_INNER_PRODUCT)
        all_s = np.hstack([best_s, s])
        all_i = np.hstack([best_i, i + b * BLOCK])
        top = np.argsort(-all_s, axis=1, kind="stable")[:, :k]
        best_s = np.take_along_axis(all_s, top, 1)
        best_i = np.take_along_axis(all_i, top, 1)
    return best_i


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return round(hits / truth.size, 4)


def sweep(index: FaissIndex, q: np.ndarray, truth: np.ndarray, nprobes: tuple[int, ...],
          k_factors: tuple[int, ...], single: int) -> list[dict[str, Any]]:  # fmt: skip
    """Recall and QPS per (k_factor, nprobe); one FAISS thread."""
    rows: list[dict[str, Any]] = []
    for kf in k_factors:
        index.config = index.config.model_copy(update={"refine_k_factor": kf})
        for nprobe in nprobes:
            t, c = time.perf_counter(), time.process_time()
            _, found = index.search_rows(q, K, nprobe=nprobe)
            batched, batched_cpu = time.perf_counter() - t, time.process_time() - c
            t, c = time.perf_counter(), time.process_time()
            for j in range(single):
                index.search_rows(q[j], K, nprobe=nprobe)
            one, one_cpu = time.perf_counter() - t, time.process_time() - c
            rows.append({"k_factor": kf, "nprobe": nprobe, "recall_at_10": recall(found, truth),
                         "qps_single": round(single / one, 1),
                         "qps_batched": round(len(q) / batched, 1),
                         "qps_single_per_cpu_s": round(single / one_cpu, 1),
                         "qps_batched_per_cpu_s": round(len(q) / batched_cpu, 1)})  # fmt: skip
            print(rows[-1], flush=True)
    return rows


def train_index(data: Mixture, config: FaissIndexConfig, args: Any) -> faiss.Index:
    """The empty trained index, from ``--trained`` when a run already wrote it."""
    path: Path | None = args.trained
    if path is not None and path.is_file():
        return faiss.read_index(str(path))
    faiss.omp_set_num_threads(args.build_threads)
    trained = FaissIndex.train_empty(data.sample(args.train), config)
    if path is not None:
        faiss.write_index(trained, str(path))
    return trained


def run_factory(data: Mixture, factory: str, q: np.ndarray, truth: np.ndarray, args: Any,
                work: Path, partial: Callable[[dict[str, Any]], None] | None = None,
                ) -> dict[str, Any]:  # fmt: skip
    """Train, build, measure and search one factory; ``partial`` gets the figures before the
    save/load phase (its peak RSS is a few times the index), so a run killed there keeps them."""
    config = FaissIndexConfig(factory=factory, nprobe=32, refine_k_factor=K_FACTORS[-1])
    ids = np.char.add("t", np.arange(data.n).astype(f"U{len(str(data.n - 1))}"))  # "t9999999"
    rss_before = _status("VmRSS")
    reset_peak()
    faiss.omp_set_num_threads(args.build_threads)
    cached = bool(args.trained and args.trained.is_file())
    t = time.perf_counter()
    trained = train_index(data, config, args)
    train_s = time.perf_counter() - t
    t, c = time.perf_counter(), time.process_time()
    index = FaissIndex.build_streamed(data.blocks(), ids, config, trained=trained)
    build_s, build_cpu_s = time.perf_counter() - t, time.process_time() - c
    del trained, ids
    build_peak = _status("VmHWM")
    rss_built = _status("VmRSS")
    faiss.write_index(index._index, str(work / "raw.faiss"))
    index_bytes = (work / "raw.faiss").stat().st_size
    (work / "raw.faiss").unlink()
    faiss.omp_set_num_threads(1)
    grid = sweep(index, q, truth, tuple(args.nprobe), tuple(args.k_factor), args.single)
    out: dict[str, Any] = {
        "factory": factory,
        "train_s": round(train_s, 1),
        "trained_by_an_earlier_run": cached,
        "build_s": round(build_s, 1),
        "build_cpu_s": round(build_cpu_s, 1),
        "build_threads": args.build_threads,
        "index_bytes": index_bytes,
        "index_bytes_per_vector": round(index_bytes / data.n, 1),
        "rss_before_mb": round(rss_before),
        "rss_after_build_mb": round(rss_built),
        "rss_held_by_index_mb": round(rss_built - rss_before),
        "peak_rss_build_mb": round(build_peak),
        "search": grid,
    }
    if partial is not None:
        partial(out)
    if args.save:
        reset_peak()
        t = time.perf_counter()
        path = work / "fused.npz"
        index.save(path)
        out["save_s"] = round(time.perf_counter() - t, 1)
        out["peak_rss_save_mb"] = round(_status("VmHWM"))
        out["artifact_bytes"] = path.stat().st_size
        del index
        reset_peak()
        rss_empty = _status("VmRSS")
        t = time.perf_counter()
        loaded = FaissIndex.load(path)
        out["load_s"] = round(time.perf_counter() - t, 1)
        out["rss_before_load_mb"] = round(rss_empty)
        out["peak_rss_load_mb"] = round(_status("VmHWM"))
        out["rss_after_load_mb"] = round(_status("VmRSS"))
        _, found = loaded.search_rows(q, K, nprobe=64)
        out["loaded_recall_at_10_nprobe64"] = recall(found, truth)
        del loaded
        path.unlink()
    gc.collect()
    return out


def run_shard(data: Mixture, factory: str, q: np.ndarray, args: Any) -> None:
    """Shard ``args.shard`` of ``args.shards``: build it, search it, keep its top-k per setting.

    The shard holds a contiguous range of blocks. Blocks are independent draws of the
    mixture, so a range is a uniform sample of the catalog, as hashing track ids would give.
    Every shard fills a copy of the same trained empty index (``--trained``), as sharded
    serving would.
    """
    config = FaissIndexConfig(factory=factory, nprobe=32, refine_k_factor=K_FACTORS[-1])
    blocks = (data.n + BLOCK - 1) // BLOCK
    first, last = args.shard * blocks // args.shards, (args.shard + 1) * blocks // args.shards
    start, stop = first * BLOCK, min(data.n, last * BLOCK)
    ids = np.char.add("t", np.arange(start, stop).astype(f"U{len(str(data.n - 1))}"))
    faiss.omp_set_num_threads(1)
    rss_before = _status("VmRSS")
    reset_peak()
    trained = train_index(data, config, args)
    t = time.perf_counter()
    parts = (data.block(i) for i in range(first, last))
    index = FaissIndex.build_streamed(parts, ids, config, trained=trained)
    build_s = time.perf_counter() - t
    del trained, ids
    gc.collect()
    out: dict[str, Any] = {
        "shard": args.shard, "shards": args.shards, "rows": [start, stop],
        "build_s": round(build_s, 1), "peak_rss_build_mb": round(_status("VmHWM")),
        "rss_before_mb": round(rss_before), "rss_after_build_mb": round(_status("VmRSS")),
        "index_bytes": len(faiss.serialize_index(index._index)),
    }  # fmt: skip
    arrays: dict[str, np.ndarray] = {}
    timings = []
    for kf in args.k_factor:
        index.config = index.config.model_copy(update={"refine_k_factor": kf})
        for nprobe in args.nprobe:
            c = time.process_time()
            scores, rows = index.search_rows(q, K, nprobe=nprobe)
            batched_cpu = time.process_time() - c
            c = time.process_time()
            for j in range(args.single):
                index.search_rows(q[j], K, nprobe=nprobe)
            single_cpu = time.process_time() - c
            arrays[f"scores_{kf}_{nprobe}"] = scores
            arrays[f"rows_{kf}_{nprobe}"] = np.where(rows >= 0, rows + start, -1)
            timings.append({"k_factor": kf, "nprobe": nprobe, "batched_cpu_s": batched_cpu,
                            "single_cpu_s": single_cpu})  # fmt: skip
            print(args.shard, timings[-1], flush=True)
    out["timings"] = timings
    out["single"] = args.single
    args.shard_dir.mkdir(parents=True, exist_ok=True)
    np.savez(args.shard_dir / f"shard-{args.shard}.npz", **arrays)  # type: ignore[arg-type]
    (args.shard_dir / f"shard-{args.shard}.json").write_text(json.dumps(out))


def merge_shards(q: np.ndarray, truth: np.ndarray, args: Any) -> dict[str, Any]:
    """Fan-out search over every shard: each shard's top k merged by score, against exact."""
    metas = [json.loads((args.shard_dir / f"shard-{s}.json").read_text())
             for s in range(args.shards)]  # fmt: skip
    found = [np.load(args.shard_dir / f"shard-{s}.npz") for s in range(args.shards)]
    n_single = metas[0].get("single", args.single)  # queries each shard timed one by one
    grid = []
    for row in metas[0]["timings"]:
        kf, nprobe = row["k_factor"], row["nprobe"]
        scores = np.hstack([f[f"scores_{kf}_{nprobe}"] for f in found])
        rows = np.hstack([f[f"rows_{kf}_{nprobe}"] for f in found])
        top = np.argsort(-scores, axis=1, kind="stable")[:, :K]
        merged = np.take_along_axis(rows, top, 1)
        same = [next(t for t in m["timings"] if t["k_factor"] == kf and t["nprobe"] == nprobe)
                for m in metas]  # fmt: skip
        batched = sum(t["batched_cpu_s"] for t in same)
        single = sum(t["single_cpu_s"] for t in same)
        grid.append({"k_factor": kf, "nprobe": nprobe, "recall_at_10": recall(merged, truth),
                     "qps_batched_per_cpu_s": round(len(q) / batched, 1),
                     "qps_single_per_cpu_s": round(n_single / single, 1)})  # fmt: skip
        print(grid[-1], flush=True)
    return {
        "shards": metas,
        "index_bytes_total": sum(m["index_bytes"] for m in metas),
        "rss_held_total_mb": sum(m["rss_after_build_mb"] - m["rss_before_mb"] for m in metas),
        "build_s_total": round(sum(m["build_s"] for m in metas), 1),
        "search": grid,
    }


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=None, help="vectors (default 10M; --quick 1M)")
    p.add_argument("--factory", action="append", default=None,
                   help="FAISS factory ({nlist} is filled in); repeatable")  # fmt: skip
    p.add_argument("--nlist", type=int, default=None, help="IVF lists (default ~1.3·sqrt(n))")
    p.add_argument("--nprobe", type=int, nargs="+", default=list(NPROBES))
    p.add_argument("--k-factor", type=int, nargs="+", default=list(K_FACTORS))
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--single", type=int, default=300, help="queries timed one per call")
    p.add_argument("--train", type=int, default=None, help="training rows (default 64·nlist)")
    p.add_argument("--build-threads", type=int, default=1)
    p.add_argument("--no-save", dest="save", action="store_false",
                   help="skip FaissIndex.save/load (peak RSS a few times the index)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--truth", type=Path, default=None,
                   help="exact answers cache (.npy): read if present, else written")  # fmt: skip
    p.add_argument("--exact-only", action="store_true",
                   help="write the exact answers to --truth and stop")  # fmt: skip
    p.add_argument("--trained", type=Path, default=None,
                   help="trained empty index cache: read if present, else written")  # fmt: skip
    p.add_argument("--shards", type=int, default=1, help="split the catalog into this many")
    p.add_argument("--shard", type=int, default=None, help="build and search only this shard")
    p.add_argument("--shard-dir", type=Path, default=Path("/tmp/liner-index-shards"))
    p.add_argument("--merge", action="store_true", help="merge the shards' answers and report")
    p.add_argument("--generator", choices=("genres", "retrieval"), default="genres")
    args = p.parse_args()
    n = args.n or (1_000_000 if args.quick else 10_000_000)
    nlist = args.nlist or int(2 ** round(np.log2(1.3 * np.sqrt(n))))
    args.train = args.train or min(n, 64 * nlist)
    factories = args.factory or (list(QUICK_FACTORIES) if args.quick else [DEFAULT_FACTORY])
    if args.trained is not None and len(factories) > 1:
        p.error("--trained caches one factory's training: pass one --factory")
    data = Mixture(n, DIM, args.seed, args.generator)
    load_before = os.getloadavg()[0]
    q = data.queries(args.queries)
    faiss.omp_set_num_threads(args.build_threads)
    t = time.perf_counter()
    exact_cached = bool(args.truth is not None and args.truth.is_file())
    if exact_cached:
        truth = np.load(args.truth)  # the exact answers of an earlier run (same n and seed)
    else:
        truth = exact_top(data, q)
        if args.truth is not None:
            np.save(args.truth, truth)
    exact_s = time.perf_counter() - t
    if args.exact_only:
        if args.trained is not None:  # the low-memory preparation: exact answers + training
            config = FaissIndexConfig(factory=factories[0].format(nlist=nlist))
            train_index(data, config, args)
        return
    print(f"exact top-{K} of {len(q)} queries over {n} vectors: {exact_s:.0f} s", flush=True)
    if args.shard is not None:
        run_shard(data, factories[0].format(nlist=nlist), q, args)
        return
    if args.merge:
        write_result(
            f"index_scale_{n // 1_000_000}m_{args.shards}_shards",
            {"vectors": n, "dim": DIM, "generator": args.generator, "nlist": nlist,
             "factory": factories[0].format(nlist=nlist), "queries": len(q),
             "single_queries": args.single, **merge_shards(q, truth, args)},
        )  # fmt: skip
        return
    name = (
        "index_scale_quick" if args.quick and not args.n else f"index_scale_{n // 1_000_000}m"
    ) + ("" if args.generator == "genres" else f"_{args.generator}")
    results: list[dict[str, Any]] = []

    def report(current: dict[str, Any] | None = None) -> None:
        write_result(
            name,
            {
                "vectors": n,
                "dim": DIM,
                "generator": args.generator,
                "clusters": data.clusters,
                "nlist": nlist,
                "train_rows": args.train,
                "queries": len(q),
                "single_queries": args.single,
                "exact_s": round(exact_s, 1),
                "exact_from_cache": exact_cached,
                "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
                "float32_gb": round(n * DIM * 4 / 1e9, 2),
                "factories": results + ([current] if current is not None else []),
            },
        )

    work = Path(tempfile.mkdtemp(prefix="liner-index-scale-"))
    try:
        for f in factories:
            results.append(run_factory(data, f.format(nlist=nlist), q, truth, args, work, report))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report()


if __name__ == "__main__":
    main()
