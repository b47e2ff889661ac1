"""The store's write and read paths, SQLite against PostgreSQL, in one run on one machine.

Both stores are durable as configured for production: SQLite in WAL mode with
``synchronous=FULL``; PostgreSQL a local cluster (``recsys.store.postgres_local``, Unix socket,
the server's default ``fsync=on`` and ``synchronous_commit=on``) reached through a pool.

- **ingest**: one all-or-nothing ``IngestBatch`` of a catalog (100k tracks, 10k artists, 200
  listeners; 20k tracks with ``--quick``) and an event frame (300k events; 60k), into a fresh
  store, ``reps`` times per backend alternating; rows/s from the median.
- **event writes**: ``add_events`` in batches of 10 (a ``LogEvents`` call), back to back, from
  1 and from 4 threads, in alternating rounds; events/s per round, median.
- **Recommend**: the real pipeline (FAISS indexes and a 150-tree reranker over the same
  synthetic 100k catalog as ``benchmarks/pipeline.py``) with each store behind it: listener
  history, consent version and held tracks read per request, slates logged in the
  background. Requests alternate in blocks of 50 between the backends; p50/p99 per backend.
- **revocation across replicas**: two PostgreSQL store handles (replica A and B, each with its
  own pool and recommender); a consent revocation appended through A, then requests through
  B until its slates stop serving the revoked holder's imitation tracks (target: the next
  request).

    python -m benchmarks.store --quick     # 20k-track ingest, 100k Recommend catalog
    python -m benchmarks.store             # 100k
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd

from benchmarks.report import parser, write_result
from recsys.domain import (
    IMITATION_SCOPES,
    Artist,
    ArtistKind,
    ConsentAction,
    ConsentEntry,
    Credit,
    FeedbackEvent,
    Listener,
    Provenance,
    Track,
)
from recsys.domain import AiInvolvement as Ai
from recsys.store import IngestBatch, QuarantineRecord, SqliteStore, Store

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


IMITATED = 50
"""Holders whose style AI tracks imitate (with their consent, granted in the ledger)."""


def imitation_refs(n_tracks: int, n_artists: int) -> np.ndarray:
    """The referenced artist row per track (-1: none): every fourth AI-generated track (artist
    row divisible by 5, as in ``benchmarks.pipeline.synthetic_catalog``) imitates one of
    :data:`IMITATED` artists, so revoking one holder's consent changes what is served."""
    rows = np.arange(n_tracks)
    ai = (rows % n_artists) % 5 == 0
    imitated = 1 + 10 * ((rows // 4) % IMITATED)
    return np.where(ai & (rows % 4 == 0), imitated % n_artists, -1)


def catalog_batch(n_tracks: int, n_artists: int, listeners: int, events: int) -> IngestBatch:
    """The synthetic catalog of ``benchmarks/pipeline.py`` as store rows, with an event frame."""
    rng = np.random.default_rng(0)
    artists = [
        Artist(artist_id=f"a{a}", name=f"Artist {a}",
               kind=ArtistKind.HUMAN if a % 5 else ArtistKind.AI_PERSONA,
               verified=a % 3 == 0, rights_holder_id=f"a{a}")
        for a in range(n_artists)
    ]  # fmt: skip
    refs = imitation_refs(n_tracks, n_artists)
    tracks = [
        Track(
            track_id=f"t{i}",
            title=f"Song {i}",
            credits=(Credit(artist_id=f"a{i % n_artists}", share=1.0),),
            genre=f"g{i % 20}",
            tags=("calm", "folk") if i % 2 else ("loud",),
            duration_ms=180_000,
            provenance=Provenance(
                ai_involvement=Ai.GENERATED if (i % n_artists) % 5 == 0 else Ai.NONE,
                references_artist_ids=(f"a{refs[i]}",) if refs[i] >= 0 else (),
            ),
        )
        for i in range(n_tracks)
    ]
    people = [Listener(listener_id=f"u{u}") for u in range(listeners)]
    history = [
        FeedbackEvent(event_id=f"h{u}_{j}", listener_id=f"u{u}", track_id=f"t{int(r)}",
                      at=T0 - dt.timedelta(minutes=j))
        for u in range(listeners)
        for j, r in enumerate(rng.integers(0, n_tracks, 100))
    ]  # fmt: skip
    frame = pd.DataFrame(
        {
            "event_id": [f"b{i}" for i in range(events)],
            "listener_id": [f"u{int(u)}" for u in rng.integers(0, listeners, events)],
            "track_id": [f"t{int(t)}" for t in rng.integers(0, n_tracks, events)],
            "event_type": "play",
            "at": pd.Timestamp(T0) - pd.to_timedelta(rng.integers(0, 10**9, events), unit="s"),
            "ms_played": pd.array(rng.integers(1000, 300_000, events), dtype="Int64"),
            "weight": 1.0,
            "request_id": None,
            "position": pd.array([None] * events, dtype="Int64"),
            "sender": "ingest:bench",
        }
    )
    consent = [
        ConsentEntry(entry_id=f"c{a}_{s.value}", rights_holder_id=f"a{a}", scope=s,
                     action=ConsentAction.GRANT, actor="bench", at=T0)
        for a in sorted({int(r) for r in refs if r >= 0})
        for s in IMITATION_SCOPES
    ]  # fmt: skip
    return IngestBatch(
        artists=artists,
        tracks=tracks,
        listeners=people,
        events=history,
        consent=consent,
        event_frame=frame,
    )


def rows(batch: IngestBatch) -> int:
    frame = 0 if batch.event_frame is None else len(batch.event_frame)
    return sum(map(len, (batch.artists, batch.tracks, batch.listeners, batch.events))) + frame


class Backends:
    """Fresh stores of either kind: SQLite files in a folder, databases on one local server."""

    def __init__(self, root: Path, server: Any) -> None:
        self.root, self.server, self.n = root, server, 0

    def fresh(self, kind: str) -> Store:
        self.n += 1
        if kind == "sqlite":
            return SqliteStore(self.root / f"s{self.n}.db")
        import psycopg

        from recsys.store.postgres import PostgresStore

        with psycopg.connect(self.server.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE b{self.n}")
        return PostgresStore(self.server.url(f"b{self.n}"))

    def again(self, store: Store) -> Store:
        """Another handle on the same database (another replica)."""
        from recsys.store.postgres import PostgresStore

        assert isinstance(store, PostgresStore)
        return PostgresStore(store.url)


@contextlib.contextmanager
def local_server(root: Path) -> Iterator[Any]:
    from recsys.store.postgres_local import LocalPostgres

    with LocalPostgres.start(root / "pg", stop_mode="immediate") as server:
        yield server


def event_rate(store: Store, threads: int, seconds: float, tag: str) -> float:
    """Events/s of ``add_events`` batches of 10 from ``threads`` threads for ``seconds``."""
    counts = [0] * threads
    deadline = time.perf_counter() + seconds

    def work(n: int) -> None:
        i = 0
        while time.perf_counter() < deadline:
            store.add_events(
                FeedbackEvent(event_id=f"{tag}-{n}-{i}-{j}", listener_id=f"u{(i + j) % 200}",
                              track_id=f"t{(7 * i + j) % 1000}", at=T0, sender="feedback:x")
                for j in range(10)
            )  # fmt: skip
            counts[n] += 10
            i += 1

    start = time.perf_counter()
    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def recommenders(stores: dict[str, Store], n: int) -> tuple[dict[str, Any], Any, Any]:
    """One pipeline per store over one synthetic catalog (indexes built once)."""
    import faiss

    from benchmarks.pipeline import ArraySpaces, synthetic_catalog, synthetic_reranker
    from recsys.pipeline.recommender import PipelineRecommender
    from recsys.pipeline.reranker import LightGbmReranker
    from recsys.pipeline.slate_log import SlateLogger

    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(0)
    spaces = ArraySpaces(n, rng)
    catalog = synthetic_catalog(n, n // 10, rng)
    refs = imitation_refs(n, n // 10)
    catalog = dataclasses.replace(
        catalog,
        ref_ptr=np.concatenate([[0], np.cumsum(refs >= 0)]).astype(np.int64),
        ref_artist=refs[refs >= 0].astype(np.int32),
    )
    recs: dict[str, Any] = {}
    compiled = None
    for name, store in stores.items():
        rec = PipelineRecommender(
            spaces=spaces, catalog=catalog, store=store, slate_logger=SlateLogger(store)
        )
        if compiled is None:
            reranker = synthetic_reranker(rec.features.names, rng)
            compiled = LightGbmReranker(
                booster=reranker.booster, feature_names=reranker.feature_names
            ).compile()
        rec.scorers = {"default": compiled}
        recs[name] = rec
    return recs, spaces, catalog


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--reps", type=int, default=3, help="ingests per backend")
    p.add_argument("--requests", type=int, default=600, help="Recommend calls per backend")
    p.add_argument("--seconds", type=float, default=4.0, help="length of one event-write round")
    p.add_argument("--catalog", type=int, default=100_000, help="tracks behind Recommend")
    p.add_argument("--name", default=None, help="result file name (default store[_quick])")
    args = p.parse_args()
    from recsys.params import CandidateQuotas, PolicyParams
    from recsys.pipeline.api import RecommendRequest

    n_ingest, n_events = (20_000, 60_000) if args.quick else (100_000, 300_000)
    n_catalog = args.catalog
    kinds = ("sqlite", "postgres")
    figures: dict[str, Any] = {"ingest": {}, "event_writes": {}, "recommend": {}}
    with tempfile.TemporaryDirectory(prefix="liner-store-bench-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # the server (user postgres) reaches its folder
        with local_server(root) as server:
            backends = Backends(root, server)
            # Ingest: fresh stores, alternating backends.
            batch = catalog_batch(n_ingest, n_ingest // 10, 200, n_events)
            seconds: dict[str, list[float]] = {k: [] for k in kinds}
            for rep in range(args.reps):
                for kind in kinds if rep % 2 == 0 else kinds[::-1]:
                    store = backends.fresh(kind)
                    start = time.perf_counter()
                    store.ingest(batch)
                    seconds[kind].append(time.perf_counter() - start)
                    store.close()
            for kind in kinds:
                med = statistics.median(seconds[kind])
                figures["ingest"][kind] = {
                    "rows": rows(batch),
                    "seconds_median": round(med, 3),
                    "rows_per_s": round(rows(batch) / med),
                    "runs_s": [round(s, 3) for s in seconds[kind]],
                }
            figures["ingest"]["postgres_over_sqlite_rows_per_s"] = round(
                figures["ingest"]["postgres"]["rows_per_s"]
                / figures["ingest"]["sqlite"]["rows_per_s"],
                2,
            )
            batch = IngestBatch()  # free the rows
            # The Recommend catalog, screened, in one store of each kind.
            full = catalog_batch(n_catalog, n_catalog // 10, 200, 0)
            stores = {kind: backends.fresh(kind) for kind in kinds}
            for store in stores.values():
                store.ingest(full)
                store.finish_screening(screened=store.unscreened_marks())
                store.record_quarantine(
                    QuarantineRecord(track_id=f"t{i}", quarantined=True, actor="bench", at=T0)
                    for i in range(0, n_catalog, n_catalog // 100)
                )
            # Event writes, alternating rounds.
            for threads in (1, 4):
                rates: dict[str, list[float]] = {k: [] for k in kinds}
                for rnd in range(3):
                    for kind in kinds if rnd % 2 == 0 else kinds[::-1]:
                        tag = f"w{threads}-{rnd}"
                        rates[kind].append(event_rate(stores[kind], threads, args.seconds, tag))
                per = {k: round(statistics.median(v)) for k, v in rates.items()}
                figures["event_writes"][f"threads_{threads}"] = {
                    **{f"{k}_events_per_s": v for k, v in per.items()},
                    "rounds": {k: [round(r) for r in v] for k, v in rates.items()},
                    "postgres_over_sqlite": round(per["postgres"] / per["sqlite"], 2),
                }
            # Recommend, alternating blocks.
            replica_b = backends.again(stores["postgres"])
            recs, _, catalog = recommenders({**stores, "postgres_b": replica_b}, n_catalog)
            params = PolicyParams(
                candidates=CandidateQuotas(personal=300, item_to_item=150, emerging=50, popular=100)
            )
            reqs = [
                RecommendRequest(listener_id=f"u{i % 200}", k=10, params=params)
                for i in range(args.requests)
            ]
            for kind in kinds:
                for req in reqs[:20]:
                    recs[kind].recommend(req)  # warm-up: caches, numba, connections
            times: dict[str, list[float]] = {k: [] for k in kinds}
            for start in range(0, len(reqs), 50):
                for kind in kinds if (start // 50) % 2 == 0 else kinds[::-1]:
                    for req in reqs[start : start + 50]:
                        t = time.perf_counter()
                        recs[kind].recommend(req)
                        times[kind].append((time.perf_counter() - t) * 1000.0)
            for kind in kinds:
                figures["recommend"][kind] = {
                    "p50_ms": round(float(np.percentile(times[kind], 50)), 3),
                    "p99_ms": round(float(np.percentile(times[kind], 99)), 3),
                    "requests": len(times[kind]),
                }
            figures["recommend"]["postgres_over_sqlite_p50"] = round(
                figures["recommend"]["postgres"]["p50_ms"]
                / figures["recommend"]["sqlite"]["p50_ms"],
                2,
            )
            figures["revocation_across_replicas"] = revocation_trials(
                recs["postgres"], recs["postgres_b"], stores["postgres"], catalog, params
            )
            for rec in recs.values():
                logger = getattr(rec, "slate_logger", None)
                if logger is not None:
                    logger.close()
            for store in (*stores.values(), replica_b):
                store.close()
    figures["catalog_tracks_recommend"] = n_catalog
    figures["ingest_tracks"] = n_ingest
    figures["load_average"] = os.getloadavg()
    write_result(args.name or ("store_quick" if args.quick else "store"), figures)


def revocation_trials(
    rec_a: Any, rec_b: Any, store_a: Store, catalog: Any, params: Any, trials: int = 10
) -> dict[str, Any]:
    """Find requests whose slate from replica B holds an AI track imitating a consenting
    holder; revoke that holder's imitation consent through replica A's store; count B's
    requests (the same request again) until none of the holder's imitating tracks is served."""
    from recsys.pipeline.api import RecommendRequest

    holders_of: dict[str, set[str]] = {}
    for row in range(len(catalog.track_ids)):
        if catalog.ai_code[row] == 0:
            continue
        for ref in catalog.ref_artist[catalog.ref_ptr[row] : catalog.ref_ptr[row + 1]]:
            holders_of.setdefault(str(catalog.track_ids[row]), set()).add(
                str(catalog.artist_rights_holder[ref])
            )
    imitating: dict[str, set[str]] = {}
    for track, holders in holders_of.items():
        for holder in holders:
            imitating.setdefault(holder, set()).add(track)
    loose = params.model_copy(
        update={"ai_generated_cap": 0.5, "human_artist_boost": 0.0, "mmr_lambda": 1.0}
    )
    needed: list[int] = []
    revoked: set[str] = set()
    for u in range(200):
        if len(needed) >= trials:
            break
        req = RecommendRequest(listener_id=f"u{u}", k=20, params=loose)
        served = {i.track.track_id for i in rec_b.recommend(req).items}
        holders = {h for t in served & holders_of.keys() for h in holders_of[t]} - revoked
        if not holders:
            continue
        holder = sorted(holders)[0]
        revoked.add(holder)
        store_a.append_consent(
            ConsentEntry(entry_id=f"rv-{holder}-{s.value}", rights_holder_id=holder, scope=s,
                         action=ConsentAction.REVOKE, actor="bench", at=T0)
            for s in IMITATION_SCOPES
        )  # fmt: skip
        for n in range(1, 11):
            if not {i.track.track_id for i in rec_b.recommend(req).items} & imitating[holder]:
                needed.append(n)
                break
        else:
            needed.append(11)
    return {
        "trials": len(needed),
        "requests_until_it_holds": needed,
        "max": max(needed, default=0),
        "target": 1,
    }


if __name__ == "__main__":
    main()
