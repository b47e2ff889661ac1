"""The store interface: what every backend (SQLite, PostgreSQL by URL) provides.

Batch jobs read whole tables as pandas frames (``read_frame``) so they can run unchanged as
functions over batches of rows; the service reads single entities and the live consent state.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from recsys.domain import (
    AiInvolvement,
    Artist,
    ConsentEntry,
    ConsentState,
    FeedbackEvent,
    Listener,
    Provenance,
    ServedSlate,
    Track,
)
from recsys.store.agent_sessions import SessionRecord
from recsys.store.play_flags import PlayFlagRecord


@dataclass(frozen=True, kw_only=True)
class EventHistory:
    """A listener's recent events as columns, newest first: what serving reads per request.

    Building one :class:`FeedbackEvent` per row costs more than the query itself, so the
    request path reads these three columns instead (see :meth:`Store.listener_history`).
    """

    track_ids: Sequence[str]
    event_types: Sequence[str]
    """:class:`~recsys.domain.EventType` values."""
    weights: Sequence[float]

    @classmethod
    def of(cls, events: Sequence[FeedbackEvent]) -> EventHistory:
        """Columns of ``events`` (kept in the given order)."""
        return cls(
            track_ids=[e.track_id for e in events],
            event_types=[e.event_type.value for e in events],
            weights=[e.weight for e in events],
        )

    def __len__(self) -> int:
        return len(self.track_ids)


@dataclass(frozen=True, kw_only=True)
class IngestBatch:
    """Everything one ingest writes, all or nothing."""

    artists: Sequence[Artist] = ()
    tracks: Sequence[Track] = ()
    listeners: Sequence[Listener] = ()
    events: Sequence[FeedbackEvent] = ()
    consent: Sequence[ConsentEntry] = ()
    event_frame: pd.DataFrame | None = None
    """More events as a frame with the ``events`` frame columns (``event_id``, ``listener_id``,
    ``track_id``, ``event_type``, ``at`` (datetime64 UTC, NaT when unknown), ``ms_played``,
    ``weight``, ``request_id``, ``position``, optionally ``sender``, else ``unknown``); bulk
    loads use it to skip building a :class:`FeedbackEvent` per row. Same semantics as
    ``events``; the store stamps ``received_at`` itself."""


@dataclass(frozen=True, kw_only=True)
class QuarantineRecord:
    """An audited quarantine decision on a track.

    Attributes:
        track_id: the track.
        quarantined: True when the decision quarantines, False when it releases.
        reasons: machine-readable flags (``near_duplicate``, ``upload_burst``, ...).
        evidence: human-readable evidence per flag.
        actor: who decided (``screening`` for the automatic screen, else an admin id).
        at: when.
    """

    track_id: str
    quarantined: bool
    reasons: tuple[str, ...] = ()
    evidence: dict[str, str] = field(default_factory=dict)
    actor: str
    at: datetime


@dataclass(frozen=True, kw_only=True)
class DisputeRecord:
    """An entry of the append-only dispute audit.

    Attributes:
        track_id: the track.
        opened: True when the entry opens a dispute (the service's analysis strongly
            disagrees with the declared label), False when a rights admin decides it.
        declared: the declared AI involvement the entry is about.
        probability: the detector's P(AI involvement) behind the dispute, if any.
        evidence: human-readable evidence (``detector``, ``text``, ...).
        decided: the label a rights admin decided (closing entries only).
        actor: ``screening`` for the automatic check, else the admin's id.
        reason: the admin's reason (closing entries).
        at: when.
    """

    track_id: str
    opened: bool
    declared: AiInvolvement
    probability: float | None = None
    evidence: dict[str, str] = field(default_factory=dict)
    decided: AiInvolvement | None = None
    actor: str
    reason: str = ""
    at: datetime


@dataclass(frozen=True, kw_only=True)
class ReloadNotice:
    """An artifact reload announced to every service replica sharing the store.

    Attributes:
        seq: position in the store's reload log (only grows).
        artifact_dir: the directory to load, in the artifact location the replicas share.
        version: the version id the announcing replica loaded from it (its manifest's hash).
        announced_by: which replica announced it (host and process).
        at: when the store recorded it (the store's clock).
    """

    seq: int
    artifact_dir: str
    version: str
    announced_by: str = ""
    at: datetime


@dataclass(frozen=True, kw_only=True)
class StoreSummary:
    """Row counts, for `liner ingest` and health pages."""

    artists: int
    tracks: int
    listeners: int
    events: int
    consent_entries: int
    quarantined: int
    schema_version: int


class Store(abc.ABC):
    """A catalog, ledger and log store.

    Writes are transactional and durable once they return. The consent ledger is append-only:
    there is no method to edit or delete an entry.
    """

    @abc.abstractmethod
    def ingest(self, batch: IngestBatch) -> None:
        """Write a batch atomically: upsert artists, tracks, listeners by id; add events by
        event id (a repeated id is ignored); append consent entries (a repeated entry id is
        ignored, never overwritten)."""

    @abc.abstractmethod
    def append_consent(self, entries: Iterable[ConsentEntry]) -> list[ConsentEntry]:
        """Append ledger entries atomically, in the order given.

        Inside the write transaction each new entry gets the next ledger position (``seq``)
        and the store's own clock as ``received_at``; what the entries say about either is
        ignored. An entry id already in the ledger is skipped, never overwritten.

        Returns:
            The entries appended, as stored (with ``seq`` and ``received_at``).
        """

    @abc.abstractmethod
    def consent_ledger(self, rights_holder_id: str | None = None) -> list[ConsentEntry]:
        """Ledger entries in ledger order (``seq``), optionally for one rights holder."""

    @abc.abstractmethod
    def consent_version(self) -> int:
        """The latest ledger position (``seq``; 0 when empty). It only grows, and it is
        cheap, so readers poll it on every request and rebuild their consent state when it
        moves."""

    @abc.abstractmethod
    def consent_state(self) -> ConsentState:
        """Current consent derived from the ledger."""

    @abc.abstractmethod
    def add_events(self, events: Iterable[FeedbackEvent]) -> int:
        """Add feedback events idempotently; returns how many were new."""

    @abc.abstractmethod
    def get_track(self, track_id: str) -> Track | None:
        """One track, or None."""

    @abc.abstractmethod
    def get_artist(self, artist_id: str) -> Artist | None:
        """One artist, or None."""

    @abc.abstractmethod
    def get_listener(self, listener_id: str) -> Listener | None:
        """One listener, or None."""

    def get_tracks(self, track_ids: Iterable[str]) -> dict[str, Track]:
        """The stored tracks among ``track_ids`` by id (unknown ids are absent): what serving
        reads once per request for every item it shows, instead of one :meth:`get_track` each.

        Backends override this with one query (a round trip per track is most of a request's
        time on a database server).
        """
        return {t: track for t in dict.fromkeys(track_ids) if (track := self.get_track(t))}

    def get_artists(self, artist_ids: Iterable[str]) -> dict[str, Artist]:
        """The stored artists among ``artist_ids`` by id (unknown ids are absent); see
        :meth:`get_tracks`."""
        return {a: artist for a in dict.fromkeys(artist_ids) if (artist := self.get_artist(a))}

    def unknown_ids(self, kind: str, ids: Iterable[str]) -> frozenset[str]:
        """Which of ``ids`` name no stored ``kind`` (``artists``, ``tracks`` or ``listeners``):
        writes check their references with it before they write.

        Backends override this with one query.
        """
        get = {"artists": self.get_artist, "tracks": self.get_track, "listeners": self.get_listener}
        if kind not in get:
            raise ValueError(f"kind must be artists, tracks or listeners, not {kind!r}")
        lookup = get[kind]
        return frozenset(i for i in set(ids) if lookup(i) is None)

    @abc.abstractmethod
    def iter_tracks(self) -> Iterable[Track]:
        """All tracks, in id order."""

    @abc.abstractmethod
    def iter_artists(self) -> Iterable[Artist]:
        """All artists, in id order."""

    @abc.abstractmethod
    def iter_listeners(self) -> Iterable[Listener]:
        """All listeners, in id order."""

    @abc.abstractmethod
    def listener_events(self, listener_id: str, limit: int | None = None) -> list[FeedbackEvent]:
        """A listener's events, newest first."""

    def listener_history(self, listener_id: str, limit: int | None = None) -> EventHistory:
        """The columns of :meth:`listener_events` that serving needs, newest first.

        Backends override this with a query that skips building event objects.
        """
        return EventHistory.of(self.listener_events(listener_id, limit))

    @abc.abstractmethod
    def read_frame(self, table: str) -> pd.DataFrame:
        """A whole table as a frame: ``tracks``, ``artists``, ``credits``, ``listeners``,
        ``events``, ``consent``, ``slates``, ``slate_items``, ``quarantine``."""

    @abc.abstractmethod
    def record_quarantine(self, records: Iterable[QuarantineRecord]) -> None:
        """Append quarantine decisions (audited; the latest per track is in force)."""

    @abc.abstractmethod
    def quarantined_ids(self) -> frozenset[str]:
        """Tracks whose latest decision is a quarantine."""

    @abc.abstractmethod
    def quarantine_history(self, track_id: str | None = None) -> list[QuarantineRecord]:
        """The audit trail of quarantine decisions."""

    # Integrity state beyond quarantine. Backends override these; the defaults describe a
    # store that has no such records (every track screened, nothing disputed, no play flagged).

    def unscreened_ids(self) -> frozenset[str]:
        """Tracks written by an ingest whose screening has not finished: never served, never
        paid, until :meth:`mark_screened` (or a later screening run) covers them."""
        return frozenset()

    def disputed_ids(self) -> frozenset[str]:
        """Tracks whose declared AI label strongly disagrees with the detector and await a
        rights admin's decision (latest entry of the dispute audit per track)."""
        return frozenset()

    def flagged_event_ids(self) -> frozenset[str]:
        """Play events flagged as artificial streaming: kept, but never metered as paid,
        never paid and never learned from."""
        return frozenset()

    def record_play_flags(self, records: Iterable[PlayFlagRecord]) -> None:
        """Append play-flag decisions (audited; the latest per event is in force)."""
        raise NotImplementedError(f"{type(self).__name__} cannot record play flags")

    def play_flag_history(self, event_id: str | None = None) -> list[PlayFlagRecord]:
        """The audit trail of play-flag decisions, in append order."""
        return []

    def play_flags_in_force(self) -> dict[str, PlayFlagRecord]:
        """The latest play-flag decision per event that has one."""
        return {}

    def held_ids(self) -> frozenset[str]:
        """Tracks that must not be served or paid: quarantined, disputed or unscreened."""
        return self.quarantined_ids() | self.disputed_ids() | self.unscreened_ids()

    def unscreened_marks(self) -> dict[str, int]:
        """Unscreened tracks with the mark of the write that left them so; a screening reads
        this before it starts and hands it back to :meth:`finish_screening`."""
        return {}

    def dispute_history(self, track_id: str | None = None) -> list[DisputeRecord]:
        """The dispute audit in append order, optionally for one track."""
        return []

    def record_disputes(self, records: Iterable[DisputeRecord]) -> None:
        """Append dispute audit entries (the latest per track is in force)."""
        raise NotImplementedError(f"{type(self).__name__} keeps no dispute audit")

    def finish_screening(
        self,
        *,
        screened: Mapping[str, int],
        quarantines: Iterable[QuarantineRecord] = (),
        disputes: Iterable[DisputeRecord] = (),
        labels: Mapping[str, Provenance] | None = None,
    ) -> None:
        """Record a screening's decisions and clear the unscreened marks it read
        (``screened``, from :meth:`unscreened_marks`) in one transaction, so a crash leaves
        either both or neither. A track re-written since keeps its newer mark.

        Backends without transactions across these records apply them in order, marks last.
        """
        quarantines, disputes = list(quarantines), list(disputes)
        if quarantines:
            self.record_quarantine(quarantines)
        if disputes:
            self.record_disputes(disputes)
        for track_id, provenance in (labels or {}).items():
            self.set_provenance(track_id, provenance)

    @abc.abstractmethod
    def log_slates(self, slates: Iterable[ServedSlate]) -> None:
        """Persist served slates (impression log)."""

    @abc.abstractmethod
    def iter_slates(self, since: datetime | None = None) -> Iterable[ServedSlate]:
        """Served slates in time order."""

    def set_provenance(self, track_id: str, provenance: Provenance) -> None:
        """Replace a track's AI-involvement label (e.g. with a ``DETECTED`` one).

        Raises:
            NotFoundError: no such track.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot update provenance")

    def count_by(self, table: str, column: str) -> dict[str, int]:
        """Row counts of ``table`` grouped by one of its ``read_frame`` columns."""
        counts = self.read_frame(table)[column].astype("string").fillna("").value_counts()
        return {str(k): int(v) for k, v in counts.items()}

    # Replicas. A store that service processes on several machines share (PostgreSQL) carries
    # their reload signal; a store of one machine keeps none (``liner serve --workers`` passes
    # reloads through shared memory instead).

    shares_reloads: bool = False
    """True when :meth:`announce_reload` reaches other replicas."""

    def announce_reload(self, artifact_dir: str, version: str, by: str = "") -> ReloadNotice:
        """Append a reload to the store's reload log and wake the replicas that wait on it."""
        raise NotImplementedError(f"{type(self).__name__} keeps no reload log")

    def latest_reload(self) -> ReloadNotice | None:
        """The last announced reload, or None."""
        return None

    def wait_for_reload(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds for a reload announcement; True when one came (a
        poll of :meth:`latest_reload` decides what it was)."""
        return False

    # Conversations with the discovery agent (``agent.sessions`` holds their rules and
    # messages; ``agent_sessions`` the SQL). Kept in the store so that any serving process
    # or replica on it continues a conversation; idle time is measured on the store's clock.

    keeps_sessions: bool = False
    """True when the store keeps agent sessions (the methods below work)."""

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
        """Start a session held by ``holder`` for its first turn; drop the ones idle longer
        than ``ttl_s`` and, past ``max_sessions``, the least recently used idle ones."""
        raise NotImplementedError(f"{type(self).__name__} keeps no agent sessions")

    def claim_session(
        self, session_id: str, *, listener_id: str | None, ttl_s: int, holder: str, lease_s: float
    ) -> SessionRecord | None:
        """Hold a live session for a turn (see :func:`recsys.store.agent_sessions.claim`):
        None when no live session has the id; ``claimed`` False when it belongs to another
        listener or another turn holds it."""
        raise NotImplementedError(f"{type(self).__name__} keeps no agent sessions")

    def release_session(
        self, session_id: str, *, holder: str, state: str | None, turns: int | None
    ) -> bool:
        """End ``holder``'s turn, storing ``state`` and ``turns`` (None: keep them); False when
        it no longer held the session (nothing written)."""
        raise NotImplementedError(f"{type(self).__name__} keeps no agent sessions")

    def live_sessions(self, ttl_s: int) -> int:
        """Sessions used within ``ttl_s`` or held by a turn."""
        raise NotImplementedError(f"{type(self).__name__} keeps no agent sessions")

    @abc.abstractmethod
    def summary(self) -> StoreSummary:
        """Row counts."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections."""


__all__ = [
    "DisputeRecord",
    "EventHistory",
    "IngestBatch",
    "QuarantineRecord",
    "ReloadNotice",
    "SessionRecord",
    "Store",
    "StoreSummary",
]
