"""The SQLite store: WAL mode, durable commits, one connection per thread.

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
import json
import logging
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from recsys.domain import (
    Artist,
    ConsentEntry,
    ConsentState,
    Credit,
    FeedbackEvent,
    Listener,
    Provenance,
    ServedSlate,
    Track,
)
from recsys.errors import ConstraintError, NotFoundError, StoreError
from recsys.store import agent_sessions, codec, frames, play_flags, screening_state
from recsys.store.base import (
    DisputeRecord,
    EventHistory,
    IngestBatch,
    QuarantineRecord,
    SessionRecord,
    Store,
    StoreSummary,
)
from recsys.store.schema import migrate

logger = logging.getLogger(__name__)

BATCH_GAP_US = 1000
"""Receipt stamps of two write transactions are at least this far apart (microseconds)."""


class SqliteStore(Store):
    """A :class:`Store` in one SQLite file.

    Args:
        path: the database file; its parent directory is created if missing.
        clock: the service's clock for receipt times (default: now, UTC); tests pass a fixed
            one.

    Example:
        store = SqliteStore("var/liner.db")
        print(store.summary())
    """

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
        self._consent_cache: ConsentState | None = None
        self._quarantine_cache: tuple[int, frozenset[str]] | None = None
        self._flag_cache: tuple[int, frozenset[str]] | None = None
        self._dispute_cache: tuple[int, frozenset[str]] | None = None
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
    def _write(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it commits, or none of it. ``durable=False`` skips
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

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"read from {self.path} failed: {exc}") from exc

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
        logger.info(
            "ingested %d artists, %d tracks, %d listeners, %d events, %d consent entries",
            len(batch.artists),
            len(batch.tracks),
            len(batch.listeners),
            len(batch.events) + (0 if batch.event_frame is None else len(batch.event_frame)),
            len(batch.consent),
        )

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

    def set_provenance(self, track_id: str, provenance: Provenance) -> None:
        with self._write() as conn:
            cursor = conn.execute(_SET_PROVENANCE, (*codec.provenance_row(provenance), track_id))
            if cursor.rowcount == 0:
                raise NotFoundError(f"no track '{track_id}'. Fix: ingest it first")

    def record_quarantine(self, records: Iterable[QuarantineRecord]) -> None:
        rows = [_quarantine_row(r) for r in records]
        with self._write() as conn:
            conn.executemany(_INSERT_QUARANTINE, rows)

    def log_slates(self, slates: Iterable[ServedSlate]) -> None:
        with self._write() as conn:
            for s in slates:
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO slates (request_id, listener_id, surface, variant, "
                    "served_at, ai_features, propensity) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        s.request_id,
                        s.listener_id,
                        s.surface,
                        s.variant,
                        codec.to_micros(s.served_at),
                        int(s.ai_features),
                        s.propensity,
                    ),
                )
                if cursor.rowcount:  # a repeated request id is logged once
                    conn.executemany(
                        "INSERT INTO slate_items VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (codec.slate_item_row(s.request_id, item) for item in s.items),
                    )

    # Reads.

    def consent_ledger(self, rights_holder_id: str | None = None) -> list[ConsentEntry]:
        cols = ", ".join(codec.CONSENT_READ_COLUMNS)
        if rights_holder_id is None:
            rows = self._query(f"SELECT {cols} FROM consent ORDER BY seq")
        else:
            rows = self._query(
                f"SELECT {cols} FROM consent WHERE rights_holder_id = ? ORDER BY seq",
                (rights_holder_id,),
            )
        return [codec.row_consent(r) for r in rows]

    def consent_version(self) -> int:
        # Rows are never deleted (triggers) and seq only grows, so the largest seq is the
        # ledger's version (and its entry count: appends skip repeated ids, leaving no gaps).
        return int(self._query("SELECT coalesce(max(seq), 0) FROM consent")[0][0])

    def consent_state(self) -> ConsentState:
        version = self.consent_version()
        cached = self._consent_cache
        if cached is not None and cached.version == version:
            return cached
        state = ConsentState.from_ledger(self.consent_ledger())
        self._consent_cache = state
        return state

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

    def get_artist(self, artist_id: str) -> Artist | None:
        rows = self._query(
            f"SELECT {', '.join(codec.ARTIST_READ_COLUMNS)} FROM artists WHERE artist_id = ?",
            (artist_id,),
        )
        return codec.row_artist(rows[0]) if rows else None

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

    def get_listener(self, listener_id: str) -> Listener | None:
        rows = self._query(
            f"SELECT {', '.join(codec.LISTENER_READ_COLUMNS)} FROM listeners WHERE listener_id = ?",
            (listener_id,),
        )
        return codec.row_listener(rows[0]) if rows else None

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

    def iter_tracks(self) -> Iterable[Track]:
        credits: dict[str, list[Credit]] = defaultdict(list)
        for r in self._query("SELECT track_id, artist_id, role, share FROM credits ORDER BY ord"):
            credits[r[0]].append(codec.row_credit(r[1:]))
        rows = self._query(frames.TABLE_SQL["tracks"])
        return [codec.row_track(r, tuple(credits.get(r[0], ()))) for r in rows]

    def iter_artists(self) -> Iterable[Artist]:
        return [codec.row_artist(r) for r in self._query(frames.TABLE_SQL["artists"])]

    def iter_listeners(self) -> Iterable[Listener]:
        return [codec.row_listener(r) for r in self._query(frames.TABLE_SQL["listeners"])]

    def _listener_rows(
        self,
        columns: Iterable[str],
        listener_id: str,
        limit: int | None,
        *,
        unflagged: bool = False,
    ) -> list[Any]:
        """``columns`` of a listener's events, newest first, at most ``limit`` (without the
        plays flagged as artificial when ``unflagged``)."""
        skip = f"AND {play_flags.NOT_FLAGGED_SQL} " if unflagged else ""
        return self._query(
            f"SELECT {', '.join(columns)} FROM events WHERE listener_id = ? {skip}"
            "ORDER BY at DESC, event_id DESC LIMIT ?",
            (listener_id, -1 if limit is None else int(limit)),
        )

    def listener_events(self, listener_id: str, limit: int | None = None) -> list[FeedbackEvent]:
        rows = self._listener_rows(codec.EVENT_READ_COLUMNS, listener_id, limit)
        return [codec.row_event(r) for r in rows]

    def listener_history(self, listener_id: str, limit: int | None = None) -> EventHistory:
        # Serving learns from the history, so flagged (artificial) plays are left out.
        rows = self._listener_rows(
            ("track_id", "event_type", "weight"), listener_id, limit, unflagged=True
        )
        if not rows:
            return EventHistory(track_ids=(), event_types=(), weights=())
        track_ids, event_types, weights = zip(*rows, strict=True)
        return EventHistory(track_ids=track_ids, event_types=event_types, weights=weights)

    def quarantine_history(self, track_id: str | None = None) -> list[QuarantineRecord]:
        sql = "SELECT track_id, quarantined, reasons, evidence, actor, at FROM quarantine"
        params: tuple[Any, ...] = ()
        if track_id is not None:
            sql += " WHERE track_id = ?"
            params = (track_id,)
        rows = self._query(sql + " ORDER BY seq", params)  # ledger order, not stated time
        return [
            QuarantineRecord(
                track_id=r[0],
                quarantined=bool(r[1]),
                reasons=codec.split(r[2]),
                evidence=json.loads(r[3]),
                actor=r[4],
                at=codec.from_micros(r[5]) or codec.EPOCH,
            )
            for r in rows
        ]

    def quarantined_ids(self) -> frozenset[str]:
        # The log is append-only (triggers), so its largest rowid versions it: the set is
        # recomputed only after a new decision, not on every request.
        version = int(self._query("SELECT coalesce(max(rowid), 0) FROM quarantine")[0][0])
        cached = self._quarantine_cache
        if cached is not None and cached[0] == version:
            return cached[1]
        latest: dict[str, bool] = {}
        for track_id, quarantined in self._query(
            "SELECT track_id, quarantined FROM quarantine ORDER BY seq"
        ):
            latest[track_id] = bool(quarantined)
        ids = frozenset(t for t, q in latest.items() if q)
        self._quarantine_cache = (version, ids)
        return ids

    def unscreened_ids(self) -> frozenset[str]:
        return frozenset(str(r[0]) for r in self._query("SELECT track_id FROM unscreened"))

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

    def unscreened_marks(self) -> dict[str, int]:
        return screening_state.unscreened_marks(self._conn())

    def disputed_ids(self) -> frozenset[str]:
        # Append-only like the quarantine audit: its largest seq versions the set.
        version = int(self._query("SELECT coalesce(max(seq), 0) FROM disputes")[0][0])
        cached = self._dispute_cache
        if cached is not None and cached[0] == version:
            return cached[1]
        ids = screening_state.open_dispute_ids(self._conn())
        self._dispute_cache = (version, ids)
        return ids

    def dispute_history(self, track_id: str | None = None) -> list[DisputeRecord]:
        sql, params = screening_state.DISPUTES_SQL, tuple[str, ...]()
        if track_id is not None:
            sql, params = sql + " WHERE track_id = ?", (track_id,)
        return [screening_state.row_dispute(r) for r in self._query(sql + " ORDER BY seq", params)]

    def record_disputes(self, records: Iterable[DisputeRecord]) -> None:
        with self._write() as conn:
            screening_state.insert_disputes(conn, records)

    def finish_screening(
        self,
        *,
        screened: Mapping[str, int],
        quarantines: Iterable[QuarantineRecord] = (),
        disputes: Iterable[DisputeRecord] = (),
        labels: Mapping[str, Provenance] | None = None,
    ) -> None:
        with self._write() as conn:
            conn.executemany(_INSERT_QUARANTINE, map(_quarantine_row, quarantines))
            screening_state.insert_disputes(conn, disputes)
            conn.executemany(
                _SET_PROVENANCE,
                ((*codec.provenance_row(p), t) for t, p in (labels or {}).items()),
            )
            screening_state.clear_unscreened(conn, screened)

    def flagged_event_ids(self) -> frozenset[str]:
        # Versioned by the append-only audit, like quarantined_ids.
        conn = self._conn()
        version = play_flags.version(conn)
        cached = self._flag_cache
        if cached is not None and cached[0] == version:
            return cached[1]
        ids = play_flags.flagged_ids(conn)
        self._flag_cache = (version, ids)
        return ids

    def record_play_flags(self, records: Iterable[play_flags.PlayFlagRecord]) -> None:
        with self._write() as conn:
            play_flags.append(conn, records)

    def play_flag_history(self, event_id: str | None = None) -> list[play_flags.PlayFlagRecord]:
        return play_flags.history(self._conn(), event_id)

    def play_flags_in_force(self) -> dict[str, play_flags.PlayFlagRecord]:
        return play_flags.latest(self._conn())

    def iter_slates(self, since: datetime | None = None) -> Iterable[ServedSlate]:
        floor = codec.to_micros(since) if since is not None else -(2**62)
        slates = self._query(
            "SELECT request_id, listener_id, surface, variant, served_at, ai_features, "
            "propensity FROM slates WHERE served_at >= ? ORDER BY served_at, request_id",
            (floor,),
        )
        items = defaultdict(list)
        for r in self._query(
            "SELECT i.request_id, i.position, i.track_id, i.score, i.features, i.propensity, "
            "i.sources FROM slate_items i JOIN slates s USING (request_id) "
            "WHERE s.served_at >= ? ORDER BY i.request_id, i.position",
            (floor,),
        ):
            items[r[0]].append(codec.row_slate_item(r[1:]))
        return [
            ServedSlate(
                request_id=r[0],
                listener_id=r[1],
                surface=r[2],
                variant=r[3],
                served_at=codec.from_micros(r[4]) or codec.EPOCH,
                ai_features=bool(r[5]),
                propensity=r[6],
                items=tuple(items.get(r[0], ())),
            )
            for r in slates
        ]

    def read_frame(self, table: str) -> pd.DataFrame:
        if table not in frames.TABLE_SQL:
            raise StoreError(
                f"no table '{table}'. Fix: use one of {', '.join(sorted(frames.TABLE_SQL))}"
            )
        try:
            cursor = self._conn().execute(frames.TABLE_SQL[table])
            rows = cursor.fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"read from {self.path} failed: {exc}") from exc
        frame = pd.DataFrame.from_records(rows, columns=[d[0] for d in cursor.description])
        if table == "tracks":
            return frames.tracks_frame(frame, self.read_frame("credits"))
        return frames.typed(frame)

    def count_by(self, table: str, column: str) -> dict[str, int]:
        known = {r[1] for r in self._query(f"PRAGMA table_info({_quote(table)})")}
        if column not in known or table not in frames.TABLE_SQL:
            return super().count_by(table, column)
        rows = self._query(f"SELECT {_quote(column)}, count(*) FROM {table} GROUP BY 1")
        return {("" if k is None else str(k)): int(n) for k, n in rows}

    # Agent sessions (the SQL is shared with PostgreSQL: ``agent_sessions``).

    keeps_sessions = True

    def _micros(self) -> int:
        return int(codec.to_micros(self._clock()) or 0)

    def create_session(
        self,
        session_id: str,
        *,
        listener_id: str | None,
        ttl_s: int,
        max_sessions: int,
        holder: str,
        lease_s: float,
    ) -> SessionRecord:
        with self._write(durable=False) as conn:
            return agent_sessions.create(
                conn, "?", self._micros(), session_id=session_id, listener_id=listener_id,
                ttl_s=ttl_s, max_sessions=max_sessions, holder=holder, lease_s=lease_s,
            )  # fmt: skip

    def claim_session(
        self, session_id: str, *, listener_id: str | None, ttl_s: int, holder: str, lease_s: float
    ) -> SessionRecord | None:
        with self._write(durable=False) as conn:
            return agent_sessions.claim(
                conn, "?", self._micros(), session_id=session_id, listener_id=listener_id,
                ttl_s=ttl_s, holder=holder, lease_s=lease_s,
            )  # fmt: skip

    def release_session(
        self, session_id: str, *, holder: str, state: str | None, turns: int | None
    ) -> bool:
        with self._write(durable=False) as conn:
            return agent_sessions.release(
                conn, "?", self._micros(), session_id=session_id, holder=holder, state=state,
                turns=turns,
            )  # fmt: skip

    def live_sessions(self, ttl_s: int) -> int:
        return agent_sessions.count(self._conn(), "?", self._micros(), ttl_s=ttl_s)

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


_INSERT_QUARANTINE = (
    "INSERT INTO quarantine (track_id, quarantined, reasons, evidence, actor, at) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_SET_PROVENANCE = (
    "UPDATE tracks SET ai_involvement = ?, ai_parts = ?, label_source = ?, "
    "label_confidence = ?, references_artist_ids = ? WHERE track_id = ?"
)


def _quarantine_row(r: QuarantineRecord) -> tuple[Any, ...]:
    return (
        r.track_id,
        int(r.quarantined),
        codec.join(r.reasons),
        json.dumps(r.evidence, sort_keys=True),
        r.actor,
        codec.to_micros(r.at),
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
