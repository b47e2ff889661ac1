"""Per (listener, candidate) features, computed for all candidates at once with numpy.

The feature names are stable strings; the reranker stores the list it was trained on and the
slate log stores the values by name, so a model can be retrained from what was served.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from recsys.pipeline.candidates import CandidateSet
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


@dataclass
class FeatureBuilder:
    """Builds the feature matrix of a candidate set."""

    spaces: SpacesView
    catalog: CatalogSnapshot
    source_names: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Column names of :meth:`build`'s matrix."""
        return feature_names(self.source_names)

    def build(self, ctx: ListenerContext, cands: CandidateSet) -> np.ndarray:
        """The ``len(cands) × len(names)`` float32 feature matrix."""
        rows = cands.rows
        n = len(rows)
        cat = self.catalog
        vectors = self.spaces.vectors
        cols: list[np.ndarray] = []
        zeros = np.zeros(n, dtype=np.float32)
        for space in SPACES:
            prof = ctx.profiles.get(space)
            vecs = vectors.get(space)
            cols.append(zeros if prof is None or vecs is None else vecs[rows] @ prof)
        hist = ctx.history_rows[:HISTORY_FOR_MAX]
        for space in HISTORY_MAX_SPACES:
            vecs = vectors.get(space)
            if vecs is None or len(hist) == 0:
                cols.append(zeros)
            else:
                cols.append((vecs[rows] @ vecs[hist].T).max(axis=1))
        fused = vectors.get("fused")
        if fused is not None and len(ctx.seed_rows):
            cols.append((fused[rows] @ fused[ctx.seed_rows].T).max(axis=1))
        else:
            cols.append(zeros)
        text = vectors.get("text")
        cols.append(zeros if ctx.query_vec is None or text is None else text[rows] @ ctx.query_vec)
        n_sources = np.zeros(n, dtype=np.float32)
        for r in cands.ranks.values():
            n_sources += r < 5000
        cols.append(n_sources)
        artist = cat.artist_row[rows]
        safe_artist = np.maximum(artist, 0)
        has_artist = artist >= 0
        age = cat.age_days[rows]
        cols.extend(
            [
                cat.popularity[rows],
                cat.trend[rows],
                np.where(np.isnan(age), -1.0, np.log1p(np.nan_to_num(age))),
                cat.duration_s[rows],
                _lookup(ctx.artist_affinity, artist),
                _lookup(ctx.genre_affinity, cat.genre_code[rows]),
                np.where(has_artist, np.log1p(cat.artist_plays[safe_artist]), 0.0),
                cat.is_human[rows],
                has_artist & cat.artist_verified[safe_artist],
                cat.ai_code[rows],
                has_artist
                & cat.emerging_artists(ctx.request.params.emerging_exposure_quantile)[safe_artist],
                np.full(n, np.log1p(len(ctx.history_rows)), dtype=np.float32),
            ]
        )
        for s in self.source_names:
            cols.append(cands.ranks.get(s, np.full(n, 5000.0, np.float32)))
            cols.append(cands.scores.get(s, zeros))
        return (
            np.column_stack([np.asarray(c, dtype=np.float32) for c in cols])
            if n
            else (np.zeros((0, len(self.names)), dtype=np.float32))
        )


def _lookup(table: Mapping[int, float], keys: np.ndarray) -> np.ndarray:
    out = np.zeros(len(keys), dtype=np.float32)
    if not table:
        return out
    known = np.fromiter(table.keys(), dtype=np.int64, count=len(table))
    values = np.fromiter(table.values(), dtype=np.float32, count=len(table))
    order = np.argsort(known)
    known, values = known[order], values[order]
    pos = np.minimum(np.searchsorted(known, keys), len(known) - 1)
    hit = known[pos] == keys
    out[hit] = values[pos[hit]]
    return out


__all__ = ["BASE_FEATURES", "FeatureBuilder", "feature_names"]
