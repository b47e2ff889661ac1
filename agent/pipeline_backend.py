"""The discovery backend over the real pipeline: the same spaces, catalog snapshot, hard
filters (live consent and quarantine) and store as `Recommend`."""

from __future__ import annotations

import difflib
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from agent.backend import ListenerProfile, TrackFacts
from recsys.domain import AiPreference, Artist, EventType, Track
from recsys.embeddings.text import embed_texts
from recsys.params import PolicyParams
from recsys.pipeline.api import Recommendation, RecommendRequest
from recsys.pipeline.catalog import AI_GENERATED
from recsys.pipeline.recommender import PipelineRecommender
from recsys.pipeline.track_facts import AudioFactsTable


class PipelineBackend:
    """Tools' view of a loaded :class:`PipelineRecommender`.

    Args:
        rec: the loaded pipeline.
        artifact_dir: the artifacts the recommender was loaded from (the measured audio
            facts, ``catalog/{tempo,key,loudness_db,energy}.npy``, come with the recommender;
            this is read only when it has none, as a recommender built by hand).
        params: the policy parameters (emerging-artist quantile).
    """

    def __init__(
        self,
        rec: PipelineRecommender,
        artifact_dir: Path | None = None,
        params: PolicyParams | None = None,
    ) -> None:
        self.rec = rec
        self.params = params or PolicyParams()
        self.catalog = rec.catalog
        self._lock = threading.Lock()
        self._artists: dict[str, Artist] | None = None
        self._artists_by_name: dict[str, list[Artist]] = {}
        self._titles: dict[str, list[str]] | None = None
        self._vocab: list[str] | None = None
        audio = getattr(rec, "audio_facts", None)
        if (audio is None or not audio.columns) and artifact_dir is not None:
            audio = AudioFactsTable.load(Path(artifact_dir), len(self.catalog.track_ids))
        self.audio: AudioFactsTable = audio or AudioFactsTable({})
        self._term_vectors: dict[str, np.ndarray] = {}

    def _index_names(self) -> None:
        with self._lock:
            if self._artists is None:
                self._artists = {a.artist_id: a for a in self.rec.store.iter_artists()}
                for a in self._artists.values():
                    self._artists_by_name.setdefault(a.name.casefold(), []).append(a)
                titles: dict[str, list[str]] = {}
                tags: set[str] = set(self.catalog.genres)
                for t in self.rec.store.iter_tracks():
                    titles.setdefault(t.title.casefold(), []).append(t.track_id)
                    tags.update(t.tags)
                self._titles = titles
                self._vocab = sorted(x for x in tags if x)

    def _rows(self, track_ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
        row_of = self.catalog.row_of
        known = [t for t in track_ids if t in row_of]
        return known, np.asarray([row_of[t] for t in known], dtype=np.int64)

    def _ids(self, rows: np.ndarray, scores: np.ndarray) -> list[tuple[str, float]]:
        ids = self.catalog.track_ids
        return [(str(ids[r]), float(s)) for r, s in zip(rows, scores, strict=True) if r >= 0]

    def search_text(self, query: str, k: int) -> list[tuple[str, float]]:
        spaces = self.rec.spaces
        scores, rows = spaces.indexes["text"].search_rows(spaces.query_vector(query)[None], k)
        return self._ids(rows[0], scores[0])

    def similar_tracks(self, track_ids: Sequence[str], k: int) -> list[tuple[str, float]]:
        vec = self.rec.spaces.profile_vector(list(track_ids))  # type: ignore[attr-defined]
        if vec is None:
            return []
        _, seed_rows = self._rows(track_ids)
        scores, rows = self.rec.spaces.indexes["fused"].search_rows(
            vec[None], k, exclude_rows=seed_rows
        )
        return self._ids(rows[0], scores[0])

    def find_artists(self, name: str, limit: int = 3) -> list[Artist]:
        self._index_names()
        assert self._artists is not None
        by_name = self._artists_by_name
        if name in self._artists:
            return [self._artists[name]]
        key = name.casefold().strip()
        close = difflib.get_close_matches(key, list(by_name), n=limit, cutoff=0.85)
        return [a for c in close for a in by_name[c]][:limit]

    def find_tracks(self, title: str, limit: int = 3) -> list[Track]:
        self._index_names()
        assert self._titles is not None
        close = difflib.get_close_matches(
            title.casefold(), list(self._titles), n=limit, cutoff=0.85
        )
        ids = [t for c in close for t in self._titles[c]][:limit]
        found = self.rec.lookup.tracks(ids)
        return [found[i] for i in ids if i in found]

    def artist_track_ids(self, artist_id: str, limit: int = 20) -> list[str]:
        row = self.catalog.artist_row_of.get(artist_id)
        if row is None:
            return []
        rows = np.flatnonzero(self.catalog.artist_row == row)
        rows = rows[np.argsort(-self.catalog.popularity[rows], kind="stable")][:limit]
        return [str(self.catalog.track_ids[r]) for r in rows]

    def recommend(self, listener_id: str, k: int) -> Recommendation:
        return self.rec.recommend(
            RecommendRequest(listener_id=listener_id, k=k, surface="agent", params=self.params)
        )

    def profile(self, listener_id: str) -> ListenerProfile:
        store = self.rec.store
        listener = store.get_listener(listener_id)
        events = store.listener_events(listener_id, limit=500)
        positive = [e for e in events if e.event_type not in (EventType.SKIP, EventType.DISLIKE)]
        genres: Counter[str] = Counter()
        tags: Counter[str] = Counter()
        artists: Counter[str] = Counter()
        tracks = self.rec.lookup.tracks(ev.track_id for ev in positive)
        by_id = self.rec.lookup.artists(a for t in tracks.values() for a in t.artist_ids[:1])
        for ev in positive:
            track = tracks.get(ev.track_id)
            if track is None:
                continue
            genres[track.genre] += 1
            tags.update(track.tags)
            for aid in track.artist_ids[:1]:
                artist = by_id.get(aid)
                if artist is not None:
                    artists[artist.name] += 1
        return ListenerProfile(
            listener_id=listener_id,
            known=listener is not None or bool(events),
            top_genres=tuple(g for g, _ in genres.most_common(5) if g),
            top_tags=tuple(t for t, _ in tags.most_common(8)),
            top_artists=tuple(a for a, _ in artists.most_common(5)),
            recent_track_ids=tuple(e.track_id for e in positive[:20]),
            ai_opt_out=listener is not None and listener.ai_preference is AiPreference.OPT_OUT,
            plays=len(positive),
        )

    def facts(self, track_ids: Sequence[str]) -> list[TrackFacts]:
        cat = self.catalog
        emerging = cat.emerging_artists(self.params.emerging_exposure_quantile)
        total = float(np.expm1(cat.popularity).sum()) or 1.0
        out: list[TrackFacts] = []
        tracks = self.rec.lookup.tracks(t for t in track_ids if t in cat.row_of)
        by_id = self.rec.lookup.artists(a for t in tracks.values() for a in t.artist_ids)
        for tid in track_ids:
            row = cat.row_of.get(tid)
            track = tracks.get(tid)
            if track is None or row is None:
                continue
            artists = tuple(by_id[x] for x in track.artist_ids if x in by_id)
            audio = self.audio.of_row(row)
            tempo = audio.tempo_bpm
            if tempo is None:
                tempo = track.audio_descriptors.get("tempo")
            artist_row = int(cat.artist_row[row])
            out.append(
                TrackFacts(
                    track=track,
                    artists=artists,
                    tempo=tempo,
                    year=track.release_date.year if track.release_date else None,
                    emerging=artist_row >= 0 and bool(emerging[artist_row]),
                    popularity=float(np.expm1(cat.popularity[row])) / total,
                    audio=audio,
                )
            )
        return out

    def permitted(self, track_ids: Sequence[str], listener_id: str | None) -> list[str]:
        known, rows = self._rows(track_ids)
        if not known:
            return []
        filters = self.rec.filters
        keep = ~filters.consent_mask()[rows] & ~filters.quarantine_mask()[rows]
        listener = self.rec.store.get_listener(listener_id) if listener_id else None
        if listener is not None:
            if listener.ai_preference is AiPreference.OPT_OUT:
                keep &= self.catalog.ai_code[rows] != AI_GENERATED
            if listener.blocked_artist_ids:
                # Every credit, not only the primary artist: a blocked featured artist counts.
                blocked = {self.catalog.artist_row_of.get(a) for a in listener.blocked_artist_ids}
                credited, owner = self.catalog.credited_artist_rows(rows)
                hit = np.isin(credited, np.asarray([b for b in blocked if b is not None]))
                keep[owner[hit]] = False
        return [t for t, k in zip(known, keep, strict=True) if k]

    def genre_vocabulary(self) -> Sequence[str]:
        return [str(g) for g in self.catalog.genres if g]

    def tag_vocabulary(self) -> Sequence[str]:
        self._index_names()
        return list(self._vocab or [])

    def embed_terms(self, terms: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(terms) if t not in self._term_vectors]
        if missing:
            model = self.rec.spaces._text_model()  # type: ignore[attr-defined]
            vecs = embed_texts(missing, model)
            with self._lock:
                if len(self._term_vectors) > 50_000:
                    self._term_vectors.clear()
                self._term_vectors.update(zip(missing, vecs, strict=True))
        if not terms:
            return np.zeros((0, self.rec.spaces.vectors["text"].shape[1]), dtype=np.float32)
        return np.stack([self._term_vectors[t] for t in terms])

    def term_similarity(self, track_ids: Sequence[str], terms: Sequence[str]) -> np.ndarray:
        known, rows = self._rows(track_ids)
        text = self.rec.spaces.vectors["text"]
        sims = np.zeros((len(track_ids), len(terms)), dtype=np.float32)
        if known:
            pos = {t: i for i, t in enumerate(track_ids)}
            sims[[pos[t] for t in known]] = text[rows] @ self.embed_terms(terms).T
        return sims


__all__ = ["PipelineBackend"]
