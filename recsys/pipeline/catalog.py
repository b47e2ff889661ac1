"""An in-memory columnar snapshot of the catalog, aligned with the embedding rows.

Every stage of the pipeline looks tracks up by *row* (the position in the embedding spaces), so
the metadata lives in flat numpy arrays indexed by row: a filter or a feature over 500
candidates is a handful of fancy-indexing operations, even with a million tracks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from recsys.domain import AiInvolvement, AiPart, Artist, ArtistKind, Track

# Integer codes of the AI-involvement label, stable across snapshots.
AI_CODES: dict[AiInvolvement, int] = {
    AiInvolvement.NONE: 0,
    AiInvolvement.ASSISTED: 1,
    AiInvolvement.GENERATED: 2,
    AiInvolvement.UNDISCLOSED: 3,
}
AI_GENERATED = AI_CODES[AiInvolvement.GENERATED]
AI_NONE = AI_CODES[AiInvolvement.NONE]


@njit(cache=True, nogil=True)
def _credits(
    ptr: np.ndarray, artist: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """The CSR entries ``artist[ptr[r]:ptr[r + 1]]`` of each of ``rows`` in order, and the
    index into ``rows`` of each."""
    total = 0
    for r in rows:
        total += ptr[r + 1] - ptr[r]
    out = np.empty(total, artist.dtype)
    owner = np.empty(total, np.int64)
    m = 0
    for i in range(rows.shape[0]):
        for e in range(ptr[rows[i]], ptr[rows[i] + 1]):
            out[m] = artist[e]
            owner[m] = i
            m += 1
    return out, owner


def _csr(lists: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    ptr = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(lengths, out=ptr[1:])
    flat = np.fromiter((v for x in lists for v in x), dtype=np.int32, count=int(ptr[-1]))
    return ptr, flat


@dataclass(frozen=True, kw_only=True, eq=False)
class CatalogSnapshot:
    """Track and artist metadata as arrays indexed by track row and artist row.

    Attributes:
        track_ids: track id per row (the embedding row order).
        artist_ids: artist id per artist row.
        artist_row: primary artist row per track (-1 when uncredited).
        credit_ptr: CSR pointers into ``credit_artist`` (all credited artists per track).
        credit_artist: credited artist rows.
        ref_ptr: CSR pointers into ``ref_artist`` (artists a track references or imitates).
        ref_artist: referenced artist rows.
        ai_code: AI-involvement code per track (see ``AI_CODES``).
        vocals_ai: whether AI made or helped with the vocals.
        artist_human: per artist, kind is human.
        artist_verified: per artist, identity verified.
        artist_rights_holder: rights holder id per artist row.
        artist_plays: play count per artist row (exposure).
        popularity: log1p(plays) per track.
        trend: log of (recent share + eps) / (overall share + eps); > 0 means rising.
        age_days: days between release (or upload) and ``as_of``; NaN when unknown.
        duration_s: track length in seconds (0 when unknown).
        genre_code: genre code per track (-1 when unknown).
        genres: genre name per code.
        as_of: the time the snapshot describes.
        tag_ptr: CSR pointers into ``tag_code`` (the tags of each track); empty when the
            snapshot was made without tags.
        tag_code: tag codes (indexes into ``tags``).
        tags: tag name per code, as written in the catalog.
    """

    track_ids: np.ndarray
    artist_ids: np.ndarray
    artist_row: np.ndarray
    credit_ptr: np.ndarray
    credit_artist: np.ndarray
    ref_ptr: np.ndarray
    ref_artist: np.ndarray
    ai_code: np.ndarray
    vocals_ai: np.ndarray
    artist_human: np.ndarray
    artist_verified: np.ndarray
    artist_rights_holder: np.ndarray
    artist_plays: np.ndarray
    popularity: np.ndarray
    trend: np.ndarray
    age_days: np.ndarray
    duration_s: np.ndarray
    genre_code: np.ndarray
    genres: tuple[str, ...]
    as_of: dt.datetime
    row_of: dict[str, int] = field(default_factory=dict)
    artist_row_of: dict[str, int] = field(default_factory=dict)
    is_human: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    """Per track: the primary artist is a human artist (derived)."""
    tag_ptr: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    tag_code: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    tags: tuple[str, ...] = ()
    _emerging_cache: dict[float, np.ndarray] = field(default_factory=dict, repr=False)
    _emerging_tracks_cache: dict[float, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        rows = self.artist_row
        human = (rows >= 0) & self.artist_human[np.maximum(rows, 0)] if len(rows) else rows > 0
        object.__setattr__(self, "is_human", human)
        if not self.row_of:
            self.row_of.update({str(t): i for i, t in enumerate(self.track_ids)})
        if not self.artist_row_of:
            self.artist_row_of.update({str(a): i for i, a in enumerate(self.artist_ids)})

    def __len__(self) -> int:
        return len(self.track_ids)

    def rows(self, track_ids: Iterable[str]) -> np.ndarray:
        """Rows of the known ids among ``track_ids`` (unknown ids are skipped)."""
        get = self.row_of.get
        out = [r for r in (get(t) for t in track_ids) if r is not None]
        return np.asarray(out, dtype=np.int64)

    def emerging_artists(self, quantile: float) -> np.ndarray:
        """Per artist row: a human artist whose plays are below ``quantile`` of all artists.

        Cached per quantile value, so a variant's setting costs one pass over the artists.
        """
        cached = self._emerging_cache.get(quantile)
        if cached is None:
            threshold = (
                float(np.quantile(self.artist_plays, quantile)) if len(self.artist_plays) else 0.0
            )
            below = self.artist_plays <= threshold if quantile > 0 else self.artist_plays <= 0
            cached = below & self.artist_human
            self._emerging_cache[quantile] = cached
        return cached

    def emerging_tracks(self, quantile: float) -> np.ndarray:
        """Per track: its primary artist is emerging at ``quantile`` (cached)."""
        cached = self._emerging_tracks_cache.get(quantile)
        if cached is None:
            artist = self.artist_row
            emerging = self.emerging_artists(quantile)
            cached = (artist >= 0) & emerging[np.maximum(artist, 0)]
            self._emerging_tracks_cache[quantile] = cached
        return cached

    def credited_artist_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All credited artist rows of ``rows``: (artist rows, index into ``rows``), in one
        compiled pass."""
        return _credits(self.credit_ptr, self.credit_artist, np.asarray(rows, dtype=np.int64))

    @classmethod
    def build(
        cls,
        *,
        track_ids: Sequence[str],
        tracks: Mapping[str, Track],
        artists: Iterable[Artist],
        plays: Mapping[str, float] | None = None,
        recent_plays: Mapping[str, float] | None = None,
        as_of: dt.datetime | None = None,
    ) -> CatalogSnapshot:
        """Build the snapshot for ``track_ids`` (the embedding row order).

        Args:
            track_ids: track id per row.
            tracks: the tracks by id; ids missing here get neutral metadata.
            artists: all artists.
            plays: play count per track id (all time up to ``as_of``).
            recent_plays: play count per track id in a recent window, for the trend.
            as_of: the reference time for freshness; default now (UTC).
        """
        as_of = as_of or dt.datetime.now(dt.UTC)
        plays = plays or {}
        recent_plays = recent_plays or {}
        artist_list = list(artists)
        artist_row_of = {a.artist_id: i for i, a in enumerate(artist_list)}
        n = len(track_ids)
        artist_row = np.full(n, -1, dtype=np.int32)
        ai_code = np.full(n, AI_CODES[AiInvolvement.UNDISCLOSED], dtype=np.int8)
        vocals_ai = np.zeros(n, dtype=bool)
        age = np.full(n, np.nan, dtype=np.float32)
        duration = np.zeros(n, dtype=np.float32)
        genre_code = np.full(n, -1, dtype=np.int16)
        genre_of: dict[str, int] = {}
        tag_of: dict[str, int] = {}
        tag_lists: list[list[int]] = []
        credit_lists: list[list[int]] = []
        ref_lists: list[list[int]] = []
        pop = np.zeros(n, dtype=np.float32)
        recent = np.zeros(n, dtype=np.float32)
        for i, tid in enumerate(track_ids):
            pop[i] = plays.get(tid, 0.0)
            recent[i] = recent_plays.get(tid, 0.0)
            track = tracks.get(tid)
            if track is None:
                credit_lists.append([])
                ref_lists.append([])
                tag_lists.append([])
                continue
            tag_lists.append([tag_of.setdefault(t, len(tag_of)) for t in track.tags if t])
            credited = [artist_row_of[a] for a in track.artist_ids if a in artist_row_of]
            credit_lists.append(credited)
            artist_row[i] = credited[0] if credited else -1
            prov = track.provenance
            ref_lists.append([artist_row_of.get(a, -1) for a in prov.references_artist_ids])
            ai_code[i] = AI_CODES[prov.ai_involvement]
            vocals_ai[i] = AiPart.VOCALS in prov.ai_parts
            when = track.uploaded_at
            if track.release_date is not None:
                when = dt.datetime.combine(track.release_date, dt.time(), tzinfo=dt.UTC)
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=dt.UTC)
                age[i] = max((as_of - when).total_seconds() / 86400.0, 0.0)
            duration[i] = track.duration_ms / 1000.0
            if track.genre:
                genre_code[i] = genre_of.setdefault(track.genre, len(genre_of))
        credit_ptr, credit_artist = _csr(credit_lists)
        ref_ptr, ref_artist = _csr(ref_lists)
        tag_ptr, tag_code = _csr(tag_lists)
        artist_plays = np.zeros(len(artist_list), dtype=np.float64)
        np.add.at(artist_plays, credit_artist, np.repeat(pop, np.diff(credit_ptr)))
        total, total_recent = pop.sum() + 1e-9, recent.sum() + 1e-9
        trend = np.log((recent / total_recent + 1e-6) / (pop / total + 1e-6)).astype(np.float32)
        return cls(
            track_ids=np.asarray(track_ids, dtype=object),
            artist_ids=np.asarray([a.artist_id for a in artist_list], dtype=object),
            artist_row=artist_row,
            credit_ptr=credit_ptr,
            credit_artist=credit_artist,
            ref_ptr=ref_ptr,
            ref_artist=ref_artist,
            ai_code=ai_code,
            vocals_ai=vocals_ai,
            artist_human=np.asarray([a.kind is ArtistKind.HUMAN for a in artist_list], dtype=bool),
            artist_verified=np.asarray([a.verified for a in artist_list], dtype=bool),
            artist_rights_holder=np.asarray(
                [a.rights_holder_id for a in artist_list], dtype=object
            ),
            artist_plays=artist_plays,
            popularity=np.log1p(pop).astype(np.float32),
            trend=trend,
            age_days=age,
            duration_s=duration,
            genre_code=genre_code,
            genres=tuple(genre_of),
            as_of=as_of,
            artist_row_of=artist_row_of,
            tag_ptr=tag_ptr,
            tag_code=tag_code,
            tags=tuple(tag_of),
        )


__all__ = ["AI_CODES", "AI_GENERATED", "AI_NONE", "CatalogSnapshot"]
