"""The PostgreSQL store: one database that several service replicas share.

Same interface, columns and guarantees as :class:`~recsys.store.sqlite.SqliteStore` (its module
documents the ``read_frame`` columns); the read and write paths both ask the same way are one
SQL in :class:`~recsys.store.sql.SqlStore`. The differences are in how they are kept:

- **Connections**: a psycopg 3 connection pool (``LINER_PG_POOL_MAX``, default 32, opened
  lazily); each thread takes one connection on its first call and keeps it, as SQLite keeps one
  per thread (a checkout per query cost more than the query). Autocommit for reads (each query
  sees the latest commit), an explicit transaction per write.
- **Writers**: SQLite has one writer at a time. Here, writes that hand out an order (receipt
  stamps of the catalog, consent ``seq``, the quarantine, dispute and play-flag audits,
  unscreened marks) take one transaction-scoped advisory lock (:data:`WRITER_LOCK`), so those
  numbers are assigned in commit order: a reader that saw version *n* has seen every entry up
  to *n*, which is what the per-process caches (consent state, held tracks, flagged plays)
  rely on to stay correct on every replica. Event and slate writes take no lock.
- **Clock**: receipt times (``received_at`` of rows, events and consent entries) come from the
  database server's clock inside the write transaction, so every replica stamps on one clock;
  tests pass ``clock`` instead.
- **Bulk loads**: batches above :data:`COPY_ROWS` rows go through ``COPY`` into a temporary
  table, then one ``INSERT ... SELECT ... ON CONFLICT``, in the same transaction.
- **Append-only**: triggers refuse UPDATE, DELETE and TRUNCATE on the ledgers
  (``migrations_postgres/0001_initial.sql``); a refused write is a ``ConstraintError``.

Example:
    store = PostgresStore("postgresql://liner@db/liner")
    print(store.summary())
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import psycopg
import psycopg_pool
from psycopg.conninfo import conninfo_to_dict

from recsys.domain import (
    Artist,
    ConsentEntry,
    FeedbackEvent,
    Track,
)
from recsys.errors import ConstraintError, StoreError
from recsys.store import codec, frames
from recsys.store import postgres_state as state
from recsys.store.base import (
    IngestBatch,
    ReloadNotice,
    StoreSummary,
)
from recsys.store.postgres_schema import migrate
from recsys.store.sql import VERSION_SQL, SqlStore, log_ingest

logger = logging.getLogger(__name__)

WRITER_LOCK = 0x4C494E4552_02
"""Advisory lock key of the writes that assign an order (``LINER`` + 2)."""
RELOAD_CHANNEL = "liner_reload"
"""The NOTIFY channel of reload announcements (the payload is the reload's seq)."""
COPY_ROWS = 256
"""Batches with more rows than this are loaded with COPY through a temporary table."""
BATCH_GAP_US = 1000
"""Receipt stamps of two write transactions are at least this far apart (microseconds)."""

Cursor = psycopg.Cursor[Any]

_TABLE_SQL = {
    **frames.TABLE_SQL,
    # SQLite sorts NULL first; PostgreSQL last unless told.
    "events": frames.TABLE_SQL["events"].replace("ORDER BY at,", "ORDER BY at NULLS FIRST,"),
}


def redact(url: str) -> str:
    """``url`` without its password, for messages."""
    head, sep, tail = url.partition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, user = head.partition("//")
    return f"{scheme}//{user.split(':', 1)[0]}:***@{tail}"


class PostgresStore(SqlStore):
    """A :class:`Store` in a PostgreSQL database, shared by any number of processes.

    Args:
        url: a ``postgresql://`` connection URL (libpq syntax, e.g.
            ``postgresql://liner:secret@db:5432/liner`` or
            ``postgresql://liner@/liner?host=/run/postgresql`` for a Unix socket).
        clock: the receipt clock (default: the database server's clock); tests pass one.
        pool_size: most connections this process holds, i.e. most threads using the store
            at once (default ``LINER_PG_POOL_MAX`` or 32).

    Raises:
        StoreError: the database cannot be reached or migrated.
    """

    MARK = "%s"
    TABLE_SQL = _TABLE_SQL

    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], datetime] | None = None,
        pool_size: int | None = None,
        connect_timeout: float | None = None,
    ) -> None:
        self.url = url
        self._where = redact(url)
        self._clock = clock
        size = pool_size or int(os.environ.get("LINER_PG_POOL_MAX", "32"))
        timeout = connect_timeout or float(os.environ.get("LINER_PG_CONNECT_S", "30"))
        self._held_cache: tuple[tuple[Any, ...], frozenset[str]] | None = None
        self._listener: psycopg.Connection[Any] | None = None
        self._closing = False
        self._local = threading.local()
        self._lock = threading.Lock()
        self._held: dict[int, psycopg.Connection[Any]] = {}
        self._pid = os.getpid()
        self._connect_timeout = timeout
        try:
            # One direct connection first: a wrong URL or a server that is down fails here,
            # at once and with the server's own reason, instead of as a pool timeout.
            with psycopg.connect(
                url, autocommit=True, connect_timeout=max(1, round(timeout))
            ) as conn:
                self.schema_version = migrate(conn)
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot open the PostgreSQL store at {self._where}: {_reason(exc, url)}. Fix: "
                "check that the server is up and the URL names an existing database and user"
            ) from exc
        self._pool = psycopg_pool.ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, size),
            kwargs={"autocommit": True},
            timeout=timeout,
            open=False,
            name="liner-store",
        )
        try:
            self._pool.open(wait=True, timeout=timeout)
        except psycopg_pool.PoolTimeout as exc:
            self._pool.close()
            raise StoreError(
                f"cannot open a connection pool to {self._where} within {timeout:.0f} s. Fix: "
                "check the server's max_connections and LINER_PG_POOL_MAX"
            ) from exc

    # Connections and transactions.

    def _conn(self) -> psycopg.Connection[Any]:
        """This thread's connection: taken from the pool on the thread's first call and kept
        (a checkout per query cost more than the query: 0.65 against 0.12 ms on a local
        socket). Connections of threads that have ended go back to the pool when it runs out.
        """
        if os.getpid() != self._pid:
            # The pool's threads and sockets belong to the parent: sharing a socket between
            # processes would interleave their messages.
            raise StoreError(
                f"this store of {self._where} was opened by process {self._pid}. Fix: open "
                "a new store in the child process (open_store(url))"
            )
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is not None and not conn.closed:
            return conn
        if self._closing:
            raise StoreError(f"the store at {self._where} is closed")
        try:
            conn = self._pool.getconn(timeout=0.05)
        except psycopg_pool.PoolTimeout:
            self._reclaim()
            try:
                conn = self._pool.getconn()
            except psycopg_pool.PoolTimeout as exc:
                raise StoreError(
                    f"no free connection to {self._where}: more threads use the store than "
                    f"LINER_PG_POOL_MAX ({self._pool.max_size}). Fix: raise it ({exc})"
                ) from exc
        self._local.conn = conn
        with self._lock:
            self._held[threading.get_ident()] = conn
        return conn

    def _reclaim(self) -> None:
        """Return the connections of threads that have ended to the pool."""
        alive = {t.ident for t in threading.enumerate()}
        with self._lock:
            gone = [i for i in self._held if i not in alive]
            conns = [self._held.pop(i) for i in gone]
        for conn in conns:
            self._pool.putconn(conn)

    def _drop(self, conn: psycopg.Connection[Any]) -> None:
        """Give back a connection that failed (the pool replaces a broken one)."""
        self._local.conn = None
        with self._lock:
            self._held.pop(threading.get_ident(), None)
        with contextlib.suppress(Exception):
            self._pool.putconn(conn)

    @contextlib.contextmanager
    def _read(self) -> Iterator[Cursor]:
        conn = self._conn()
        try:
            with conn.cursor() as cur:
                yield cur
        except psycopg.Error as exc:
            if conn.broken or conn.closed:
                self._drop(conn)
            raise StoreError(f"read from {self._where} failed: {exc}") from exc

    @contextlib.contextmanager
    def _write(self, *, ordered: bool = True) -> Iterator[Cursor]:
        """One write transaction: all of it commits, or none of it. ``ordered`` takes the
        writer lock first (see the module docstring)."""
        conn = self._conn()
        try:
            with conn.transaction(), conn.cursor() as cur:
                if ordered:
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
                yield cur
        except psycopg.errors.IntegrityError as exc:
            raise ConstraintError(
                f"the write breaks a constraint of the store and was rolled back "
                f"({exc.diag.message_primary or exc}). Fix: check that every reference exists "
                "(credited artists) and that no append-only record is edited"
            ) from exc
        except psycopg.Error as exc:
            if conn.broken or conn.closed:
                self._drop(conn)
            raise StoreError(f"write to {self._where} failed and was rolled back: {exc}") from exc

    def _query(self, sql: str, params: Sequence[Any] | None = None) -> list[Any]:
        with self._read() as cur:
            return cur.execute(sql, params).fetchall()

    def _now(self, cur: Cursor) -> int:
        """The receipt clock in microseconds: the given clock, else the server's."""
        if self._clock is not None:
            return int(codec.to_micros(self._clock()) or 0)
        row = cur.execute(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
        ).fetchone()
        assert row is not None
        return int(row[0])

    def execute_sql(self, sql: str, params: Sequence[Any] | None = None) -> list[Any]:
        """Run raw SQL in its own transaction (for operators and tests); triggers still apply.

        Raises:
            StoreError: the statement failed, e.g. it tried to edit the consent ledger.
        """
        with self._write(ordered=False) as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    # Writes.

    def ingest(self, batch: IngestBatch) -> None:
        with self._write() as cur:
            now = self._now(cur)
            stamps = self._receipt_stamps(cur, now)
            _upsert(cur, "artists", codec.ARTIST_COLUMNS, map(codec.artist_row, batch.artists),
                    stamps)  # fmt: skip
            # Written and marked unscreened in one transaction, as in SQLite.
            changed = state.changed_tracks(cur, batch.tracks)
            self._upsert_tracks(cur, batch.tracks, stamps)
            state.mark_unscreened(cur, changed)
            _upsert(cur, "listeners", codec.LISTENER_COLUMNS,
                    map(codec.listener_row, batch.listeners), stamps)  # fmt: skip
            rows: list[tuple[Any, ...]] = [(*codec.event_row(e), now) for e in batch.events]
            if batch.event_frame is not None:
                # The store's receipt time overrides any column of that name in the input.
                rows.extend(frames.event_rows(batch.event_frame.assign(received_at=now)))
            _insert_events(cur, rows)
            self._append_consent(cur, batch.consent, now)
        log_ingest(batch)

    @staticmethod
    def _receipt_stamps(cur: Cursor, now: int) -> Iterator[int]:
        """Receipt stamps as in SQLite: at least ``BATCH_GAP_US`` after every stored stamp,
        one microsecond apart (under the writer lock)."""
        row = cur.execute(
            "SELECT greatest((SELECT max(received_at) FROM artists), "
            "(SELECT max(received_at) FROM tracks), (SELECT max(received_at) FROM listeners))"
        ).fetchone()
        last = int(row[0]) if row is not None and row[0] is not None else 0
        stamp = max(now, last + BATCH_GAP_US)
        while True:
            yield stamp
            stamp += 1

    @staticmethod
    def _upsert_tracks(cur: Cursor, tracks: Sequence[Track], stamps: Iterator[int]) -> None:
        if not tracks:
            return
        _upsert(cur, "tracks", codec.TRACK_COLUMNS, map(codec.track_row, tracks), stamps)
        latest = {t.track_id: t for t in tracks}  # a track repeated in a batch: the last wins
        cur.execute("DELETE FROM credits WHERE track_id = ANY(%s)", (list(latest),))
        _insert(
            cur,
            "credits",
            ("track_id", "artist_id", "role", "share", "ord"),
            [
                (t.track_id, c.artist_id, str(c.role), float(c.share), i)
                for t in latest.values()
                for i, c in enumerate(t.credits)
            ],
            "",
        )

    def append_consent(self, entries: Iterable[ConsentEntry]) -> list[ConsentEntry]:
        with self._write() as cur:
            return self._append_consent(cur, entries, self._now(cur))

    @staticmethod
    def _append_consent(
        cur: Cursor, entries: Iterable[ConsentEntry], now: int
    ) -> list[ConsentEntry]:
        """Append under the writer lock: each new entry gets the next ``seq`` (no gaps, in
        commit order) and the receipt clock; an entry id already in the ledger is skipped."""
        entries = list(entries)
        if not entries:
            return []
        known = {
            r[0]
            for r in cur.execute(
                "SELECT entry_id FROM consent WHERE entry_id = ANY(%s)",
                ([e.entry_id for e in entries],),
            ).fetchall()
        }
        row = cur.execute("SELECT coalesce(max(seq), 0) FROM consent").fetchone()
        seq = int(row[0]) if row is not None else 0
        received = codec.from_micros(now)
        assert received is not None
        appended, rows = [], []
        for entry in entries:
            if entry.entry_id in known:
                continue
            known.add(entry.entry_id)
            seq += 1
            rows.append((seq, *codec.consent_row(entry, received)))
            appended.append(replace(entry, seq=seq, received_at=received))
        if rows:
            cur.executemany(
                f"INSERT INTO consent (seq, {', '.join(codec.CONSENT_COLUMNS)}, received_at) "
                f"VALUES ({', '.join(['%s'] * (len(codec.CONSENT_COLUMNS) + 2))})",
                rows,
            )
        return appended

    def add_events(self, events: Iterable[FeedbackEvent]) -> int:
        events = list(events)
        if not events:
            return 0
        with self._write(ordered=False) as cur:
            now = self._now(cur)
            return _insert_events(cur, [(*codec.event_row(e), now) for e in events])

    # Reads.

    def get_track(self, track_id: str) -> Track | None:
        # One round trip: the credits come back as arrays in credit order.
        rows = self._query(_GET_TRACK, (track_id,))
        if not rows:
            return None
        *row, artists, roles, shares = rows[0]
        credits = zip(artists or (), roles or (), shares or (), strict=True)
        return codec.row_track(row, tuple(codec.row_credit(c) for c in credits))

    def get_tracks(self, track_ids: Iterable[str]) -> dict[str, Track]:
        wanted = list(dict.fromkeys(track_ids))
        if not wanted:
            return {}
        found: dict[str, Track] = {}
        for *row, artists, roles, shares in self._query(_GET_TRACKS, (wanted,)):
            credits = zip(artists or (), roles or (), shares or (), strict=True)
            found[row[0]] = codec.row_track(row, tuple(codec.row_credit(c) for c in credits))
        return found

    def get_artists(self, artist_ids: Iterable[str]) -> dict[str, Artist]:
        wanted = list(dict.fromkeys(artist_ids))
        if not wanted:
            return {}
        rows = self._query(
            f"SELECT {', '.join(codec.ARTIST_READ_COLUMNS)} FROM artists WHERE artist_id = ANY(%s)",
            (wanted,),
        )
        return {r[0]: codec.row_artist(r) for r in rows}

    def unknown_ids(self, kind: str, ids: Iterable[str]) -> frozenset[str]:
        key = {"artists": "artist_id", "tracks": "track_id", "listeners": "listener_id"}.get(kind)
        if key is None:
            raise ValueError(f"kind must be artists, tracks or listeners, not {kind!r}")
        wanted = sorted(set(ids))
        if not wanted:
            return frozenset()
        rows = self._query(f"SELECT {key} FROM {kind} WHERE {key} = ANY(%s)", (wanted,))
        return frozenset(wanted) - {r[0] for r in rows}

    def held_ids(self) -> frozenset[str]:
        # Read on every request, so one round trip reads the versions of all three records
        # (the audits' largest seq; the unscreened marks' count, max and sum), and the same
        # set object comes back until one of them moves, as in SQLite.
        versions = tuple(int(v) for v in self._query(_HELD_VERSIONS_SQL)[0])
        cached = self._held_cache
        if cached is not None and cached[0] == versions:
            return cached[1]
        quarantined, disputed = self._quarantined(versions[0]), self._disputed(versions[1])
        ids = quarantined | disputed | self.unscreened_ids()
        self._held_cache = (versions, ids)
        return ids

    def _read_table(self, sql: str) -> tuple[list[Any], list[str]]:
        with self._read() as cur:
            rows = cur.execute(sql).fetchall()
            return rows, [d.name for d in cur.description or ()]

    def count_by(self, table: str, column: str) -> dict[str, int]:
        known = {
            r[0]
            for r in self._query(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %s",
                (table,),
            )
        }
        if column not in known or table not in frames.TABLE_SQL:
            return super().count_by(table, column)
        rows = self._query(f'SELECT "{column}", count(*) FROM {table} GROUP BY 1')
        return {("" if k is None else str(k)): int(n) for k, n in rows}

    def summary(self) -> StoreSummary:
        with self._read() as cur:
            row = cur.execute(
                "SELECT (SELECT count(*) FROM artists), (SELECT count(*) FROM tracks), "
                "(SELECT count(*) FROM listeners), (SELECT count(*) FROM events), "
                "(SELECT count(*) FROM consent), (SELECT max(version) FROM schema_version)"
            ).fetchone()
        assert row is not None
        return StoreSummary(
            artists=int(row[0]),
            tracks=int(row[1]),
            listeners=int(row[2]),
            events=int(row[3]),
            consent_entries=int(row[4]),
            quarantined=len(self.quarantined_ids()),
            schema_version=int(row[5]),
        )

    # Agent sessions (``SqlStore`` and ``agent_sessions`` hold their paths). No writer lock:
    # a claim is one conditional UPDATE, which the row lock makes exclusive; the clock is the
    # database server's, so every replica measures idle time on one clock.

    @contextlib.contextmanager
    def _session_write(self) -> Iterator[tuple[Cursor, int]]:
        """A write transaction for agent sessions and the receipt clock, in one round trip.
        It commits without waiting for the flush to disk (``synchronous_commit off``): a
        server crash may lose the last session turns, never corrupt anything, and the flush
        was most of a session write's time."""
        with self._write(ordered=False) as cur:
            row = cur.execute(
                "SELECT set_config('synchronous_commit', 'off', true), "
                "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
            ).fetchone()
            assert row is not None
            clock = self._clock
            yield cur, int(codec.to_micros(clock()) or 0) if clock is not None else int(row[1])

    # Replicas.

    shares_reloads = True

    def announce_reload(self, artifact_dir: str, version: str, by: str = "") -> ReloadNotice:
        with self._write(ordered=False) as cur:
            at = self._now(cur)
            row = cur.execute(
                "INSERT INTO reloads (artifact_dir, version, announced_by, at) "
                "VALUES (%s, %s, %s, %s) RETURNING seq",
                (artifact_dir, version, by, at),
            ).fetchone()
            assert row is not None
            # Delivered when the transaction commits, so a woken replica finds the row.
            cur.execute("SELECT pg_notify(%s, %s)", (RELOAD_CHANNEL, str(row[0])))
        return ReloadNotice(
            seq=int(row[0]),
            artifact_dir=artifact_dir,
            version=version,
            announced_by=by,
            at=codec.from_micros(at) or codec.EPOCH,
        )

    def latest_reload(self) -> ReloadNotice | None:
        rows = self._query(
            "SELECT seq, artifact_dir, version, announced_by, at FROM reloads "
            "ORDER BY seq DESC LIMIT 1"
        )
        if not rows:
            return None
        seq, artifact_dir, version, by, at = rows[0]
        return ReloadNotice(
            seq=int(seq),
            artifact_dir=artifact_dir,
            version=version,
            announced_by=by,
            at=codec.from_micros(at) or codec.EPOCH,
        )

    def wait_for_reload(self, timeout: float) -> bool:
        """LISTEN on a connection of its own (outside the pool) for up to ``timeout`` s. A
        lost connection is reopened on the next call; meanwhile this returns False after the
        timeout, and the caller's poll of :meth:`latest_reload` still finds every reload."""
        try:
            if self._listener is None or self._listener.closed:
                conn = psycopg.connect(
                    self.url, autocommit=True, connect_timeout=max(1, round(self._connect_timeout))
                )
                conn.execute(f"LISTEN {RELOAD_CHANNEL}")
                self._listener = conn
            for _ in self._listener.notifies(timeout=timeout, stop_after=1):
                return True
            return False
        except psycopg.Error as exc:
            if self._closing:
                return False
            logger.warning("reload listener on %s lost: %s", self._where, _reason(exc, self.url))
            if self._listener is not None:
                with contextlib.suppress(Exception):
                    self._listener.close()
            self._listener = None
            time.sleep(timeout)
            return False

    def close(self) -> None:
        self._closing = True
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(Exception):
                listener.close()
        with self._lock:
            held, self._held = list(self._held.values()), {}
        for conn in held:
            with contextlib.suppress(Exception):
                self._pool.putconn(conn)
        self._pool.close()


def _reason(exc: BaseException, url: str) -> str:
    """The error's text without the URL's password, should the driver have echoed it."""
    text = str(exc).strip()
    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.Error:
        password = None
    return text.replace(str(password), "***") if password else text


def _insert(
    cur: Cursor,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    conflict: str,
) -> int:
    """Insert ``rows`` (``conflict`` is the ON CONFLICT clause, or empty); returns how many
    rows were written. Large batches go through COPY into a temporary table."""
    if not rows:
        return 0
    cols = ", ".join(columns)
    if len(rows) <= COPY_ROWS:
        marks = ", ".join(["%s"] * len(columns))
        cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks}) {conflict}", rows)
        return max(cur.rowcount, 0)
    stage = f"stage_{table}"
    cur.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table} INCLUDING DEFAULTS) "
        "ON COMMIT DELETE ROWS"
    )
    with cur.copy(f"COPY {stage} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} {conflict}")
    written = max(cur.rowcount, 0)
    cur.execute(f"TRUNCATE {stage}")
    return written


def _upsert(
    cur: Cursor,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    stamps: Iterator[int],
) -> None:
    """Insert or update by the first column, ``received_at`` last: an update changes every
    column but ``received_at``. A row repeated in the batch keeps its last content and its
    first stamp (what SQLite's one-by-one upsert leaves)."""
    latest: dict[Any, tuple[Any, ...]] = {}
    for row in rows:
        key = row[0]
        stamp = latest[key][-1] if key in latest else next(stamps)
        latest[key] = (*row, stamp)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
    _insert(
        cur,
        table,
        (*columns, codec.RECEIVED_AT),
        list(latest.values()),
        f"ON CONFLICT ({columns[0]}) DO UPDATE SET {updates}",
    )


def _insert_events(cur: Cursor, rows: Sequence[Sequence[Any]]) -> int:
    return _insert(
        cur, "events", codec.EVENT_READ_COLUMNS, rows, "ON CONFLICT (event_id) DO NOTHING"
    )


_TRACKS_WITH_CREDITS = (
    f"SELECT {', '.join('t.' + c for c in codec.TRACK_READ_COLUMNS)}, "
    + ", ".join(
        f"array_agg(c.{c} ORDER BY c.ord) FILTER (WHERE c.ord IS NOT NULL)"
        for c in ("artist_id", "role", "share")
    )
    + " FROM tracks t LEFT JOIN credits c USING (track_id) WHERE t.track_id {} "
    "GROUP BY t.track_id"
)
_GET_TRACK = _TRACKS_WITH_CREDITS.format("= %s")
_GET_TRACKS = _TRACKS_WITH_CREDITS.format("= ANY(%s)")
_HELD_VERSIONS_SQL = (
    f"SELECT ({VERSION_SQL['quarantine']}), ({VERSION_SQL['disputes']}), u.* FROM "
    "(SELECT count(*), coalesce(max(mark), 0), coalesce(sum(mark), 0)::bigint "
    "FROM unscreened) u"
)
__all__ = ["COPY_ROWS", "WRITER_LOCK", "PostgresStore", "redact"]
