"""Everything the metrics need to know about the catalog, the split and the test listeners,
built once per evaluation and shared by every model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize

from offline_eval.datasets import PROVIDER_GROUPS, EvalDataset
from offline_eval.models.base import Slates


def _split_tags(text: str) -> list[str]:
    return [t for t in text.split("|") if t]


@dataclass(frozen=True, kw_only=True)
class MetricContext:
    """Shared inputs of every metric.

    Attributes:
        k: slate size.
        users: the evaluated listeners (test users), in a fixed order.
        item_ids: catalog ids; ``item_pos`` maps id -> column.
        popularity: training listeners per item.
        long_tail: items outside the short head (the most popular items that together hold 20%
            of training interactions are the head).
        features: L2-normalised item vectors (tags, audio) for diversity; rows may be zero.
        group_codes: provider-group index per item (into ``groups``).
        groups: provider groups present in the catalog.
        artist_codes: artist index per item; ``n_artists`` artists.
        emerging: per item, True when it is a human track whose artist's training listener
            count is at most the median among artists with any training listener.
        flagged: per item integrity truth; ``has_integrity_truth`` says whether it is real.
        disclosed: per item, True when its AI-involvement label is not ``UNDISCLOSED``.
        relevance: test users x items, 1 where the pair is in the test set.
        activity: training pairs per test user.
    """

    k: int
    users: list[str]
    item_ids: np.ndarray
    item_pos: pd.Index
    popularity: np.ndarray
    n_train_users: int
    long_tail: np.ndarray
    features: sp.csr_matrix | None
    group_codes: np.ndarray
    groups: tuple[str, ...]
    artist_codes: np.ndarray
    n_artists: int
    emerging: np.ndarray
    flagged: np.ndarray
    has_integrity_truth: bool
    disclosed: np.ndarray
    relevance: sp.csr_matrix
    activity: np.ndarray

    @classmethod
    def build(
        cls, dataset: EvalDataset, train: pd.DataFrame, test: pd.DataFrame, k: int
    ) -> MetricContext:
        """Build the context from the catalog and the two sides of a split."""
        items = dataset.items
        item_pos = pd.Index(items["item_id"].astype(str))
        n_items = len(item_pos)
        cols = item_pos.get_indexer(train["item_id"].astype(str))
        popularity = np.bincount(cols[cols >= 0], minlength=n_items).astype(np.float64)
        order = np.argsort(-popularity, kind="stable")
        cum = np.cumsum(popularity[order]) / max(popularity.sum(), 1.0)
        head = order[: int(np.searchsorted(cum, 0.2) + 1)]
        long_tail = np.ones(n_items, dtype=bool)
        long_tail[head] = False
        present = [g for g in PROVIDER_GROUPS if (items["provider_group"] == g).any()]
        group_codes = pd.Categorical(items["provider_group"], categories=present).codes
        artist_codes, artist_uniques = pd.factorize(items["artist_id"].astype(str))
        artist_plays = np.bincount(artist_codes, weights=popularity, minlength=len(artist_uniques))
        # the median over artists with any training listener: with it, "emerging" is the
        # lower half of artists people actually play (most catalogs have many unplayed ones)
        played = artist_plays[artist_plays > 0]
        median = float(np.median(played)) if played.size else 0.0
        emerging = artist_plays[artist_codes] <= median
        emerging &= items["provider_group"].eq("human").to_numpy()
        users = sorted(test["user_id"].astype(str).unique())
        rows = pd.Index(users).get_indexer(test["user_id"].astype(str))
        tcols = item_pos.get_indexer(test["item_id"].astype(str))
        ok = (rows >= 0) & (tcols >= 0)
        relevance = sp.csr_matrix(
            (np.ones(int(ok.sum())), (rows[ok], tcols[ok])), shape=(len(users), n_items)
        )
        relevance.data[:] = 1.0
        activity = train.groupby("user_id").size().reindex(users).fillna(0).to_numpy()
        return cls(
            k=k,
            users=users,
            item_ids=item_pos.to_numpy(),
            item_pos=item_pos,
            popularity=popularity,
            n_train_users=max(int(train["user_id"].nunique()), 1),
            long_tail=long_tail,
            features=item_features(dataset),
            group_codes=np.asarray(group_codes),
            groups=tuple(present),
            artist_codes=np.asarray(artist_codes),
            n_artists=len(artist_uniques),
            emerging=np.asarray(emerging),
            flagged=items["integrity_flag"].to_numpy(dtype=bool),
            has_integrity_truth=dataset.has_integrity_truth,
            disclosed=items["ai_involvement"].ne("UNDISCLOSED").to_numpy(),
            relevance=relevance,
            activity=activity.astype(np.float64),
        )

    def slate_matrix(self, slates: Slates) -> tuple[sp.csr_matrix, np.ndarray]:
        """Slates as (users x items matrix of 1-based ranks, users x k matrix of item columns).

        Missing positions (short slates, unknown items) are -1 in the second matrix.
        """
        n_users, k = len(self.users), self.k
        cols = np.full((n_users, k), -1, dtype=np.int64)
        for r, user in enumerate(self.users):
            ids = [i for i, _ in slates.get(user, [])[:k]]
            if ids:
                pos = self.item_pos.get_indexer(ids)
                cols[r, : len(pos)] = pos
        rr, pp = np.nonzero(cols >= 0)
        ranks = sp.csr_matrix((pp + 1.0, (rr, cols[rr, pp])), shape=(n_users, len(self.item_ids)))
        return ranks, cols


def item_features(dataset: EvalDataset) -> sp.csr_matrix | None:
    """Item vectors for diversity: binary tags and standardised audio, each L2-normalised."""
    parts: list[sp.csr_matrix] = []
    tags = dataset.items["tags"].fillna("").astype(str).str.lower()
    if tags.ne("").any():
        vec = CountVectorizer(
            tokenizer=_split_tags, binary=True, token_pattern=None, lowercase=False
        )
        parts.append(normalize(vec.fit_transform(tags).tocsr()))
    audio = dataset.audio_matrix()
    if audio is not None:
        parts.append(normalize(sp.csr_matrix(audio)))
    if not parts:
        return None
    return normalize(sp.hstack(parts).tocsr())


__all__ = ["MetricContext", "item_features"]
