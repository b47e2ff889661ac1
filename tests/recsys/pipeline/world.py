"""A tiny generated world for the pipeline tests: an in-memory store, brute-force indexes and
embedding spaces shaped like ``EmbeddingSpaces``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recsys.domain import (
    IMITATION_SCOPES,
    AiInvolvement,
    AiPart,
    AiPreference,
    Artist,
    ArtistKind,
    ConsentAction,
    ConsentEntry,
    ConsentState,
    Credit,
    EventType,
    FeedbackEvent,
    Listener,
    Provenance,
    ServedSlate,
    Track,
)
from recsys.pipeline.catalog import CatalogSnapshot
from recsys.pipeline.loader import play_counts
from recsys.store import IngestBatch, QuarantineRecord, Store, StoreSummary

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


class MemoryStore(Store):
    """The parts of the Store contract the pipeline uses, in memory."""

    def __init__(self) -> None:
        self.tracks: dict[str, Track] = {}
        self.artists: dict[str, Artist] = {}
        self.listeners: dict[str, Listener] = {}
        self.events: list[FeedbackEvent] = []
        self.ledger: list[ConsentEntry] = []
        self.quarantine: list[QuarantineRecord] = []
        self.slates: list[ServedSlate] = []

    def ingest(self, batch: IngestBatch) -> None:
        self.artists.update({a.artist_id: a for a in batch.artists})
        self.tracks.update({t.track_id: t for t in batch.tracks})
        self.listeners.update({u.listener_id: u for u in batch.listeners})
        self.add_events(batch.events)
        self.append_consent(batch.consent)

    def append_consent(self, entries: Iterable[ConsentEntry]) -> list[ConsentEntry]:
        new = list(entries)
        self.ledger.extend(new)
        return new

    def consent_ledger(self, rights_holder_id: str | None = None) -> list[ConsentEntry]:
        return [e for e in self.ledger if rights_holder_id in (None, e.rights_holder_id)]

    def consent_version(self) -> int:
        return len(self.ledger)

    def consent_state(self) -> ConsentState:
        return ConsentState.from_ledger(self.ledger)

    def add_events(self, events: Iterable[FeedbackEvent]) -> int:
        new = list(events)
        self.events.extend(new)
        return len(new)

    def get_track(self, track_id: str) -> Track | None:
        return self.tracks.get(track_id)

    def get_artist(self, artist_id: str) -> Artist | None:
        return self.artists.get(artist_id)

    def get_listener(self, listener_id: str) -> Listener | None:
        return self.listeners.get(listener_id)

    def iter_tracks(self) -> Iterable[Track]:
        return [self.tracks[k] for k in sorted(self.tracks)]

    def iter_artists(self) -> Iterable[Artist]:
        return [self.artists[k] for k in sorted(self.artists)]

    def iter_listeners(self) -> Iterable[Listener]:
        return [self.listeners[k] for k in sorted(self.listeners)]

    def listener_events(self, listener_id: str, limit: int | None = None) -> list[FeedbackEvent]:
        mine = [e for e in self.events if e.listener_id == listener_id]
        mine.sort(key=lambda e: (e.at, e.event_id), reverse=True)
        return mine[:limit] if limit is not None else mine

    def read_frame(self, table: str) -> pd.DataFrame:
        assert table == "events"
        return pd.DataFrame(
            {
                "listener_id": [e.listener_id for e in self.events],
                "track_id": [e.track_id for e in self.events],
                "event_type": [e.event_type.value for e in self.events],
                "at": pd.to_datetime([e.at for e in self.events], utc=True),
                "weight": [e.weight for e in self.events],
            }
        )

    def record_quarantine(self, records: Iterable[QuarantineRecord]) -> None:
        self.quarantine.extend(records)

    def quarantined_ids(self) -> frozenset[str]:
        latest = {r.track_id: r.quarantined for r in self.quarantine}
        return frozenset(t for t, q in latest.items() if q)

    def quarantine_history(self, track_id: str | None = None) -> list[QuarantineRecord]:
        return [r for r in self.quarantine if track_id in (None, r.track_id)]

    def log_slates(self, slates: Iterable[ServedSlate]) -> None:
        self.slates.extend(slates)

    def iter_slates(self, since: dt.datetime | None = None) -> Iterable[ServedSlate]:
        return list(self.slates)

    def summary(self) -> StoreSummary:
        return StoreSummary(
            artists=len(self.artists),
            tracks=len(self.tracks),
            listeners=len(self.listeners),
            events=len(self.events),
            consent_entries=len(self.ledger),
            quarantined=len(self.quarantined_ids()),
            schema_version=0,
        )

    def close(self) -> None:
        pass


class BruteIndex:
    """Exact inner-product search with the ``FaissIndex.search_rows`` contract."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = vectors

    def search_rows(
        self, queries: np.ndarray, k: int, *, exclude_rows: Any = None, ef: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        q = np.atleast_2d(queries)
        s = q @ self.vectors.T
        if exclude_rows is not None and len(exclude_rows):
            s[:, np.asarray(exclude_rows)] = -np.inf
        k = min(k, s.shape[1])
        rows = np.argsort(-s, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(s, rows, axis=1).astype(np.float32), rows.astype(np.int64)


@dataclass
class FakeSpaces:
    """Embedding spaces shaped like ``EmbeddingSpaces``."""

    track_ids: list[str]
    vectors: dict[str, np.ndarray]
    indexes: dict[str, BruteIndex] = field(default_factory=dict)
    queries: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.indexes = {s: BruteIndex(self.vectors[s]) for s in ("fused", "text")}

    def query_vector(self, text: str) -> np.ndarray:
        return self.queries.get(text, np.zeros(self.vectors["text"].shape[1], np.float32))


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


@dataclass
class World:
    """A generated world: the store, the spaces, the catalog snapshot and ground truth."""

    store: MemoryStore
    spaces: FakeSpaces
    catalog: CatalogSnapshot
    genres: list[str]
    imitating: list[str]
    referenced_holder: str


def make_world(
    *, n_genres: int = 3, per_artist: int = 6, artists_per_genre: int = 6, seed: int = 0
) -> World:
    """Genres are clusters in every space; each genre has human (verified, some emerging)
    artists and one AI persona whose tracks are AI-generated, half of them imitating the
    genre's star artist, whose rights holder has granted both imitation scopes."""
    rng = np.random.default_rng(seed)
    dim = 16
    centers = _unit(rng.normal(size=(n_genres, dim)))
    genres = [f"genre{g}" for g in range(n_genres)]
    artists: list[Artist] = []
    tracks: list[Track] = []
    vecs: list[np.ndarray] = []
    imitating: list[str] = []
    for g in range(n_genres):
        for a in range(artists_per_genre):
            persona = a == artists_per_genre - 1
            aid = f"a{g}_{a}"
            artists.append(
                Artist(
                    artist_id=aid,
                    name=f"Artist {g}/{a}",
                    kind=ArtistKind.AI_PERSONA if persona else ArtistKind.HUMAN,
                    verified=not persona,
                    rights_holder_id=f"rh{g}_{a}",
                )
            )
            for i in range(per_artist):
                tid = f"t{g}_{a}_{i}"
                prov = Provenance(ai_involvement=AiInvolvement.NONE)
                if persona:
                    refs = (f"a{g}_0",) if i % 2 == 0 else ()
                    prov = Provenance(
                        ai_involvement=AiInvolvement.GENERATED,
                        ai_parts=(AiPart.VOCALS, AiPart.COMPOSITION),
                        references_artist_ids=refs,
                    )
                    if refs:
                        imitating.append(tid)
                tracks.append(
                    Track(
                        track_id=tid,
                        title=f"Song {g}-{a}-{i}",
                        credits=(Credit(artist_id=aid, share=1.0),),
                        genre=genres[g],
                        duration_ms=180_000,
                        uploaded_at=T0 - dt.timedelta(days=int(rng.integers(1, 400))),
                        provenance=prov,
                    )
                )
                vecs.append(centers[g] + 0.35 * rng.normal(size=dim))
    fused = _unit(np.asarray(vecs))
    spaces = FakeSpaces(
        track_ids=[t.track_id for t in tracks],
        vectors={
            "fused": fused,
            "text": _unit(fused + 0.1 * rng.normal(size=fused.shape)),
            "audio": _unit(fused + 0.3 * rng.normal(size=fused.shape)),
            "collab": _unit(fused + 0.2 * rng.normal(size=fused.shape)),
        },
    )
    spaces.queries = {
        f"{gn} vibes": spaces.vectors["text"][
            [i for i, t in enumerate(tracks) if t.genre == gn]
        ].mean(0)
        for gn in genres
    }
    listeners: list[Listener] = []
    events: list[FeedbackEvent] = []
    by_genre = {g: [t.track_id for t in tracks if t.genre == genres[g]] for g in range(n_genres)}
    for u in range(24):
        g = u % n_genres
        pref = AiPreference.OPT_OUT if u % 4 == 3 else AiPreference.ALLOW
        blocked = (f"a{g}_1",) if u % 5 == 4 else ()
        listeners.append(
            Listener(listener_id=f"u{u}", ai_preference=pref, blocked_artist_ids=blocked)
        )
        # Stars (artist 0, 1) get most plays, so the other human artists are emerging.
        pool = [t for t in by_genre[g] if t.split("_")[1] in ("0", "1", "2")]
        for j, tid in enumerate(rng.choice(pool, size=8, replace=False)):
            events.append(
                FeedbackEvent(
                    event_id=f"e{u}_{j}",
                    listener_id=f"u{u}",
                    track_id=str(tid),
                    event_type=EventType.DISLIKE if j == 7 else EventType.PLAY,
                    at=T0 + dt.timedelta(hours=u * 10 + j),
                    weight=float(rng.integers(1, 5)),
                )
            )
    store = MemoryStore()
    holder = f"rh{0}_0"
    consent = [
        ConsentEntry(
            entry_id=f"c{g}_{s.value}",
            rights_holder_id=f"rh{g}_0",
            scope=s,
            action=ConsentAction.GRANT,
            actor="test",
            at=T0,
        )
        for g in range(n_genres)
        for s in IMITATION_SCOPES
    ]
    store.ingest(
        IngestBatch(
            artists=artists, tracks=tracks, listeners=listeners, events=events, consent=consent
        )
    )
    plays, recent, last = play_counts(store.read_frame("events"))
    catalog = CatalogSnapshot.build(
        track_ids=spaces.track_ids,
        tracks=store.tracks,
        artists=store.iter_artists(),
        plays=plays,
        recent_plays=recent,
        as_of=last,
    )
    return World(
        store=store,
        spaces=spaces,
        catalog=catalog,
        genres=genres,
        imitating=imitating,
        referenced_holder=holder,
    )
