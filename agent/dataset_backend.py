"""A discovery backend over a dataset's items alone (no store, no listeners), for offline
evaluation of the agent: exact inner-product search over item-text embeddings, the items' own
tag and genre vocabulary, and the dataset's provenance, quarantine and consent columns as the
guardrail.

Example:
    >>> backend = DatasetBackend(items, texts=texts, tags=tags, genres=genres, vectors=vecs,
    ...                          text_model=model)  # doctest: +SKIP
    >>> DiscoveryAgent(backend).ask("melancholic post-rock").items  # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from agent.backend import ListenerProfile, TrackFacts
from recsys.domain import AiInvolvement, Artist, ArtistKind, Credit, Provenance, Track
from recsys.embeddings.text import TextModel, embed_texts
from recsys.pipeline.api import Recommendation

_STYLE_SCOPE = "ai_style_reference"


def _split(value: object) -> tuple[str, ...]:
    return tuple(x for x in str(value or "").split("|") if x and x != "nan")


def consent_blocked(items: pd.DataFrame, consent: pd.DataFrame | None) -> np.ndarray:
    """Items whose AI involvement references an artist who has not granted style use.

    The ledger's last entry per (rights holder, scope) wins; without a ledger nobody has
    granted anything, so every AI track that references an artist is blocked.
    """
    if "references_artist_ids" not in items.columns:
        return np.zeros(len(items), dtype=bool)
    granted: set[str] = set()
    if consent is not None and len(consent):
        ledger = consent[consent["scope"].astype(str) == _STYLE_SCOPE]
        if "timestamp" in ledger.columns:
            ledger = ledger.sort_values("timestamp", kind="stable")
        last = ledger.groupby(ledger["rights_holder_id"].astype(str))["action"].last()
        granted = {h for h, a in last.items() if str(a).casefold() == "grant"}
    ai = items["ai_involvement"].astype(str).isin(["ASSISTED", "GENERATED", "UNDISCLOSED"])
    refs = items["references_artist_ids"].map(_split)
    return np.asarray(
        [bool(a and r and not set(r) <= granted) for a, r in zip(ai, refs, strict=True)]
    )


class DatasetBackend:
    """The agent's tools over an evaluation dataset's items.

    Args:
        items: the dataset's items (``item_id``, ``title``, ``artist_id``, ``ai_involvement``,
            ``integrity_flag``; optional ``audio_tempo``, ``release_date``,
            ``references_artist_ids``, ``duration_ms``).
        texts: per item, the text embedded in ``vectors``.
        tags: per item, its tags (the tag vocabulary).
        genres: per item, its genres (the genre vocabulary; hard constraints when named).
        vectors: unit-norm text embeddings of ``texts`` (items × d).
        text_model: the model that made ``vectors`` (embeds queries and terms).
        popularity: per item, listeners (any non-negative weight); zeros when None.
        artists: optional artists frame (``artist_id``, ``name``, ``kind``, ``rights_holder_id``).
        consent: optional consent ledger (docs/data-format.md).
        label_boost: added to an item's search score for each catalog label the query names
            that the item carries; 1.0 puts exact label matches first, in cosine order (0.3
            and 1.0 scored alike on the tag-query validation split; 0 is dense search only).
    """

    def __init__(
        self,
        items: pd.DataFrame,
        *,
        texts: Sequence[str],
        tags: Sequence[Sequence[str]],
        genres: Sequence[Sequence[str]],
        vectors: np.ndarray,
        text_model: TextModel,
        popularity: np.ndarray | None = None,
        artists: pd.DataFrame | None = None,
        consent: pd.DataFrame | None = None,
        label_boost: float = 1.0,
    ) -> None:
        self.items = items.reset_index(drop=True)
        self._records = self.items.astype(object).where(self.items.notna(), None).to_dict("records")
        self.ids = self.items["item_id"].astype(str).tolist()
        self.row_of = {t: i for i, t in enumerate(self.ids)}
        self.texts, self.tags, self.genres = list(texts), list(tags), list(genres)
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.model = text_model
        pop = np.zeros(len(self.ids)) if popularity is None else np.asarray(popularity, float)
        self.popularity = pop / (pop.sum() or 1.0)
        self._artists = self._artist_table(artists)
        blocked = consent_blocked(self.items, consent)
        flagged = self.items["integrity_flag"].fillna(False).to_numpy(dtype=bool)
        self._allowed = ~(blocked | flagged)
        self._generated = self.items["ai_involvement"].astype(str).eq("GENERATED").to_numpy()
        self._tracks: dict[str, TrackFacts] = {}
        self._terms: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self.label_boost = label_boost
        rows_of: dict[str, list[int]] = {}
        for r, labels in enumerate(zip(self.tags, self.genres, strict=True)):
            for label in {x.casefold() for part in labels for x in part}:
                rows_of.setdefault(label, []).append(r)
        self._label_rows = {x: np.asarray(r, dtype=np.int64) for x, r in rows_of.items()}

    def _artist_table(self, artists: pd.DataFrame | None) -> dict[str, Artist]:
        out: dict[str, Artist] = {}
        if artists is not None and "artist_id" in artists.columns:
            for row in artists.astype(object).where(artists.notna(), None).to_dict("records"):
                aid = str(row["artist_id"])
                kind = str(row.get("kind") or "unknown")
                out[aid] = Artist(
                    artist_id=aid,
                    name=str(row.get("name") or aid),
                    kind=ArtistKind(kind) if kind in set(ArtistKind) else ArtistKind.UNKNOWN,
                    rights_holder_id=str(row.get("rights_holder_id") or aid),
                )
        for aid in self.items["artist_id"].astype(str).unique():
            out.setdefault(aid, Artist(artist_id=aid, name=aid, rights_holder_id=aid))
        return out

    def _top(self, scores: np.ndarray, k: int, exclude: set[int] | None = None) -> list:
        if exclude:
            scores = scores.copy()
            scores[list(exclude)] = -np.inf
        k = min(k, len(scores))
        part = np.argpartition(-scores, k - 1)[:k] if 0 < k < len(scores) else np.arange(k)
        order = part[np.lexsort((part, -scores[part]))]
        return [(self.ids[i], float(scores[i])) for i in order if np.isfinite(scores[i])]

    def labels_in(self, query: str) -> list[str]:
        """Catalog labels (tags, genres) named in ``query`` as whole phrases, longest first,
        without those inside a longer one ("post rock" hides "rock")."""
        words = query.casefold().split()
        found: list[str] = []
        covered: set[int] = set()
        for n in range(min(len(words), 6), 0, -1):
            for i in range(len(words) - n + 1):
                phrase, span = " ".join(words[i : i + n]), set(range(i, i + n))
                if phrase in self._label_rows and not span <= covered:
                    covered |= span
                    found.append(phrase)
        return list(dict.fromkeys(found))

    def search_text(self, query: str, k: int) -> list[tuple[str, float]]:
        """Cosine similarity to the query, plus ``label_boost`` for each catalog label the
        query names that the item carries (hybrid dense + exact-label retrieval)."""
        scores = self.vectors @ self.embed_terms([query])[0]
        if self.label_boost:
            scores = scores.astype(np.float64)
            for label in self.labels_in(query):
                scores[self._label_rows[label]] += self.label_boost
        return self._top(scores, k)

    def similar_tracks(self, track_ids: Sequence[str], k: int) -> list[tuple[str, float]]:
        rows = {self.row_of[t] for t in track_ids if t in self.row_of}
        if not rows:
            return []
        q = self.vectors[sorted(rows)].mean(axis=0)
        return self._top(self.vectors @ (q / (np.linalg.norm(q) or 1.0)), k, exclude=rows)

    def find_artists(self, name: str, limit: int = 3) -> list[Artist]:
        if name in self._artists:
            return [self._artists[name]]
        by_name: dict[str, list[Artist]] = {}
        for a in self._artists.values():
            by_name.setdefault(a.name.casefold(), []).append(a)
        close = difflib.get_close_matches(name.casefold().strip(), list(by_name), limit, 0.85)
        return [a for c in close for a in by_name[c]][:limit]

    def find_tracks(self, title: str, limit: int = 3) -> list[Track]:
        titles = self.items["title"].astype(str).str.casefold()
        close = difflib.get_close_matches(title.casefold(), titles.unique().tolist(), limit, 0.85)
        ids = [self.ids[i] for c in close for i in np.flatnonzero(titles.to_numpy() == c)]
        return [f.track for f in self.facts(ids[:limit])]

    def artist_track_ids(self, artist_id: str, limit: int = 20) -> list[str]:
        rows = np.flatnonzero(self.items["artist_id"].astype(str).to_numpy() == artist_id)
        rows = rows[np.argsort(-self.popularity[rows], kind="stable")][:limit]
        return [self.ids[r] for r in rows]

    def recommend(self, listener_id: str, k: int) -> Recommendation:
        """No listeners here: an empty slate."""
        return Recommendation(request_id="", listener_id=listener_id, variant="", items=())

    def profile(self, listener_id: str) -> ListenerProfile:
        """No listeners here: unknown."""
        return ListenerProfile(listener_id=listener_id, known=False)

    def _facts(self, row: int) -> TrackFacts:
        item = self._records[row]
        aid = str(item["artist_id"])
        inv = str(item.get("ai_involvement") or "UNDISCLOSED")
        released = pd.to_datetime(item.get("release_date"), errors="coerce")
        tempo = pd.to_numeric(item.get("audio_tempo"), errors="coerce")
        duration = pd.to_numeric(item.get("duration_ms"), errors="coerce")
        track = Track(
            track_id=self.ids[row],
            title=str(item["title"]),
            credits=(Credit(artist_id=aid, share=1.0),),
            tags=tuple(self.tags[row]) + tuple(self.genres[row]),
            genre=self.genres[row][0] if self.genres[row] else "",
            duration_ms=0 if pd.isna(duration) else int(duration),
            release_date=None if pd.isna(released) else date(released.year, released.month, 1),
            provenance=Provenance(
                ai_involvement=AiInvolvement(inv)
                if inv in set(AiInvolvement)
                else AiInvolvement.UNDISCLOSED,
                references_artist_ids=_split(item.get("references_artist_ids")),
            ),
        )
        return TrackFacts(
            track=track,
            artists=(self._artists[aid],),
            tempo=None if pd.isna(tempo) else float(tempo),
            year=track.release_date.year if track.release_date else None,
            popularity=float(self.popularity[row]),
        )

    def facts(self, track_ids: Sequence[str]) -> list[TrackFacts]:
        out: list[TrackFacts] = []
        for tid in track_ids:
            row = self.row_of.get(tid)
            if row is None:
                continue
            if tid not in self._tracks:
                self._tracks[tid] = self._facts(row)
            out.append(self._tracks[tid])
        return out

    def permitted(self, track_ids: Sequence[str], listener_id: str | None) -> list[str]:
        """Known, not quarantined (``integrity_flag``), no imitation without consent. There are
        no listeners here, so no opt-out applies."""
        rows = [(t, self.row_of[t]) for t in track_ids if t in self.row_of]
        return [t for t, r in rows if self._allowed[r]]

    def tag_vocabulary(self) -> Sequence[str]:
        return sorted({t for ts in self.tags for t in ts} | set(self.genre_vocabulary()))

    def genre_vocabulary(self) -> Sequence[str]:
        return sorted({g for gs in self.genres for g in gs})

    def preload_terms(self, terms: Sequence[str], vectors: np.ndarray) -> None:
        """Remember term embeddings computed elsewhere (e.g. from an on-disk cache)."""
        with self._lock:
            self._terms.update(zip(terms, np.asarray(vectors, dtype=np.float32), strict=True))

    def embed_terms(self, terms: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(terms) if t not in self._terms]
        if missing:
            vecs = embed_texts(missing, self.model)
            with self._lock:
                self._terms.update(zip(missing, vecs, strict=True))
        if not terms:
            return np.zeros((0, self.vectors.shape[1]), dtype=np.float32)
        return np.stack([self._terms[t] for t in terms])

    def term_similarity(self, track_ids: Sequence[str], terms: Sequence[str]) -> np.ndarray:
        sims = np.zeros((len(track_ids), len(terms)), dtype=np.float32)
        pos = [(i, self.row_of[t]) for i, t in enumerate(track_ids) if t in self.row_of]
        if pos and len(terms):
            at, rows = zip(*pos, strict=True)
            sims[list(at)] = self.vectors[list(rows)] @ self.embed_terms(terms).T
        return sims


__all__ = ["DatasetBackend", "consent_blocked"]
