"""Do the serving shortcuts change what is served? Slates on a demo world, path against path.

A demo world (``liner demo-data``'s generator: 3,000 tracks and 600 listeners, 600 / 120 with
``--quick``) is ingested, screened and built with every default step (the neighbour table
included), then every listener is served three ways with the same requests: ``search``
(item-to-item neighbours searched per request, no result cache: the previous design),
``lookup`` (neighbours from the build's table) and ``cached`` (the table, each request asked
twice so the second answer comes from the exact search cache). Requests: each listener
without and with two seed tracks (from their own history, so the item-to-item source has
seeds), under the default policy parameters. Reports how many slates are identical, and how
many items differ where they differ.

    python -m benchmarks.serving_paths --quick
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from benchmarks.report import parser, write_result
from recsys.build import build_artifacts, default_steps
from recsys.demo import DemoConfig, generate_demo, write_folder
from recsys.ingest import run_ingest
from recsys.integrity.quarantine import screen_store
from recsys.pipeline import RecommendRequest, load_recommender
from recsys.pipeline.search_cache import SearchCache
from recsys.settings import LinerSettings
from recsys.store import SqliteStore


class HashTextModel:
    """Deterministic stand-in for the sentence model (no download): hashed bag of words."""

    name = "hash-bow"

    def encode(self, sentences: list[str], **_: Any) -> np.ndarray:
        out = np.zeros((len(sentences), 32), dtype=np.float32)
        for i, s in enumerate(sentences):
            for w in s.lower().split():
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % 32] += 1.0
        return out + 1e-3


def main() -> None:
    p = parser(__doc__ or "")
    args = p.parse_args()
    tracks, listeners = (600, 120) if args.quick else (3000, 600)
    import faiss

    faiss.omp_set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="liner-paths-") as tmp:
        root = Path(tmp)
        write_folder(
            generate_demo(DemoConfig(tracks=tracks, listeners=listeners, seed=7, audio=False)),
            root / "data",
        )
        store = SqliteStore(root / "liner.db")
        run_ingest(root / "data", store)
        screen_store(store)
        settings = LinerSettings(db=str(root / "liner.db"), artifacts=root / "artifacts")
        build_artifacts(
            store, root / "artifacts", settings, steps=default_steps(), text_model=HashTextModel()
        )
        rec = load_recommender(root / "artifacts", store, settings, log_slates=False)
        rec.spaces._model = HashTextModel()  # type: ignore[attr-defined]
        table = rec.spaces.neighbours  # type: ignore[attr-defined]
        assert table is not None, "the build wrote no neighbour table"
        cache = next(
            c for s in rec.sources if isinstance(c := getattr(s, "cache", None), SearchCache)
        )
        requests = []
        for listener in store.iter_listeners():
            uid = listener.listener_id
            requests.append(RecommendRequest(listener_id=uid, request_id=f"{uid}-plain"))
            history = store.listener_history(uid, limit=20).track_ids[:2]
            if len(history):
                requests.append(
                    RecommendRequest(
                        listener_id=uid,
                        request_id=f"{uid}-seeded",
                        context_track_ids=tuple(str(t) for t in history),
                    )
                )
        slates: dict[str, list[list[str]]] = {}
        for mode in ("search", "lookup", "cached"):
            rec.spaces.neighbours = None if mode == "search" else table  # type: ignore[attr-defined]
            cache.max_entries = 4096 if mode == "cached" else 0
            cache.clear()
            out = []
            for req in requests:
                if mode == "cached":
                    rec.recommend(req)
                out.append([i.track.track_id for i in rec.recommend(req).items])
            slates[mode] = out
        hit_rate = cache.hit_rate

    def compare(a: str, b: str) -> dict[str, Any]:
        pairs = list(zip(slates[a], slates[b], strict=True))
        differ = [(x, y) for x, y in pairs if x != y]
        return {
            "identical": len(pairs) - len(differ),
            "differ": len(differ),
            "differ_same_items_other_order": sum(set(x) == set(y) for x, y in differ),
            "items_replaced_where_differ": [len(set(x) - set(y)) for x, y in differ],
        }

    figures = {
        "tracks": tracks,
        "listeners": listeners,
        "requests": len(requests),
        "neighbours_per_track": table.k,
        "index": type(rec.spaces.indexes["fused"]).__name__,
        "index_kind": rec.spaces.indexes["fused"].kind,  # type: ignore[attr-defined]
        "search_vs_lookup": compare("search", "lookup"),
        "lookup_vs_cached": compare("lookup", "cached"),
        "cache_hit_rate": round(hit_rate, 3),
    }
    write_result("serving_paths_quick" if args.quick else "serving_paths", figures)


if __name__ == "__main__":
    main()
