"""What only the PostgreSQL store promises (the contract both backends keep is
test_contract.py): ledgers append-only even for a raw connection, migrations that run once when
several replicas open together, COPY bulk loads, and writes that stay ordered and whole under
concurrent writers in several processes."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import timedelta

import pandas as pd
import psycopg
import pytest

from recsys.domain import Artist, ConsentAction, ConsentScope, Credit, FeedbackEvent, Track
from recsys.errors import ConstraintError, StoreError
from recsys.store import IngestBatch, QuarantineRecord, open_store
from recsys.store.postgres import COPY_ROWS, PostgresStore, redact
from recsys.store.postgres_schema import LATEST_VERSION, MIGRATIONS
from tests.recsys.store.test_contract import T0, _batch, _grant


def test_open_store_picks_postgres_by_url(postgres_url: str) -> None:
    store = open_store(postgres_url)
    try:
        assert isinstance(store, PostgresStore)
        assert store.summary().schema_version == LATEST_VERSION
    finally:
        store.close()


def test_ledgers_are_append_only_even_for_a_raw_connection(postgres_url: str) -> None:
    store = PostgresStore(postgres_url, pool_size=1)
    try:
        store.append_consent([_grant("g1", "h1", ConsentScope.AI_TRAINING, T0)])
        store.record_quarantine(
            [QuarantineRecord(track_id="t1", quarantined=True, actor="screening", at=T0)]
        )
        for sql in ("UPDATE consent SET action = 'revoke'", "DELETE FROM consent"):
            with pytest.raises(ConstraintError, match="append-only"):
                store.execute_sql(sql)
    finally:
        store.close()
    with psycopg.connect(postgres_url, autocommit=True) as raw:
        for sql in (
            "DELETE FROM consent",
            "TRUNCATE consent",
            "UPDATE quarantine SET quarantined = 0",
            "TRUNCATE quarantine",
            "DELETE FROM play_flags",
            "DELETE FROM disputes",
        ):
            with pytest.raises(psycopg.errors.RestrictViolation, match="append-only"):
                raw.execute(sql)
    reopened = PostgresStore(postgres_url, pool_size=1)
    try:
        assert reopened.consent_state().allows("h1", ConsentScope.AI_TRAINING)
        assert reopened.quarantined_ids() == {"t1"}
    finally:
        reopened.close()


def test_refuses_a_newer_schema_and_names_the_fix(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as raw:
        raw.execute("INSERT INTO schema_version VALUES (99, 0)")
    with pytest.raises(StoreError, match="upgrade"):
        PostgresStore(postgres_url, pool_size=1)


def _open_and_count(url: str) -> int:
    store = PostgresStore(url, pool_size=1)
    try:
        return store.summary().schema_version
    finally:
        store.close()


def test_replicas_opening_an_empty_database_together_migrate_it_once(
    postgres_server: object,
) -> None:
    """Four processes open a database that has no tables yet: the migration lock lets one
    migrate, the others find it done; reopening changes nothing (idempotent)."""
    from tests.recsys.conftest import empty_database

    with empty_database(postgres_server) as url:  # type: ignore[arg-type]
        with multiprocessing.get_context("fork").Pool(4) as pool:
            versions = pool.map(_open_and_count, [url] * 4)
        assert versions == [LATEST_VERSION] * 4
        with psycopg.connect(url) as raw:
            rows = raw.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
        assert [r[0] for r in rows] == [n for n, _ in MIGRATIONS]
        assert _open_and_count(url) == LATEST_VERSION


def test_bulk_loads_go_through_copy_and_keep_the_upsert_rules(postgres_url: str) -> None:
    """A batch above COPY_ROWS takes the COPY path: same results as row by row, a repeated
    event id is ignored, a repeated track keeps its first receipt stamp."""
    store = PostgresStore(postgres_url, pool_size=1)
    n = COPY_ROWS * 3
    artist = Artist(artist_id="a1", name="Ada", rights_holder_id="h1")
    tracks = [
        Track(track_id=f"t{i:05d}", title=f"Song {i}", credits=(Credit(artist_id="a1", share=1),))
        for i in range(n)
    ]
    events = [
        FeedbackEvent(event_id=f"e{i}", listener_id="u1", track_id=f"t{i % n:05d}", at=T0)
        for i in range(n)
    ]
    try:
        store.ingest(IngestBatch(artists=[artist], tracks=tracks, events=events))
        first = store.get_track("t00000")
        renamed = [Track(track_id="t00000", title="Renamed", credits=tracks[0].credits)]
        frame = pd.DataFrame(
            {
                "event_id": [f"e{i}" for i in range(n, n + COPY_ROWS + 10)] + ["e0"],
                "listener_id": "u2",
                "track_id": "t00001",
                "event_type": "play",
                "at": pd.Timestamp(T0),
                "ms_played": pd.array([1000] * (COPY_ROWS + 11), dtype="Int64"),
                "weight": 1.0,
                "request_id": None,
                "position": pd.array([None] * (COPY_ROWS + 11), dtype="Int64"),
            }
        )
        store.ingest(IngestBatch(tracks=tracks[1:] + renamed, event_frame=frame))
        summary = store.summary()
        assert (summary.tracks, summary.events) == (n, n + COPY_ROWS + 10)
        again = store.get_track("t00000")
        assert first is not None and again is not None
        assert again.title == "Renamed" and again.received_at == first.received_at
        assert store.listener_events("u1", limit=1)[0].track_id.startswith("t")
        assert len(store.listener_events("u2")) == COPY_ROWS + 10
        assert len(store.read_frame("credits")) == n
    finally:
        store.close()


def _append_worker(url: str, worker: int, steps: int) -> list[tuple[int, str, int]]:
    """Append grants and revokes (each through its own replica's store), then read back the
    ledger version this process sees: (seq, entry id, version seen right after)."""
    store = PostgresStore(url, pool_size=2)
    seen = []
    try:
        for step in range(steps):
            action = ConsentAction.GRANT if (worker + step) % 2 else ConsentAction.REVOKE
            entry = _grant(f"w{worker}-{step}", "h1", ConsentScope.AI_TRAINING,
                           T0 + timedelta(days=365 * 7 * (step % 2)), action)  # fmt: skip
            [stored] = store.append_consent([entry])
            assert stored.seq is not None
            seen.append((stored.seq, entry.entry_id, store.consent_state().version))
            decision = QuarantineRecord(
                track_id=f"q{worker}",
                quarantined=bool(step % 2),
                actor=f"w{worker}",
                at=T0 - timedelta(days=step),
            )
            store.record_quarantine([decision])
    finally:
        store.close()
    return seen


def test_concurrent_writers_in_several_processes_keep_one_gapless_ledger_order(
    postgres_url: str,
) -> None:
    """Four processes append consent and quarantine decisions at once: every entry gets its
    own seq (1..N, no gap, no repeat), a writer's next read has seen its own entry, and the
    state is the last entry's by seq, whatever dates the entries state."""
    PostgresStore(postgres_url, pool_size=1).close()
    workers, steps = 4, 12
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        results = pool.starmap(_append_worker, [(postgres_url, w, steps) for w in range(workers)])
    appended = sorted(r for seen in results for r in seen)
    assert [seq for seq, *_ in appended] == list(range(1, workers * steps + 1))
    assert all(version >= seq for seq, _, version in appended)
    store = PostgresStore(postgres_url, pool_size=1)
    try:
        ledger = store.consent_ledger()
        assert [e.seq for e in ledger] == list(range(1, workers * steps + 1))
        last = ledger[-1]
        state = store.consent_state()
        assert state.allows("h1", ConsentScope.AI_TRAINING) == (last.action == ConsentAction.GRANT)
        # Each worker's last quarantine decision (step 11: quarantined) is in force.
        assert store.quarantined_ids() == {f"q{w}" for w in range(workers)}
        seqs = store.read_frame("quarantine")["seq"].tolist()
        assert seqs == sorted(seqs) and len(set(seqs)) == workers * steps
    finally:
        store.close()


def test_threads_sharing_one_store_write_events_idempotently(postgres_url: str) -> None:
    """Eight threads log overlapping event ids through one pool: each id is stored once and
    the new-row counts add up."""
    store = PostgresStore(postgres_url)
    store.ingest(_batch())
    counts: list[int] = []
    failures: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(10):
                ids = [f"x{(n + j) % 4}-{i}" for j in range(2)]  # threads collide on purpose
                counts.append(store.add_events([
                    FeedbackEvent(event_id=e, listener_id="u1", track_id="t1", at=T0)
                    for e in ids
                ]))  # fmt: skip
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert failures == []
        assert sum(counts) == 40 and store.summary().events == 2 + 40
    finally:
        store.close()


def test_a_wrong_url_is_a_store_error_without_the_password() -> None:
    url = "postgresql://liner:s3cret@/nodb?host=/nonexistent&connect_timeout=1"
    with pytest.raises(StoreError, match="cannot open the PostgreSQL store") as raised:
        PostgresStore(url, pool_size=1, connect_timeout=2.0)
    assert "s3cret" not in str(raised.value)
    assert redact("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"


def test_a_forked_child_is_told_to_open_its_own_store(postgres_url: str) -> None:
    store = PostgresStore(postgres_url, pool_size=2)
    store.consent_version()  # this thread holds a connection now
    context = multiprocessing.get_context("fork")
    answers = context.SimpleQueue()

    def child() -> None:
        try:
            store.consent_version()
            answers.put("no error")
        except StoreError as exc:
            answers.put(str(exc))

    try:
        process = context.Process(target=child)
        process.start()
        process.join(30)
        assert "open a new store in the child process" in answers.get()
        assert store.consent_version() == 0  # the parent's connection is intact
    finally:
        store.close()
