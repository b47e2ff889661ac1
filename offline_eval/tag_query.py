"""The tag-query task: a query is a tag's text, the relevant items are those carrying the tag in
a hold-out of listener–tag assignments, and every model sees item text built ONLY from the
training assignments.

Hold-out: when assignments carry times (HetRec Last.fm: ``user_taggedartists-timestamps``) the
latest ``test_fraction`` of assignments are held out (a global temporal cut); otherwise a seeded
random ``test_fraction`` of the distinct (tag, item) pairs is hidden, and items already carrying
the tag in training are left out of every model's answer (they are known, not found).
:func:`check_no_tag_leakage` fails loudly when any item text holds a tag the item only got in
the hold-out.

Example:
    liner eval --task tag-query --dataset hetrec-lastfm-2k --data-root ../shared/datasets \
        --out eval-tags
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from offline_eval.datasets import EvalDataset
from offline_eval.errors import EvalError, LeakageError
from offline_eval.models.base import Slates

logger = logging.getLogger(__name__)

MAX_TEXT_TAGS = 20
_HETREC_FILES = ("user_taggedartists-timestamps.dat", "tags.dat")
_EARLIEST_MS = pd.Timestamp("2005-01-01", tz="UTC").timestamp() * 1000


def norm_tag(tag: str) -> str:
    """Tags compare case- and space-insensitively."""
    return re.sub(r"\s+", " ", str(tag)).strip().casefold()


@dataclass(frozen=True, kw_only=True)
class TagCorpus:
    """What every model may see: the catalog's items with text from training tags only.

    Attributes:
        items: the dataset's items (ids, titles, provenance and quarantine columns), row order.
        tags: per item, its training tags (most assigned first, at most ``MAX_TEXT_TAGS``).
        genres: per item, catalog genres that do not come from listener tags.
        texts: per item, ``"<title>. Tags: …. Genre: …"``.
        popularity: per item, listeners in the training interactions (before the cut-off).
        consent: the dataset's consent ledger, if any.
    """

    items: pd.DataFrame
    tags: tuple[tuple[str, ...], ...]
    genres: tuple[tuple[str, ...], ...]
    texts: tuple[str, ...]
    popularity: np.ndarray
    artists: pd.DataFrame | None = None
    consent: pd.DataFrame | None = None

    @property
    def item_ids(self) -> list[str]:
        """Item ids in row order."""
        return self.items["item_id"].astype(str).tolist()


@dataclass(frozen=True, kw_only=True)
class TagQueries:
    """Queries and truth: ``text[q]`` is the query, ``relevant[q]`` its held-out items and
    ``known[q]`` items left out of every answer (already carrying the tag in training)."""

    text: dict[str, str]
    relevant: dict[str, frozenset[str]]
    known: dict[str, frozenset[str]] = field(default_factory=dict)


@runtime_checkable
class TextSearchModel(Protocol):
    """A model that answers text queries over a :class:`TagCorpus`."""

    name: str

    def index(self, corpus: TagCorpus) -> None:
        """Prepare to search ``corpus``."""
        ...

    def search(self, queries: Mapping[str, str], k: int) -> Slates:
        """Top-``k`` item ids per query id, best first."""
        ...


def tag_assignments(ds: EvalDataset) -> tuple[pd.DataFrame, list[set[str]]]:
    """Listener tag assignments (``item_id``, ``tag``, ``timestamp``) and non-tag genres per
    item (row order).

    HetRec Last.fm is read from its raw files (the adapter's ``tags`` column already merges
    every assignment, so it cannot be split); any other dataset uses its items' ``tags``.
    """
    folder = Path(ds.source) if ds.source else None
    genre_col = (
        ds.items["genre"].fillna("").astype(str).map(norm_tag)
        if "genre" in ds.items.columns
        else pd.Series("", index=ds.items.index)
    )
    item_tags = [[norm_tag(t) for t in tags] for tags in ds.item_tags()]
    ids = ds.items["item_id"].astype(str).tolist()
    if folder is not None and all((folder / f).is_file() for f in _HETREC_FILES):
        raw = pd.read_csv(folder / _HETREC_FILES[0], sep="\t")
        words = pd.read_csv(folder / _HETREC_FILES[1], sep="\t", encoding="latin-1")
        raw = raw[raw["timestamp"] >= _EARLIEST_MS]  # a few rows carry bogus 1956-1979 times
        tag = raw["tagID"].map(pd.Series(words["tagValue"].astype(str).to_numpy(), words["tagID"]))
        frame = pd.DataFrame(
            {
                "item_id": raw["artistID"].astype(str).to_numpy(),
                "tag": tag.fillna("").map(norm_tag).to_numpy(),
                "timestamp": raw["timestamp"].to_numpy(dtype=np.float64) / 1000.0,
            }
        )
        frame = frame[frame["tag"].ne("")]
        by_item = frame.groupby("item_id")["tag"].agg(set).to_dict()
        # what remains of the adapter's tags once listener words are removed: catalog genres
        genres = [
            set(t) - by_item.get(i, set()) - {""} for i, t in zip(ids, item_tags, strict=True)
        ]
        return frame.reset_index(drop=True), genres
    genres = [{g} - {""} for g in genre_col]
    rows = [
        (i, t)
        for i, tags, g in zip(ids, item_tags, genres, strict=True)
        for t in dict.fromkeys(tags)
        if t and t not in g
    ]
    frame = pd.DataFrame(rows, columns=["item_id", "tag"]).assign(timestamp=np.nan)
    return frame, genres


def hold_out(
    assignments: pd.DataFrame, *, test_fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, str, float | None]:
    """Split assignments into training and hold-out.

    Returns:
        ``(train, test, kind, cutoff)``: a temporal cut when every assignment has a time,
        else a seeded random hold-out of distinct (tag, item) pairs.
    """
    if len(assignments) and assignments["timestamp"].notna().all():
        cutoff = float(assignments["timestamp"].quantile(1 - test_fraction))
        late = assignments["timestamp"].to_numpy() >= cutoff
        return assignments[~late], assignments[late], "tag-temporal", cutoff
    pairs = assignments[["item_id", "tag"]].drop_duplicates()
    draw = np.random.default_rng(seed).random(len(pairs)) < test_fraction
    test_keys = pd.MultiIndex.from_frame(pairs[draw])
    is_test = pd.MultiIndex.from_frame(assignments[["item_id", "tag"]]).isin(test_keys)
    return assignments[~is_test], assignments[is_test], "tag-pairs", None


def build_corpus(
    ds: EvalDataset,
    train_tags: pd.DataFrame,
    genres: Sequence[set[str]],
    popularity: np.ndarray,
) -> TagCorpus:
    """Item texts from the training assignments only (most assigned tags first)."""
    counts = train_tags.groupby(["item_id", "tag"]).size().rename("n").reset_index()
    counts = counts.sort_values(["item_id", "n", "tag"], ascending=[True, False, True])
    top = counts.groupby("item_id").head(MAX_TEXT_TAGS).groupby("item_id")["tag"].agg(tuple)
    by_item = top.to_dict()
    tags: list[tuple[str, ...]] = []
    texts: list[str] = []
    genre_t: list[tuple[str, ...]] = []
    for item_id, title, gs in zip(
        ds.items["item_id"].astype(str), ds.items["title"].astype(str), genres, strict=True
    ):
        own = by_item.get(item_id, ())
        g = tuple(sorted(gs))
        parts = [title]
        if own:
            parts.append("Tags: " + ", ".join(own))
        if g:
            parts.append("Genre: " + ", ".join(g))
        tags.append(own)
        genre_t.append(g)
        texts.append(". ".join(parts))
    return TagCorpus(
        items=ds.items.reset_index(drop=True),
        tags=tuple(tags),
        genres=tuple(genre_t),
        texts=tuple(texts),
        popularity=popularity,
        artists=ds.artists,
        consent=ds.consent,
    )


def check_no_tag_leakage(
    corpus: TagCorpus, train_tags: pd.DataFrame, test_tags: pd.DataFrame
) -> None:
    """Fail loudly when an item's text carries a tag it only got in the hold-out.

    Raises:
        LeakageError: naming how many (item, tag) pairs leak, with examples.
    """
    train_pairs = set(zip(train_tags["item_id"], train_tags["tag"], strict=True))
    shown = {(i, t) for i, ts in zip(corpus.item_ids, corpus.tags, strict=True) for t in ts}
    test_only = set(zip(test_tags["item_id"], test_tags["tag"], strict=True)) - train_pairs
    leaked = sorted((shown - train_pairs) | (shown & test_only))
    if leaked:
        raise LeakageError(
            f"{len(leaked)} (item, tag) pairs in the item text are not training assignments, "
            f"e.g. {leaked[:3]}. Fix: build item text from the training assignments only"
        )


def make_queries(
    train_tags: pd.DataFrame,
    test_tags: pd.DataFrame,
    *,
    min_relevant: int,
    max_queries: int,
    seed: int,
    exclude_known: bool,
) -> TagQueries:
    """Tags with at least ``min_relevant`` held-out items, at most ``max_queries`` (seeded)."""
    relevant = test_tags.groupby("tag")["item_id"].agg(frozenset)
    known_all = train_tags.groupby("tag")["item_id"].agg(frozenset)
    if exclude_known:
        relevant = pd.Series(
            {t: r - known_all.get(t, frozenset()) for t, r in relevant.items()}, dtype=object
        )
    chosen = sorted(t for t, r in relevant.items() if len(r) >= min_relevant)
    if not chosen:
        raise EvalError(
            f"no tag has {min_relevant} or more held-out items. Fix: use a dataset whose items "
            "carry more tags, or lower min_relevant"
        )
    rng = np.random.default_rng(seed)
    if len(chosen) > max_queries:
        chosen = sorted(rng.choice(chosen, size=max_queries, replace=False).tolist())
    qid = {t: f"q{i:04d}" for i, t in enumerate(chosen)}
    return TagQueries(
        text={qid[t]: t for t in chosen},
        relevant={qid[t]: relevant[t] for t in chosen},
        known={qid[t]: known_all.get(t, frozenset()) for t in chosen} if exclude_known else {},
    )


__all__ = [
    "MAX_TEXT_TAGS",
    "TagCorpus",
    "TagQueries",
    "TextSearchModel",
    "build_corpus",
    "check_no_tag_leakage",
    "hold_out",
    "make_queries",
    "norm_tag",
    "tag_assignments",
]
