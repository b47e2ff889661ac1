"""The SQLite store: WAL mode, durable commits, one connection per thread.

What it shares with the PostgreSQL store (most reads, the audits, the impression log, agent
sessions) is :class:`~recsys.store.sql.SqlStore`; here are the connections, the transactions,
receipt stamps, ingest and the lookups SQLite answers with chunked IN lists.

Durability: ``journal_mode=WAL`` with ``synchronous=FULL``, so a write that returned survives
a power cut, not only a crash of the process. Writers take the lock up front
(``BEGIN IMMEDIATE``) and wait up to ``busy_timeout`` for each other; readers never block
writers and see the last committed state. Every thread gets its own connection, so a
multi-threaded gRPC server reads concurrently.

``read_frame(table)`` columns (times are ``datetime64[us, UTC]``, NaT when unknown; lists are
``|``-joined strings; missing values are NA/NaN/None; test with ``pd.isna``):

- ``artists``: artist_id, name, kind, verified (bool), rights_holder_id, created_at,
  received_at (the store's own receipt time, see below).
- ``tracks``: track_id, title, genre, tags, description, duration_ms, release_date
  (``YYYY-MM-DD`` string or missing), audio_path (absolute after ingest, or missing), uploader_id,
  uploaded_at, ai_involvement, ai_parts, label_source, label_confidence,
  references_artist_ids, received_at, artist_ids (credited artists, primary first),
  primary_artist_id,
  then one float column ``audio_<name>`` per audio descriptor seen in the catalog.
- ``credits``: track_id, artist_id, role, share (in credit order per track).
- ``listeners``: listener_id, ai_preference, blocked_artist_ids, created_at, received_at.
- ``events``: event_id, listener_id, track_id, event_type, at (the sender's claim),
  ms_played (Int64), weight, request_id, position (Int64), sender (who the service
  authenticated: ``feedback:<fingerprint>``, ``listener:<id>``, ``anonymous``,
  ``ingest:<folder>``, ``unknown`` before senders were recorded), received_at (the store's
  clock at first write; NaT before receipt times were recorded); sorted by at, then event_id.
- ``consent``: entry_id, rights_holder_id, scope, action, actor, reason, at (the stated
  effective time), seq (ledger position), received_at (the store's clock); in ledger order.
- ``slates``: request_id, listener_id, surface, variant, served_at, ai_features (bool),
  propensity (float, NaN when unknown).
- ``slate_items``: request_id, position, track_id, score, features (JSON object string),
  propensity (float, NaN when unknown), sources.
- ``quarantine``: seq, track_id, quarantined (bool), reasons, evidence (JSON object string),
  actor, at; in append order.
- ``play_flags``: seq, event_id, flagged (bool), reasons, score, run_id, actor, note, at;
  the append-only audit of artificial-streaming decisions (the latest per event is in force).

Receipt time (``received_at`` of artists, tracks and listeners) is stamped by the store from
its own clock when a row is first written, strictly increasing in write order (one microsecond
apart within a batch), and never changed by later upserts (a trigger refuses even raw SQL). The
``received_at`` of a domain object handed to the store is ignored, so no data file or API
request can set it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from recsys.domain import (
    Artist,
    ConsentEntry,
    Credit,
    FeedbackEvent,
    Listener,
    Track,
)
from recsys.errors import ConstraintError, StoreError
from recsys.store import codec, frames, screening_state
from recsys.store.base import (
    IngestBatch,
    StoreSummary,
)
from recsys.store.schema import migrate
from recsys.store.sql import SqlStore, log_ingest

BATCH_GAP_US = 1000
"""Receipt stamps of two write transactions are at least this far apart (microseconds)."""


class SqliteStore(SqlStore):
    """A :class:`Store` in one SQLite file.

    Args:
        path: the database file; its parent directory is created if missing.
        clock: the service's clock for receipt times (default: now, UTC); tests pass a fixed
            one.

    Example:
        store = SqliteStore("var/liner.db")
        print(store.summary())
    """

    MARK = "?"

    def __init__(self, path: str | Path, *, clock: Callable[[], datetime] | None = None) -> None:
        if str(path) == ":memory:":
            raise StoreError(
                "an in-memory SQLite store cannot be shared between threads. "
                "Fix: pass a file path (a temporary directory is fine)"
            )
        self.path = Path(path)
        self._clock = clock or (lambda: datetime.now(UTC))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder of {self.path}: {exc}") from exc
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._held_cache: tuple[tuple[Any, ...], frozenset[str]] | None = None
        self._closed = False
        try:
            self.schema_version = migrate(self._conn())
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the SQLite store at {self.path}: {exc}") from exc

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if self._closed:
            raise StoreError(f"the store at {self.path} is closed")
        try:
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA cache_size=-65536")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the SQLite store at {self.path}: {exc}") from exc
        self._local.conn = conn
        with self._lock:
            self._connections.append(conn)
        return conn

    @contextlib.contextmanager
    def _write(self, *, ordered: bool = True, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it commits, or none of it (``ordered`` is moot here:
        SQLite has one writer at a time, so every write is in commit order). ``durable=False`` skips
        the flush to disk at commit (``synchronous=NORMAL``): a power cut may lose the last
        such commits, never corrupt the file. Only for state that may be lost (agent
        sessions); the flush is most of such a small write's time."""
        conn = self._conn()
        if not durable:
            conn.execute("PRAGMA synchronous=NORMAL")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            if not durable:
                conn.execute("PRAGMA synchronous=FULL")
            raise StoreError(f"cannot start a write on {self.path}: {exc}") from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            # The data broke a rule (a reference, an append-only record): the caller's fault,
            # so not a StoreError that reads as "the store is down, retry".
            conn.execute("ROLLBACK")
            raise ConstraintError(
                f"the write breaks a constraint of the store and was rolled back ({exc}). "
                "Fix: check that every reference exists (credited artists) and that no "
                "append-only record is edited"
            ) from exc
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise StoreError(f"write to {self.path} failed and was rolled back: {exc}") from exc
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            if not durable:
                conn.execute("PRAGMA synchronous=FULL")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"read from {self.path} failed: {exc}") from exc

    @contextlib.contextmanager
    def _session_write(self) -> Iterator[tuple[sqlite3.Connection, int]]:
        # Agent sessions may lose their last turns to a power cut: no flush at commit.
        with self._write(durable=False) as conn:
            yield conn, int(codec.to_micros(self._clock()) or 0)

    def execute_sql(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Run raw SQL in its own transaction (for operators and tests); triggers still apply.

        Raises:
            StoreError: the statement failed, e.g. it tried to edit the consent ledger.
        """
        with self._write() as conn:
            return conn.execute(sql, params).fetchall()

    # Writes.

    def ingest(self, batch: IngestBatch) -> None:
        with self._write() as conn:
            stamps = self._receipt_stamps(conn)
            self._upsert_artists(conn, batch.artists, stamps)
            # Written and marked unscreened in one transaction: no crash can leave a new
            # upload servable before screening has finished with it.
            changed = screening_state.changed_tracks(conn, batch.tracks)
            self._upsert_tracks(conn, batch.tracks, stamps)
            screening_state.mark_unscreened(conn, changed)
            self._upsert_listeners(conn, batch.listeners, stamps)
            received = codec.to_micros(self._clock())
            conn.executemany(_INSERT_EVENT, ((*codec.event_row(e), received) for e in batch.events))
            if batch.event_frame is not None:
                # The store's receipt time overrides any column of that name in the input.
                self._insert_event_frame(conn, batch.event_frame.assign(received_at=received))
            self._append_consent(conn, batch.consent)
        log_ingest(batch)

    def _receipt_stamps(self, conn: sqlite3.Connection) -> Iterator[int]:
        """Receipt times for the rows of one write transaction: the service's clock, at least
        ``BATCH_GAP_US`` after every stamp already stored, one microsecond apart (so receipt
        order is a total order, and a batch is a run of stamps without a millisecond's gap).
        Call inside the write transaction, which holds the lock."""
        last = max(
            int(conn.execute(f"SELECT coalesce(max(received_at), 0) FROM {table}").fetchone()[0])
            for table in ("artists", "tracks", "listeners")
        )
        stamp = max(int(codec.to_micros(self._clock()) or 0), last + BATCH_GAP_US)
        while True:
            yield stamp
            stamp += 1

    @staticmethod
    def _upsert_artists(
        conn: sqlite3.Connection, artists: Iterable[Artist], stamps: Iterator[int]
    ) -> None:
        conn.executemany(
            _upsert_received("artists", codec.ARTIST_COLUMNS),
            ((*codec.artist_row(a), next(stamps)) for a in artists),
        )

    @staticmethod
    def _upsert_tracks(
        conn: sqlite3.Connection, tracks: Iterable[Track], stamps: Iterator[int]
    ) -> None:
        tracks = list(tracks)
        conn.executemany(
            _upsert_received("tracks", codec.TRACK_COLUMNS),
            ((*codec.track_row(t), next(stamps)) for t in tracks),
        )
        conn.executemany("DELETE FROM credits WHERE track_id = ?", ((t.track_id,) for t in tracks))
        conn.executemany(
            "INSERT INTO credits (track_id, artist_id, role, share, ord) VALUES (?, ?, ?, ?, ?)",
            (
                (t.track_id, c.artist_id, str(c.role), float(c.share), i)
                for t in tracks
                for i, c in enumerate(t.credits)
            ),
        )

    @staticmethod
    def _upsert_listeners(
        conn: sqlite3.Connection, listeners: Iterable[Listener], stamps: Iterator[int]
    ) -> None:
        conn.executemany(
            _upsert_received("listeners", codec.LISTENER_COLUMNS),
            ((*codec.listener_row(u), next(stamps)) for u in listeners),
        )

    @staticmethod
    def _insert_event_frame(conn: sqlite3.Connection, frame: pd.DataFrame) -> None:
        conn.executemany(_INSERT_EVENT, frames.event_rows(frame))

    def append_consent(self, entries: Iterable[ConsentEntry]) -> list[ConsentEntry]:
        with self._write() as conn:
            return self._append_consent(conn, entries)

    def _append_consent(
        self, conn: sqlite3.Connection, entries: Iterable[ConsentEntry]
    ) -> list[ConsentEntry]:
        """Append ledger entries inside the caller's write transaction (which holds the lock):
        each new entry gets the next ``seq`` and the store's clock as ``received_at``. An
        entry id already in the ledger is skipped, so ``seq`` has no gaps and an entry is
        never overwritten."""
        received = self._clock()
        appended = []
        for entry in entries:
            if conn.execute(
                "SELECT 1 FROM consent WHERE entry_id = ?", (entry.entry_id,)
            ).fetchone():
                continue
            cursor = conn.execute(_INSERT_CONSENT, codec.consent_row(entry, received))
            appended.append(replace(entry, seq=cursor.lastrowid, received_at=received))
        return appended

    def add_events(self, events: Iterable[FeedbackEvent]) -> int:
        with self._write() as conn:
            received = codec.to_micros(self._clock())
            before = conn.total_changes
            conn.executemany(_INSERT_EVENT, ((*codec.event_row(e), received) for e in events))
            return conn.total_changes - before

    # Reads.

    def get_track(self, track_id: str) -> Track | None:
        rows = self._query(
            f"SELECT {', '.join(codec.TRACK_READ_COLUMNS)} FROM tracks WHERE track_id = ?",
            (track_id,),
        )
        if not rows:
            return None
        credits = self._query(
            "SELECT artist_id, role, share FROM credits WHERE track_id = ? ORDER BY ord",
            (track_id,),
        )
        return codec.row_track(rows[0], tuple(codec.row_credit(c) for c in credits))

    def get_tracks(self, track_ids: Iterable[str]) -> dict[str, Track]:
        cols = ", ".join(codec.TRACK_READ_COLUMNS)
        found: dict[str, Track] = {}
        for chunk in _chunks(track_ids):
            marks = ", ".join("?" * len(chunk))
            rows = self._query(f"SELECT {cols} FROM tracks WHERE track_id IN ({marks})", chunk)
            credits: dict[str, list[Credit]] = defaultdict(list)
            for r in self._query(
                "SELECT track_id, artist_id, role, share FROM credits "
                f"WHERE track_id IN ({marks}) ORDER BY track_id, ord",
                chunk,
            ):
                credits[r[0]].append(codec.row_credit(r[1:]))
            found.update((r[0], codec.row_track(r, tuple(credits.get(r[0], ())))) for r in rows)
        return found

    def get_artists(self, artist_ids: Iterable[str]) -> dict[str, Artist]:
        cols = ", ".join(codec.ARTIST_READ_COLUMNS)
        found: dict[str, Artist] = {}
        for chunk in _chunks(artist_ids):
            marks = ", ".join("?" * len(chunk))
            for r in self._query(f"SELECT {cols} FROM artists WHERE artist_id IN ({marks})", chunk):
                found[r[0]] = codec.row_artist(r)
        return found

    def unknown_ids(self, kind: str, ids: Iterable[str]) -> frozenset[str]:
        key = {"artists": "artist_id", "tracks": "track_id", "listeners": "listener_id"}.get(kind)
        if key is None:
            raise ValueError(f"kind must be artists, tracks or listeners, not {kind!r}")
        wanted = sorted(set(ids))
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = self._query(f"SELECT {key} FROM {kind} WHERE {key} IN ({marks})", tuple(chunk))
            found.update(r[0] for r in rows)
        return frozenset(wanted) - found

    def held_ids(self) -> frozenset[str]:
        # Read on every request: the same set object comes back until one of the three
        # records changes (the unscreened table is versioned by its count, max and sum of
        # marks, since every write gives a new, higher mark), so callers can compare by identity.
        quarantined, disputed = self.quarantined_ids(), self.disputed_ids()
        unscreened = tuple(
            self._query(
                "SELECT count(*), coalesce(max(mark), 0), coalesce(sum(mark), 0) FROM unscreened"
            )[0]
        )
        cached = self._held_cache
        if cached is not None:
            (was_quarantined, was_disputed, was_unscreened), ids = cached
            same = was_quarantined is quarantined and was_disputed is disputed
            if same and was_unscreened == unscreened:
                return ids
        ids = quarantined | disputed | self.unscreened_ids()
        self._held_cache = ((quarantined, disputed, unscreened), ids)
        return ids

    def _read_table(self, sql: str) -> tuple[list[Any], list[str]]:
        try:
            cursor = self._conn().execute(sql)
            rows = cursor.fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"read from {self.path} failed: {exc}") from exc
        return rows, [d[0] for d in cursor.description]

    def count_by(self, table: str, column: str) -> dict[str, int]:
        known = {r[1] for r in self._query(f"PRAGMA table_info({_quote(table)})")}
        if column not in known or table not in frames.TABLE_SQL:
            return super().count_by(table, column)
        rows = self._query(f"SELECT {_quote(column)}, count(*) FROM {table} GROUP BY 1")
        return {("" if k is None else str(k)): int(n) for k, n in rows}

    def summary(self) -> StoreSummary:
        def count(table: str) -> int:
            return int(self._query(f"SELECT count(*) FROM {table}")[0][0])

        return StoreSummary(
            artists=count("artists"),
            tracks=count("tracks"),
            listeners=count("listeners"),
            events=count("events"),
            consent_entries=count("consent"),
            quarantined=len(self.quarantined_ids()),
            schema_version=int(self._query("SELECT max(version) FROM schema_version")[0][0]),
        )

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` result (``ok`` when the file is sound)."""
        return "; ".join(str(r[0]) for r in self._query("PRAGMA integrity_check"))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()


def _chunks(ids: Iterable[str], size: int = 500) -> Iterator[tuple[str, ...]]:
    """Distinct ``ids`` in chunks of at most ``size`` (SQLite limits the parameters of one
    statement)."""
    wanted = tuple(dict.fromkeys(ids))
    for start in range(0, len(wanted), size):
        yield wanted[start : start + size]


_INSERT_EVENT = (
    f"INSERT OR IGNORE INTO events ({', '.join(codec.EVENT_READ_COLUMNS)}) VALUES "
    + "("
    + ", ".join("?" * len(codec.EVENT_READ_COLUMNS))
    + ")"
)
_INSERT_CONSENT = (
    f"INSERT INTO consent ({', '.join(codec.CONSENT_COLUMNS)}, received_at) VALUES "
    + "("
    + ", ".join("?" * (len(codec.CONSENT_COLUMNS) + 1))
    + ")"
)


def _upsert_received(table: str, columns: tuple[str, ...]) -> str:
    """Insert with the store's receipt time as the last value; an update of an existing row
    changes every column but ``received_at``, which keeps the first receipt."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
    marks = ", ".join("?" * (len(columns) + 1))
    return (
        f"INSERT INTO {table} ({', '.join(columns)}, {codec.RECEIVED_AT}) VALUES ({marks}) "
        f"ON CONFLICT ({columns[0]}) DO UPDATE SET {updates}"
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


__all__ = ["SqliteStore"]
