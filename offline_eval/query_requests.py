"""Query and seed requests made from held-out listening, for ``liner eval --task query``.

Every test listener of the split gets at most one request of each kind:

- **query**: one of the listener's held-out items is drawn, and one of its catalog terms (its
  genre or one of its tags, specific terms more often: weight ``log(n / items carrying it)``)
  becomes the query, written the way people type it (``rainy-day`` → "rainy day"). With a set
  chance a second term the item carries joins it, tag first ("rainy day jazz"). The relevant
  items are the listener's held-out items carrying every term: what they went on to play that
  matches what they asked for.
- **seed**: one held-out item and one of its terms that some of the listener's training items
  also carry are drawn; up to three of those training items (the most recent first) are the
  seeds, and the held-out items carrying the term are relevant ("play more like these").

A term is usable when at least ``min_term_items`` items and at most ``max_term_share`` of the
catalog carry it (a term nearly every item carries asks for nothing). Terms are compared
case-insensitively with hyphens and underscores as spaces; nothing is stemmed, so relevance is
the catalog's metadata, not any model's reading of it.

- **playlist** (datasets that name playlists: ``EvalDataset.playlists``): a playlist the
  listener made, whose tracks include some of their held-out items; the query is the
  playlist's title exactly as written ("chill vibes", "workout 2019", "Tropical House 🌴",
  typos and all), and the relevant items are the playlist's held-out tracks. A listener who
  made several such playlists is asked once per playlist (up to ``per_listener``; request id
  ``listener#playlist``): their history mixes the playlists, and the title is what says which
  one to continue. Terms are only recorded (the usable catalog terms the title names, for
  the term-popularity baseline); relevance never depends on them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from offline_eval.datasets import EvalDataset
from offline_eval.errors import EvalError


def norm_term(text: str) -> str:
    """Lower case, hyphens and underscores as spaces, single spaces."""
    return re.sub(r"\s+", " ", re.sub(r"[-_/]+", " ", str(text).casefold())).strip()


@dataclass(frozen=True, kw_only=True)
class EvalRequest:
    """One request: who asks (``qid`` is the listener: one request of a kind each), the words
    and seeds, and the relevant (held-out) items."""

    qid: str
    user: str
    query: str
    terms: tuple[str, ...]
    seeds: tuple[str, ...]
    relevant: frozenset[str]


@dataclass(frozen=True, kw_only=True)
class ItemTerms:
    """Per item (row order) its normalised genre and tags, and which terms are usable."""

    item_ids: list[str]
    terms: list[frozenset[str]]
    genres: list[str]
    usable: dict[str, float]
    """Usable term → weight (``log(n / items carrying it)``)."""

    @classmethod
    def of(cls, ds: EvalDataset, *, min_term_items: int, max_term_share: float) -> ItemTerms:
        ids = ds.items["item_id"].astype(str).tolist()
        genre_col = (
            ds.items["genre"].fillna("").astype(str).map(norm_term).tolist()
            if "genre" in ds.items.columns
            else [""] * len(ids)
        )
        terms = [
            frozenset({g, *(norm_term(t) for t in tags)} - {""})
            for g, tags in zip(genre_col, ds.item_tags(), strict=True)
        ]
        n = max(len(ids), 1)
        df = Counter(t for ts in terms for t in ts)
        usable = {
            t: float(np.log(n / c))
            for t, c in df.items()
            if c >= min_term_items and c <= max_term_share * n
        }
        return cls(item_ids=ids, terms=terms, genres=genre_col, usable=usable)

    def carrying(self, items: Sequence[str], terms: Sequence[str]) -> frozenset[str]:
        """``items`` carrying every one of ``terms``."""
        pos = self.position
        return frozenset(i for i in items if i in pos and set(terms) <= self.terms[pos[i]])

    @property
    def position(self) -> dict[str, int]:
        cached = self.__dict__.get("_position")
        if cached is None:
            cached = {i: r for r, i in enumerate(self.item_ids)}
            object.__setattr__(self, "_position", cached)
        return cached


REQUEST_KINDS = ("query", "seed", "playlist")
_EDGE = "!\"#$%'()*+,.:;<=>?@[\\]^`{|}~"


def title_terms(title: str, usable: Mapping[str, float]) -> tuple[str, ...]:
    """The usable catalog terms a title names, longest phrases first, each word used once
    ("Tropical House 🌴 2020" → ``("tropical house",)`` when the catalog has that genre)."""
    words = [w.strip(_EDGE) for w in norm_term(title).split()]
    words = [w for w in words if w]
    used = [False] * len(words)
    found: list[str] = []
    for n in range(min(3, len(words)), 0, -1):
        for i in range(len(words) - n + 1):
            phrase = " ".join(words[i : i + n])
            if not any(used[i : i + n]) and phrase in usable:
                found.append(phrase)
                used[i : i + n] = [True] * n
    return tuple(found)


def playlist_requests(
    ds: EvalDataset,
    table: ItemTerms,
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    max_requests: int,
    seed: int,
    per_listener: int = 5,
) -> tuple[list[EvalRequest], ItemTerms]:
    """Per test listener, up to ``per_listener`` requests, one per playlist they made holding
    some of their held-out items (drawn at random when there are more): the playlist's title
    as the query, those held-out items as relevant. The request id is the listener's id when
    they have one such playlist, ``listener#playlist`` otherwise.

    Raises:
        EvalError: when the dataset names no playlists, or no playlist holds held-out items.
    """
    if ds.playlists is None or ds.playlists.empty:
        raise EvalError(
            f"{ds.name} names no playlists, so it has no playlist titles to ask with. Fix: "
            "add playlists.csv and interactions.playlist_id (docs/data-format.md)"
        )
    rng = np.random.default_rng(seed)
    held = test.assign(item_id=test["item_id"].astype(str)).groupby("user_id")["item_id"]
    held_by_user = {str(u): set(g) for u, g in held}
    trained = train.assign(item_id=train["item_id"].astype(str)).groupby("user_id")["item_id"]
    known = {str(u): set(g) for u, g in trained}
    lists = ds.playlists.astype({"user_id": str, "item_id": str, "playlist_id": str})
    lists = lists[lists["user_id"].isin(set(held_by_user))]
    members = {
        (str(u), str(p)): (str(g["name"].iloc[0]), set(g["item_id"]))
        for (u, p), g in lists.groupby(["user_id", "playlist_id"], sort=True)
    }
    by_user: dict[str, list[tuple[str, str, frozenset[str]]]] = {}
    for (u, p), (name, tracks) in members.items():
        relevant = frozenset((tracks & held_by_user[u]) - known.get(u, set()))
        if relevant and known.get(u) and name.strip():
            by_user.setdefault(u, []).append((p, name.strip(), relevant))
    out: list[EvalRequest] = []
    for u in rng.permutation(sorted(by_user)).tolist():
        options = by_user[u]
        picked = rng.permutation(len(options))[: max(per_listener, 1)]
        for j in sorted(picked.tolist()):
            if len(out) >= max_requests:
                break
            playlist, name, relevant = options[j]
            out.append(
                EvalRequest(
                    qid=u if len(options) == 1 else f"{u}#{playlist}",
                    user=u,
                    query=name,
                    terms=title_terms(name, table.usable),
                    seeds=(),
                    relevant=relevant,
                )
            )
    if not out:
        raise EvalError(
            f"{ds.name}: no test listener has a playlist holding held-out items. Fix: check "
            "that interactions.playlist_id marks the listeners' playlist tracks"
        )
    return out, table


def _pick(rng: np.random.Generator, terms: Sequence[str], weights: dict[str, float]) -> str:
    w = np.asarray([weights[t] for t in terms], dtype=np.float64)
    return terms[int(rng.choice(len(terms), p=w / w.sum()))]


def make_requests(
    ds: EvalDataset,
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    kind: str,
    max_requests: int = 500,
    seed: int = 0,
    min_term_items: int = 5,
    max_term_share: float = 0.2,
    pair_share: float = 0.3,
    max_seeds: int = 3,
) -> tuple[list[EvalRequest], ItemTerms]:
    """Requests of ``kind`` (``query`` or ``seed``) for the split's test listeners.

    Raises:
        EvalError: when no listener's held-out items carry a usable term.
    """
    if kind not in REQUEST_KINDS:
        raise EvalError(f"unknown request kind {kind!r}. Fix: one of {list(REQUEST_KINDS)}")
    table = ItemTerms.of(ds, min_term_items=min_term_items, max_term_share=max_term_share)
    if kind == "playlist":
        return playlist_requests(ds, table, train, test, max_requests=max_requests, seed=seed)
    pos = table.position
    rng = np.random.default_rng(seed)
    held = test.assign(item_id=test["item_id"].astype(str)).groupby("user_id")["item_id"]
    held_by_user = {str(u): list(dict.fromkeys(g)) for u, g in held}
    ordered = train.assign(_t=train["timestamp"].fillna(-np.inf)).sort_values(
        "_t", ascending=False, kind="stable"
    )
    history = {
        str(u): list(dict.fromkeys(g.astype(str)))
        for u, g in ordered.groupby("user_id", sort=False)["item_id"]
    }
    users = sorted(held_by_user)
    out: list[EvalRequest] = []
    for u in rng.permutation(users).tolist():
        if len(out) >= max_requests:
            break
        earlier = [i for i in history.get(u, []) if i in pos]
        known = set(earlier)
        items = [i for i in held_by_user[u] if i in pos and i not in known]
        if not items or not earlier:
            continue
        target = items[int(rng.integers(len(items)))]
        own = sorted(t for t in table.terms[pos[target]] if t in table.usable)
        if kind == "seed":
            seen_terms = set().union(*(table.terms[pos[i]] for i in earlier[:50]))
            own = [t for t in own if t in seen_terms]
        if not own:
            continue
        term = _pick(rng, own, table.usable)
        chosen = [term]
        if kind == "query" and rng.random() < pair_share:
            others = [t for t in own if t != term]
            if others:
                second = _pick(rng, others, table.usable)
                genre = table.genres[pos[target]]
                chosen = [second, term] if term == genre else [term, second]
        seeds: tuple[str, ...] = ()
        if kind == "seed":
            seeds = tuple(i for i in earlier if term in table.terms[pos[i]])[:max_seeds]
        relevant = table.carrying(items, chosen)
        out.append(
            EvalRequest(
                qid=u,
                user=u,
                query=" ".join(chosen) if kind == "query" else "",
                terms=tuple(chosen),
                seeds=seeds,
                relevant=relevant,
            )
        )
    if not out:
        raise EvalError(
            f"{ds.name}: no test listener's held-out items carry a usable genre or tag "
            f"(carried by ≥ {min_term_items} items and ≤ {max_term_share:.0%} of the catalog). "
            "Fix: use data whose items have genres or tags"
        )
    return out, table


__all__ = [
    "REQUEST_KINDS",
    "EvalRequest",
    "ItemTerms",
    "make_requests",
    "norm_term",
    "playlist_requests",
    "title_terms",
]
