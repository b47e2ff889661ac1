"""The read and write paths the SQL backends share: one SQL, the placeholder as a parameter.

:class:`~recsys.store.sqlite.SqliteStore` and :class:`~recsys.store.postgres.PostgresStore`
differ in how they connect, lock, stamp receipt times and load in bulk; most of what they ask
the database is the same. That part is here, once, per ledger, written with ``?`` and run with
the backend's :attr:`SqlStore.MARK`. A backend provides the hooks: ``MARK``, ``_query`` (rows
of one read), ``_write`` (one write transaction; ``ordered`` writes hand out an order, which
PostgreSQL serialises with its writer lock) and ``_session_write`` (a write transaction for
agent sessions with the store's clock).

The cached sets (consent state, quarantined, disputed, flagged) are versioned by the largest
position of their append-only record, so a decision written through any handle shows at the
next call of every other.
"""

from __future__ import annotations

import abc
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

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
from recsys.errors import NotFoundError, StoreError
from recsys.store import agent_sessions, codec, frames, play_flags, screening_state
from recsys.store.agent_sessions import SessionRecord
from recsys.store.base import (
    DisputeRecord,
    EventHistory,
    IngestBatch,
    QuarantineRecord,
    Store,
)

logger = logging.getLogger(__name__)

INSERT_QUARANTINE = (
    "INSERT INTO quarantine (track_id, quarantined, reasons, evidence, actor, at) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
SET_PROVENANCE = (
    "UPDATE tracks SET ai_involvement = ?, ai_parts = ?, label_source = ?, "
    "label_confidence = ?, references_artist_ids = ? WHERE track_id = ?"
)
VERSION_SQL = {
    table: f"SELECT coalesce(max(seq), 0) FROM {table}"
    for table in ("consent", "quarantine", "disputes", "play_flags")
}
"""The version of each append-only record: its largest position (rows are never deleted)."""


def log_ingest(batch: IngestBatch) -> None:
    """Say what one ingest wrote."""
    logger.info(
        "ingested %d artists, %d tracks, %d listeners, %d events, %d consent entries",
        len(batch.artists),
        len(batch.tracks),
        len(batch.listeners),
        len(batch.events) + (0 if batch.event_frame is None else len(batch.event_frame)),
        len(batch.consent),
    )


def quarantine_row(r: QuarantineRecord) -> tuple[Any, ...]:
    """A quarantine decision as the row both backends store."""
    return (
        r.track_id,
        int(r.quarantined),
        codec.join(r.reasons),
        json.dumps(r.evidence, sort_keys=True),
        r.actor,
        codec.to_micros(r.at),
    )


class SqlStore(Store):
    """A :class:`Store` over SQL: the paths both backends share (see the module docstring)."""

    MARK: ClassVar[str]
    """The driver's placeholder: ``?`` (sqlite3) or ``%s`` (psycopg)."""
    TABLE_SQL: ClassVar[Mapping[str, str]] = frames.TABLE_SQL
    """The query of each :meth:`read_frame` table."""

    _consent_cache: ConsentState | None = None
    _quarantine_cache: tuple[int, frozenset[str]] | None = None
    _flag_cache: tuple[int, frozenset[str]] | None = None
    _dispute_cache: tuple[int, frozenset[str]] | None = None

    # Hooks.

    @abc.abstractmethod
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The rows of one read."""

    @abc.abstractmethod
    def _read_table(self, sql: str) -> tuple[list[Any], list[str]]:
        """The rows of one read and their column names."""

    @abc.abstractmethod
    def _write(self, *, ordered: bool = True) -> contextlib.AbstractContextManager[Any]:
        """One write transaction yielding something with ``execute``/``executemany``."""

    @abc.abstractmethod
    def _session_write(self) -> contextlib.AbstractContextManager[tuple[Any, int]]:
        """A write transaction for agent sessions and the store's clock (microseconds)."""

    def _sql(self, text: str) -> str:
        """``text`` (written with ``?``) in this driver's placeholder."""
        return text.replace("?", self.MARK)

    def read_frame(self, table: str) -> pd.DataFrame:
        if table not in self.TABLE_SQL:
            raise StoreError(
                f"no table '{table}'. Fix: use one of {', '.join(sorted(self.TABLE_SQL))}"
            )
        rows, names = self._read_table(self.TABLE_SQL[table])
        frame = pd.DataFrame.from_records(rows, columns=names)
        if table == "tracks":
            return frames.tracks_frame(frame, self.read_frame("credits"))
        return frames.typed(frame)

    # The consent ledger (appends are the backends': they order and stamp differently).

    def consent_ledger(self, rights_holder_id: str | None = None) -> list[ConsentEntry]:
        cols = ", ".join(codec.CONSENT_READ_COLUMNS)
        if rights_holder_id is None:
            rows = self._query(f"SELECT {cols} FROM consent ORDER BY seq")
        else:
            rows = self._query(
                self._sql(f"SELECT {cols} FROM consent WHERE rights_holder_id = ? ORDER BY seq"),
                (rights_holder_id,),
            )
        return [codec.row_consent(r) for r in rows]

    def consent_version(self) -> int:
        # Rows are never deleted (triggers) and seq only grows, gapless, in commit order, so
        # the largest seq is the ledger's version.
        return int(self._query(VERSION_SQL["consent"])[0][0])

    def consent_state(self) -> ConsentState:
        version = self.consent_version()
        cached = self._consent_cache
        if cached is not None and cached.version == version:
            return cached
        state = ConsentState.from_ledger(self.consent_ledger())
        self._consent_cache = state
        return state

    # The catalog (batched lookups are the backends': SQLite chunks IN lists, PostgreSQL
    # sends arrays).

    def get_artist(self, artist_id: str) -> Artist | None:
        rows = self._query(
            self._sql(
                f"SELECT {', '.join(codec.ARTIST_READ_COLUMNS)} FROM artists WHERE artist_id = ?"
            ),
            (artist_id,),
        )
        return codec.row_artist(rows[0]) if rows else None

    def get_listener(self, listener_id: str) -> Listener | None:
        rows = self._query(
            self._sql(
                f"SELECT {', '.join(codec.LISTENER_READ_COLUMNS)} FROM listeners "
                "WHERE listener_id = ?"
            ),
            (listener_id,),
        )
        return codec.row_listener(rows[0]) if rows else None

    def iter_tracks(self) -> Iterable[Track]:
        credits: dict[str, list[Credit]] = defaultdict(list)
        for r in self._query(frames.TABLE_SQL["credits"]):
            credits[r[0]].append(codec.row_credit(r[1:]))
        rows = self._query(frames.TABLE_SQL["tracks"])
        return [codec.row_track(r, tuple(credits.get(r[0], ()))) for r in rows]

    def iter_artists(self) -> Iterable[Artist]:
        return [codec.row_artist(r) for r in self._query(frames.TABLE_SQL["artists"])]

    def iter_listeners(self) -> Iterable[Listener]:
        return [codec.row_listener(r) for r in self._query(frames.TABLE_SQL["listeners"])]

    def set_provenance(self, track_id: str, provenance: Provenance) -> None:
        with self._write(ordered=False) as cur:
            updated = cur.execute(
                self._sql(SET_PROVENANCE), (*codec.provenance_row(provenance), track_id)
            )
            if updated.rowcount == 0:
                raise NotFoundError(f"no track '{track_id}'. Fix: ingest it first")

    # Events.

    def _listener_rows(
        self, columns: Iterable[str], listener_id: str, limit: int | None, *, unflagged: bool
    ) -> list[Any]:
        """``columns`` of a listener's events, newest first (unknown times last), at most
        ``limit`` (without the plays flagged as artificial when ``unflagged``)."""
        skip = f"AND {play_flags.NOT_FLAGGED_SQL} " if unflagged else ""
        sql = (
            f"SELECT {', '.join(columns)} FROM events WHERE listener_id = ? {skip}"
            "ORDER BY at DESC NULLS LAST, event_id DESC"
        )
        if limit is None:
            return self._query(self._sql(sql), (listener_id,))
        return self._query(self._sql(sql + " LIMIT ?"), (listener_id, int(limit)))

    def listener_events(self, listener_id: str, limit: int | None = None) -> list[FeedbackEvent]:
        rows = self._listener_rows(codec.EVENT_READ_COLUMNS, listener_id, limit, unflagged=False)
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

    # The quarantine audit and the screening state.

    def record_quarantine(self, records: Iterable[QuarantineRecord]) -> None:
        rows = [quarantine_row(r) for r in records]
        with self._write() as cur:
            if rows:
                cur.executemany(self._sql(INSERT_QUARANTINE), rows)

    def quarantine_history(self, track_id: str | None = None) -> list[QuarantineRecord]:
        sql = "SELECT track_id, quarantined, reasons, evidence, actor, at FROM quarantine"
        params: tuple[Any, ...] = ()
        if track_id is not None:
            sql += " WHERE track_id = ?"
            params = (track_id,)
        return [
            QuarantineRecord(
                track_id=r[0],
                quarantined=bool(r[1]),
                reasons=codec.split(r[2]),
                evidence=json.loads(r[3]),
                actor=r[4],
                at=codec.from_micros(r[5]) or codec.EPOCH,
            )
            for r in self._query(self._sql(sql + " ORDER BY seq"), params)  # ledger order
        ]

    def quarantined_ids(self) -> frozenset[str]:
        # Recomputed only after a new decision (through any handle), not on every request.
        return self._quarantined(int(self._query(VERSION_SQL["quarantine"])[0][0]))

    def _quarantined(self, version: int) -> frozenset[str]:
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

    def unscreened_marks(self) -> dict[str, int]:
        return {str(t): int(m) for t, m in self._query(screening_state.UNSCREENED_SQL)}

    def disputed_ids(self) -> frozenset[str]:
        return self._disputed(int(self._query(VERSION_SQL["disputes"])[0][0]))

    def _disputed(self, version: int) -> frozenset[str]:
        cached = self._dispute_cache
        if cached is not None and cached[0] == version:
            return cached[1]
        ids = frozenset(str(r[0]) for r in self._query(screening_state.OPEN_DISPUTES_SQL))
        self._dispute_cache = (version, ids)
        return ids

    def dispute_history(self, track_id: str | None = None) -> list[DisputeRecord]:
        sql, params = screening_state.DISPUTES_SQL, tuple[str, ...]()
        if track_id is not None:
            sql, params = sql + " WHERE track_id = ?", (track_id,)
        rows = self._query(self._sql(sql + " ORDER BY seq"), params)
        return [screening_state.row_dispute(r) for r in rows]

    def record_disputes(self, records: Iterable[DisputeRecord]) -> None:
        with self._write() as cur:
            screening_state.insert_disputes(cur, self.MARK, records)

    def finish_screening(
        self,
        *,
        screened: Mapping[str, int],
        quarantines: Iterable[QuarantineRecord] = (),
        disputes: Iterable[DisputeRecord] = (),
        labels: Mapping[str, Provenance] | None = None,
    ) -> None:
        with self._write() as cur:
            rows = [quarantine_row(r) for r in quarantines]
            if rows:
                cur.executemany(self._sql(INSERT_QUARANTINE), rows)
            screening_state.insert_disputes(cur, self.MARK, disputes)
            updates = [(*codec.provenance_row(p), t) for t, p in (labels or {}).items()]
            if updates:
                cur.executemany(self._sql(SET_PROVENANCE), updates)
            screening_state.clear_unscreened(cur, self.MARK, screened)

    # The play-flag audit.

    def flagged_event_ids(self) -> frozenset[str]:
        version = int(self._query(VERSION_SQL["play_flags"])[0][0])
        cached = self._flag_cache
        if cached is not None and cached[0] == version:
            return cached[1]
        ids = frozenset(str(r[0]) for r in self._query(play_flags.FLAGGED_SQL))
        self._flag_cache = (version, ids)
        return ids

    def record_play_flags(self, records: Iterable[play_flags.PlayFlagRecord]) -> None:
        with self._write() as cur:
            play_flags.append(cur, self.MARK, records)

    def play_flag_history(self, event_id: str | None = None) -> list[play_flags.PlayFlagRecord]:
        sql, params = play_flags.HISTORY_SQL, tuple[str, ...]()
        if event_id is not None:
            sql, params = sql + " WHERE event_id = ?", (event_id,)
        rows = self._query(self._sql(sql + " ORDER BY seq"), params)
        return [play_flags.record_of(r) for r in rows]

    def play_flags_in_force(self) -> dict[str, play_flags.PlayFlagRecord]:
        return {r[0]: play_flags.record_of(r) for r in self._query(play_flags.LATEST_SQL)}

    # The impression log.

    def log_slates(self, slates: Iterable[ServedSlate]) -> None:
        slates = list(slates)
        if not slates:
            return
        with self._write(ordered=False) as cur:
            for s in slates:
                logged = cur.execute(
                    self._sql(
                        "INSERT INTO slates (request_id, listener_id, surface, variant, "
                        "served_at, ai_features, propensity) VALUES (?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (request_id) DO NOTHING"
                    ),
                    (s.request_id, s.listener_id, s.surface, s.variant,
                     codec.to_micros(s.served_at), int(s.ai_features), s.propensity),
                )  # fmt: skip
                if logged.rowcount and s.items:  # a repeated request id is logged once
                    cur.executemany(
                        self._sql(
                            "INSERT INTO slate_items (request_id, position, track_id, score, "
                            "features, propensity, sources) VALUES (?, ?, ?, ?, ?, ?, ?)"
                        ),
                        [codec.slate_item_row(s.request_id, item) for item in s.items],
                    )

    def iter_slates(self, since: datetime | None = None) -> Iterable[ServedSlate]:
        floor = codec.to_micros(since) if since is not None else -(2**62)
        slates = self._query(
            self._sql(
                "SELECT request_id, listener_id, surface, variant, served_at, ai_features, "
                "propensity FROM slates WHERE served_at >= ? ORDER BY served_at, request_id"
            ),
            (floor,),
        )
        items = defaultdict(list)
        for r in self._query(
            self._sql(
                "SELECT i.request_id, i.position, i.track_id, i.score, i.features, "
                "i.propensity, i.sources FROM slate_items i JOIN slates s USING (request_id) "
                "WHERE s.served_at >= ? ORDER BY i.request_id, i.position"
            ),
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

    # Agent sessions (``agent_sessions`` holds their SQL).

    keeps_sessions = True

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
        with self._session_write() as (cur, now):
            return agent_sessions.create(
                cur, self.MARK, now, session_id=session_id, listener_id=listener_id,
                ttl_s=ttl_s, max_sessions=max_sessions, holder=holder, lease_s=lease_s,
            )  # fmt: skip

    def claim_session(
        self, session_id: str, *, listener_id: str | None, ttl_s: int, holder: str, lease_s: float
    ) -> SessionRecord | None:
        with self._session_write() as (cur, now):
            return agent_sessions.claim(
                cur, self.MARK, now, session_id=session_id, listener_id=listener_id,
                ttl_s=ttl_s, holder=holder, lease_s=lease_s,
            )  # fmt: skip

    def release_session(
        self, session_id: str, *, holder: str, state: str | None, turns: int | None
    ) -> bool:
        with self._session_write() as (cur, now):
            return agent_sessions.release(
                cur, self.MARK, now, session_id=session_id, holder=holder, state=state,
                turns=turns,
            )  # fmt: skip

    def live_sessions(self, ttl_s: int) -> int:
        with self._session_write() as (cur, now):
            return agent_sessions.count(cur, self.MARK, now, ttl_s=ttl_s)


__all__ = [
    "INSERT_QUARANTINE",
    "SET_PROVENANCE",
    "VERSION_SQL",
    "SqlStore",
    "log_ingest",
    "quarantine_row",
]
