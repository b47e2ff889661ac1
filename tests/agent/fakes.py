"""A small in-memory DiscoveryBackend with known answers, forbidden tracks among them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from agent.backend import ListenerProfile, TrackFacts
from recsys.domain import (
    AiInvolvement,
    Artist,
    ArtistKind,
    Credit,
    Provenance,
    Track,
)
from recsys.pipeline.api import Recommendation, RecommendedItem

DIM = 128


def trigram_vector(text: str) -> np.ndarray:
    """Deterministic character-trigram embedding: morphological variants land close."""
    v = np.zeros(DIM)
    padded = f"  {text.casefold()}  "
    for i in range(len(padded) - 2):
        h = int(hashlib.md5(padded[i : i + 3].encode()).hexdigest()[:8], 16)
        v[h % DIM] += 1.0
    return v / (np.linalg.norm(v) or 1.0)


GENRES = {
    "indie": ("upbeat", "guitar"),
    "ambient": ("calm", "melancholic"),
    "rap": ("energetic", "urban"),
    "jazz": ("smooth", "late night"),
}


def _make_catalog() -> tuple[dict[str, Track], dict[str, Artist], dict[str, float]]:
    tracks: dict[str, Track] = {}
    artists: dict[str, Artist] = {}
    tempo: dict[str, float] = {}
    for g_i, (genre, tags) in enumerate(GENRES.items()):
        for a_i in range(3):
            aid = f"{genre}-a{a_i}"
            kind = ArtistKind.AI_PERSONA if a_i == 2 else ArtistKind.HUMAN
            artists[aid] = Artist(
                artist_id=aid, name=f"{genre.title()} Artist {a_i}", kind=kind, rights_holder_id=aid
            )
            for t_i in range(4):
                tid = f"{genre}-t{a_i}{t_i}"
                ai = (
                    AiInvolvement.GENERATED if kind is ArtistKind.AI_PERSONA else AiInvolvement.NONE
                )
                tracks[tid] = Track(
                    track_id=tid,
                    title=f"{genre} song {a_i}{t_i}",
                    credits=(Credit(artist_id=aid, share=1.0),),
                    tags=tags,
                    genre=genre,
                    duration_ms=200_000,
                    release_date=date(2000 + g_i * 5 + t_i, 1, 1),
                    provenance=Provenance(ai_involvement=ai),
                )
                tempo[tid] = 80.0 + 20 * g_i + t_i
    # An AI imitation of indie-a0 without consent, and a quarantined upload.
    artists["clone"] = Artist(
        artist_id="clone",
        name="Indie Artist 0 (AI)",
        kind=ArtistKind.AI_PERSONA,
        rights_holder_id="clone",
    )
    tracks["imitation"] = Track(
        track_id="imitation",
        title="indie song in the style of Indie Artist 0",
        credits=(Credit(artist_id="clone", share=1.0),),
        tags=("upbeat", "guitar"),
        genre="indie",
        duration_ms=180_000,
        provenance=Provenance(
            ai_involvement=AiInvolvement.GENERATED, references_artist_ids=("indie-a0",)
        ),
    )
    tracks["spam"] = Track(
        track_id="spam",
        title="indie upbeat guitar best indie song indie",
        credits=(Credit(artist_id="indie-a1", share=1.0),),
        tags=("upbeat", "guitar"),
        genre="indie",
        duration_ms=20_000,
    )
    tempo["imitation"] = tempo["spam"] = 130.0
    return tracks, artists, tempo


@dataclass
class FakeBackend:
    """Listener ``fan`` plays indie; ``purist`` opted out of AI music."""

    tracks: dict[str, Track] = field(default_factory=dict)
    artists: dict[str, Artist] = field(default_factory=dict)
    tempo: dict[str, float] = field(default_factory=dict)
    quarantined: set[str] = field(default_factory=lambda: {"spam"})
    granted: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tracks, self.artists, self.tempo = _make_catalog()
        self.ids = sorted(self.tracks)
        self.vectors = np.stack([self._text_vec(t) for t in self.ids])

    def _text_vec(self, tid: str) -> np.ndarray:
        t = self.tracks[tid]
        v = trigram_vector(" ".join([t.title, t.genre, *t.tags]))
        return v / np.linalg.norm(v)

    def _rank(self, q: np.ndarray, k: int) -> list[tuple[str, float]]:
        sims = self.vectors @ q
        order = np.lexsort((np.arange(len(sims)), -sims))[:k]
        return [(self.ids[i], float(sims[i])) for i in order]

    def search_text(self, query: str, k: int) -> list[tuple[str, float]]:
        self.calls.append("search_text")
        return self._rank(trigram_vector(query), k)

    def similar_tracks(self, track_ids: Sequence[str], k: int) -> list[tuple[str, float]]:
        rows = [self.ids.index(t) for t in track_ids if t in self.tracks]
        if not rows:
            return []
        q = self.vectors[rows].mean(axis=0)
        return [
            (t, s)
            for t, s in self._rank(q / np.linalg.norm(q), k + len(rows))
            if t not in track_ids
        ][:k]

    def find_artists(self, name: str, limit: int = 3) -> list[Artist]:
        exact = [a for a in self.artists.values() if a.name.casefold() == name.casefold()]
        return exact[:limit]

    def find_tracks(self, title: str, limit: int = 3) -> list[Track]:
        return [t for t in self.tracks.values() if t.title.casefold() == title.casefold()][:limit]

    def artist_track_ids(self, artist_id: str, limit: int = 20) -> list[str]:
        return [t for t in self.ids if self.tracks[t].primary_artist_id == artist_id][:limit]

    def recommend(self, listener_id: str, k: int) -> Recommendation:
        # Deliberately includes forbidden tracks: the tools must drop them.
        ids = ["spam", "imitation", *[t for t in self.ids if t.startswith("indie")]][:k]
        items = tuple(
            RecommendedItem(
                track=self.tracks[t],
                artists=(),
                position=i,
                score=1.0 - i / 100,
                reasons=("because you played indie",),
            )
            for i, t in enumerate(ids)
        )
        return Recommendation(request_id="r", listener_id=listener_id, variant="", items=items)

    def profile(self, listener_id: str) -> ListenerProfile:
        known = listener_id in {"fan", "purist"}
        return ListenerProfile(
            listener_id=listener_id,
            known=known,
            top_genres=("indie",) if known else (),
            top_tags=("upbeat",) if known else (),
            ai_opt_out=listener_id == "purist",
            plays=10 if known else 0,
        )

    def facts(self, track_ids: Sequence[str]) -> list[TrackFacts]:
        out = []
        for t in track_ids:
            if t not in self.tracks:
                continue
            track = self.tracks[t]
            arts = tuple(self.artists[a] for a in track.artist_ids)
            year = track.release_date.year if track.release_date else None
            out.append(
                TrackFacts(
                    track=track,
                    artists=arts,
                    tempo=self.tempo.get(t),
                    year=year,
                    emerging=t.endswith("3"),
                    popularity=0.01,
                )
            )
        return out

    def permitted(self, track_ids: Sequence[str], listener_id: str | None) -> list[str]:
        opt_out = listener_id == "purist"
        keep = []
        for t in track_ids:
            track = self.tracks.get(t)
            if track is None or t in self.quarantined:
                continue
            refs = track.provenance.references_artist_ids
            if any(r not in self.granted for r in refs):
                continue
            if opt_out and track.provenance.ai_involvement is AiInvolvement.GENERATED:
                continue
            keep.append(t)
        return keep

    def genre_vocabulary(self) -> Sequence[str]:
        return sorted(GENRES)

    def tag_vocabulary(self) -> Sequence[str]:
        return sorted(set(GENRES) | {t for tags in GENRES.values() for t in tags})

    def term_similarity(self, track_ids: Sequence[str], terms: Sequence[str]) -> np.ndarray:
        rows = self.vectors[[self.ids.index(t) for t in track_ids]]
        return np.asarray(rows @ self.embed_terms(terms).T)

    def embed_terms(self, terms: Sequence[str]) -> np.ndarray:
        return np.stack([trigram_vector(t) for t in terms])


FORBIDDEN = {"spam", "imitation"}
