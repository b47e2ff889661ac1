"""Per (listener, candidate) features, computed for all candidates at once with numpy.

The feature names are stable strings; the reranker stores the list it was trained on and the
slate log stores the values by name, so a model can be retrained from what was served.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from recsys.pipeline.candidates import MISSING_RANK, CandidateSet
from recsys.pipeline.catalog import CatalogSnapshot
from recsys.pipeline.context import SPACES, ListenerContext, SpacesView

HISTORY_MAX_SPACES: tuple[str, ...] = ("fused", "collab")
"""Spaces in which the best single match with the listener's history is a feature."""
HISTORY_FOR_MAX = 50
"""How many of the most recent history rows the max-similarity features look at."""

BASE_FEATURES: tuple[str, ...] = (
    *(f"sim_{s}" for s in SPACES),
    *(f"hist_max_{s}" for s in HISTORY_MAX_SPACES),
    "seed_sim",
    "query_sim",
    "n_sources",
    "popularity",
    "trend",
    "log_age_days",
    "duration_s",
    "artist_affinity",
    "genre_affinity",
    "artist_popularity",
    "is_human",
    "artist_verified",
    "ai_code",
    "emerging",
    "history_len",
)


def feature_names(source_names: Sequence[str]) -> tuple[str, ...]:
    """All feature names for a pipeline with these candidate sources."""
    per_source = [f"{kind}_{s}" for s in source_names for kind in ("rank", "score")]
    return (*BASE_FEATURES, *per_source)


STATIC_FEATURES: tuple[str, ...] = (
    "popularity",
    "trend",
    "log_age_days",
    "duration_s",
    "artist_popularity",
    "is_human",
    "artist_verified",
    "ai_code",
)
"""Features that depend on the track alone: precomputed per catalog row, gathered at once."""


@dataclass
class FeatureBuilder:
    """Builds the feature matrix of a candidate set.

    Per-track features are precomputed into one ``n_tracks × 8`` table when the builder is
    made, so a request gathers them with a single fancy index; each embedding space's
    candidate vectors are gathered once and reused by every similarity feature.
    """

    spaces: SpacesView
    catalog: CatalogSnapshot
    source_names: tuple[str, ...]
    _static: np.ndarray = field(init=False, repr=False)
    _static_cols: np.ndarray = field(init=False, repr=False)
    _index: dict[str, int] = field(init=False, repr=False)
    _row_cols: np.ndarray = field(init=False, repr=False)
    _rank_cols: np.ndarray = field(init=False, repr=False)
    _score_cols: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        cat = self.catalog
        artist = cat.artist_row
        safe = np.maximum(artist, 0)
        has_artist = artist >= 0
        age = cat.age_days
        columns = {
            "popularity": cat.popularity,
            "trend": cat.trend,
            "log_age_days": np.where(np.isnan(age), -1.0, np.log1p(np.nan_to_num(age))),
            "duration_s": cat.duration_s,
            "artist_popularity": np.where(has_artist, np.log1p(cat.artist_plays[safe]), 0.0),
            "is_human": cat.is_human,
            "artist_verified": has_artist & cat.artist_verified[safe],
            "ai_code": cat.ai_code,
        }
        self._static = (
            np.column_stack(
                [np.asarray(columns[name], dtype=np.float32) for name in STATIC_FEATURES]
            )
            if len(cat)
            else np.zeros((0, len(STATIC_FEATURES)), dtype=np.float32)
        )
        self._index = {name: i for i, name in enumerate(self.names)}
        self._static_cols = np.asarray([self._index[name] for name in STATIC_FEATURES])
        self._row_cols = np.asarray([self._index[name] for name in ROW_FEATURES], dtype=np.int64)
        self._rank_cols = np.asarray(
            [self._index[f"rank_{s}"] for s in self.source_names], dtype=np.int64
        )
        self._score_cols = np.asarray(
            [self._index[f"score_{s}"] for s in self.source_names], dtype=np.int64
        )

    @property
    def names(self) -> tuple[str, ...]:
        """Column names of :meth:`build`'s matrix."""
        return feature_names(self.source_names)

    def build(
        self,
        ctx: ListenerContext,
        cands: CandidateSet,
        gathered: dict[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """The ``len(cands) × len(names)`` float32 feature matrix.

        ``gathered``, when given, receives each space's candidate vectors as gathered here
        (the policy reuses the fused ones instead of gathering them again)."""
        rows = cands.rows
        n = len(rows)
        col = self._index
        out = np.zeros((n, len(col)), dtype=np.float32)
        if n == 0:
            return out
        cat = self.catalog
        vectors = self.spaces.vectors
        hist = ctx.history_rows[:HISTORY_FOR_MAX]
        for space in SPACES:
            vecs = vectors.get(space)
            prof = ctx.profiles.get(space)
            wanted = prof is not None or (space in HISTORY_MAX_SPACES and len(hist) > 0)
            if vecs is None or not (wanted or space == "fused"):
                continue
            cand_vecs = vecs[rows]
            if gathered is not None:
                gathered[space] = cand_vecs
            if prof is not None:
                out[:, col[f"sim_{space}"]] = cand_vecs @ prof
            if space in HISTORY_MAX_SPACES and len(hist):
                hist_vecs = ctx.history_vecs(space, vecs, HISTORY_FOR_MAX)
                out[:, col[f"hist_max_{space}"]] = (cand_vecs @ hist_vecs.T).max(axis=1)
            if space == "fused" and len(ctx.seed_rows):
                out[:, col["seed_sim"]] = (cand_vecs @ vecs[ctx.seed_rows].T).max(axis=1)
        text = vectors.get("text")
        if ctx.query_vec is not None and text is not None:
            out[:, col["query_sim"]] = text[rows] @ ctx.query_vec
        _row_columns(
            out,
            np.asarray(rows, dtype=np.int64),
            self._static,
            self._static_cols,
            cat.artist_row,
            np.asarray(ctx.artist_keys, dtype=np.int64),
            np.asarray(ctx.artist_shares, dtype=np.float64),
            cat.genre_code,
            np.asarray(ctx.genre_keys, dtype=np.int64),
            np.asarray(ctx.genre_shares, dtype=np.float64),
            cat.emerging_tracks(ctx.request.params.emerging_exposure_quantile),
            self._row_cols,
            np.float32(np.log1p(len(ctx.history_rows))),
        )
        if cands.columns is not None:  # (merged candidates: their source matrices)
            names, rank_m, score_m = cands.columns
            where = {name: i for i, name in enumerate(names)}
            _source_columns(
                out,
                rank_m,
                score_m,
                np.asarray([where.get(s, -1) for s in self.source_names], dtype=np.int64),
                self._rank_cols,
                self._score_cols,
                col["n_sources"],
                np.float32(MISSING_RANK),
            )
            return out
        n_sources = out[:, col["n_sources"]]
        for s in self.source_names:
            ranks = cands.ranks.get(s)
            if ranks is None:
                out[:, col[f"rank_{s}"]] = MISSING_RANK
                continue
            out[:, col[f"rank_{s}"]] = ranks
            out[:, col[f"score_{s}"]] = cands.scores[s]
            n_sources += ranks < MISSING_RANK
        return out


ROW_FEATURES: tuple[str, ...] = ("artist_affinity", "genre_affinity", "emerging", "history_len")
"""Columns :func:`_row_columns` writes (in this order) besides the static ones."""


@njit(cache=True, nogil=True)
def _share(known: np.ndarray, values: np.ndarray, key: np.int64) -> np.float32:  # pragma: no cover
    """``values`` of ``key`` in the ascending ``known`` as float32, 0 where absent."""
    lo, hi = 0, known.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if known[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    if lo < known.shape[0] and known[lo] == key:
        return np.float32(values[lo])
    return np.float32(0.0)


@njit(cache=True, nogil=True)
def _row_columns(
    out: np.ndarray,
    rows: np.ndarray,
    static: np.ndarray,
    static_cols: np.ndarray,
    artist_row: np.ndarray,
    artist_keys: np.ndarray,
    artist_shares: np.ndarray,
    genre_code: np.ndarray,
    genre_keys: np.ndarray,
    genre_shares: np.ndarray,
    emerging: np.ndarray,
    cols: np.ndarray,
    history_len: np.float32,
) -> None:  # pragma: no cover - compiled
    """The per-track columns of each candidate in one pass: the static table's row, the
    listener's share of its artist and genre, its emerging flag and the history length
    (``cols`` in :data:`ROW_FEATURES` order)."""
    for i in range(rows.shape[0]):
        r = rows[i]
        for c in range(static_cols.shape[0]):
            out[i, static_cols[c]] = static[r, c]
        out[i, cols[0]] = _share(artist_keys, artist_shares, np.int64(artist_row[r]))
        out[i, cols[1]] = _share(genre_keys, genre_shares, np.int64(genre_code[r]))
        out[i, cols[2]] = np.float32(1.0) if emerging[r] else np.float32(0.0)
        out[i, cols[3]] = history_len


@njit(cache=True, nogil=True)
def _source_columns(
    out: np.ndarray,
    ranks: np.ndarray,
    scores: np.ndarray,
    source_rows: np.ndarray,
    rank_cols: np.ndarray,
    score_cols: np.ndarray,
    n_col: int,
    missing: np.float32,
) -> None:  # pragma: no cover - compiled
    """Each source's rank and score columns from the candidates' ``sources × candidates``
    matrices (``source_rows[t]``: the matrix row of the builder's source ``t``, −1 for a
    source that proposed nothing: rank ``missing``, score 0), and how many ranked each."""
    for t in range(source_rows.shape[0]):
        s = source_rows[t]
        for i in range(out.shape[0]):
            if s < 0:
                out[i, rank_cols[t]] = missing
            else:
                v = ranks[s, i]
                out[i, rank_cols[t]] = v
                out[i, score_cols[t]] = scores[s, i]
                if v < missing:
                    out[i, n_col] += np.float32(1.0)


__all__ = ["BASE_FEATURES", "FeatureBuilder", "feature_names"]
