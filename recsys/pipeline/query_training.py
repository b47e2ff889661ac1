"""Learning-to-rank examples that carry a query and seeds, so the reranker learns what
``query_sim``, ``seed_sim`` and the ``text_query`` source's rank and score are worth.

Listening logs hold no request with words. These examples are made from what the catalog and
the log do hold. For a listener with plays in a label period (the time split is the caller's,
:func:`recsys.pipeline.training.train_from_events`: history before the cut-off, labels after):

- **query examples**: a catalog genre or tag carried by some of those later plays becomes the
  query, written the way people type (hyphens as spaces, sometimes a tag and a genre together
  like a playlist title "rainy day jazz", sometimes wrapped in filler such as "play me some
  ... please"); never a track's title. Specific terms are drawn more often than broad ones.
  With a set chance seeds are added too (the listener's earlier plays, those carrying the terms
  first). The relevant tracks are the later plays carrying every term the query names, as the
  query stage reads it: relevance is taste and query match together.
- **seed examples**: no query; a genre or tag carried both by some of the listener's recent
  earlier plays and by some later plays is drawn, one to three of those earlier plays are the
  seeds, and the later plays carrying it are relevant: what is playing now, within the
  listener's taste (with every later play relevant, the model learned to ignore the seeds).

Candidates come from serving's sources (the ``text_query`` source included) and pass the
query stage's gate exactly as served (:class:`~recsys.pipeline.query.QueryStage`), so the
model learns to order what serving orders. Query vectors come from ``encoder``, the text model
that embedded the catalog (the build passes it), normalised as serving normalises them.

``LINER_QUERY_EXAMPLES=0`` turns the examples off (to measure what they add; the setting is
part of the build's reranker step key, so changing it retrains the reranker); the bounded
``query_weight`` / ``seed_weight`` stage stays either way.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from recsys.domain import Listener
from recsys.params import PolicyParams
from recsys.pipeline.api import RecommendRequest
from recsys.pipeline.catalog import CatalogSnapshot
from recsys.pipeline.context import AnnIndex, SpacesView, build_context
from recsys.pipeline.query import QueryStage, normalise_term
from recsys.store import EventHistory

if TYPE_CHECKING:
    from recsys.pipeline.training import ExampleBuilder

logger = logging.getLogger(__name__)

ENV_SWITCH = "LINER_QUERY_EXAMPLES"
Group = tuple[np.ndarray, np.ndarray] | None

PHRASINGS: tuple[str, ...] = (
    "{q}",
    "{q}",
    "{q}",
    "{q} music",
    "some {q}",
    "play me some {q}",
    "{q} please",
    "{q} songs",
    "i want {q}",
    "something {q}",
    "{q} playlist",
    "a {q} mix",
    "{q} tonight",
    "{q} for the evening",
    "my {q} favourites",
)
"""How a term becomes a request; a phrasing whose filler names a catalog term is not used."""


class QueryTrainingConfig(BaseModel):
    """How many query and seed examples are made, and from which terms."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    """Make query and seed examples at all."""
    query_share: float = Field(1.0, ge=0.0, le=1.0)
    """Chance that a listener with a usable term gets a query example per period."""
    pair_share: float = Field(0.3, ge=0.0, le=1.0)
    """Chance that a query names two terms (a tag and a genre, playlist-title style)."""
    seeded_query_share: float = Field(0.3, ge=0.0, le=1.0)
    """Chance that a query example also carries seeds."""
    seed_share: float = Field(0.3, ge=0.0, le=1.0)
    """Chance that a listener also gets a seed example (seeds, no query)."""
    max_seeds: int = Field(3, ge=1, le=20)
    """At most this many seeds per example."""
    seed_window: int = Field(20, ge=1, le=500)
    """Seeds are drawn from this many of the listener's most recent earlier tracks."""
    max_term_share: float = Field(0.5, gt=0.0, le=1.0)
    """Terms carried by more than this share of the catalog are too broad to be a query."""

    @classmethod
    def from_env(cls) -> QueryTrainingConfig:
        """Defaults, with ``LINER_QUERY_EXAMPLES=0`` (or ``off``/``false``) turning them off."""
        value = os.environ.get(ENV_SWITCH, "1").strip().lower()
        return cls(enabled=value not in {"0", "off", "false", "no"})


class QueryEncoder:
    """A text model whose sentence vectors are remembered (a training period asks for the same
    few hundred query texts again and again), loaded on first use by name when not given."""

    def __init__(self, model: Any = None, name: str = "") -> None:
        self._model = model
        self.name = str(getattr(model, "name", None) or name)
        self._memo: dict[str, np.ndarray] = {}

    def _loaded(self) -> Any:
        if self._model is None:
            from recsys.embeddings.text import load_text_model

            self._model = load_text_model(self.name)
        return self._model

    def prime(self, sentences: Sequence[str]) -> None:
        """Encode the sentences not seen yet, in one batch (L2-normalised rows, as serving's
        ``embed_texts`` makes them)."""
        from recsys.embeddings.text import embed_texts

        new = [s for s in dict.fromkeys(sentences) if s not in self._memo]
        if new:
            self._memo.update(zip(new, embed_texts(new, self._loaded()), strict=True))

    def vector(self, sentence: str) -> np.ndarray:
        """The normalised vector of one sentence."""
        self.prime([sentence])
        return self._memo[sentence]


@dataclass(frozen=True)
class EncodedSpaces:
    """``spaces`` whose query vectors come from ``encoder`` (the build's spaces have no text
    model of their own)."""

    spaces: SpacesView
    encoder: QueryEncoder

    @property
    def vectors(self) -> Mapping[str, np.ndarray]:
        return self.spaces.vectors

    @property
    def indexes(self) -> Mapping[str, AnnIndex]:
        return self.spaces.indexes

    def query_vector(self, text: str) -> np.ndarray:
        return self.encoder.vector(text)


@dataclass(frozen=True, kw_only=True)
class DrawnExample:
    """One listener's drawn request: query text (may be empty), seed track ids, relevant rows."""

    listener_id: str
    query: str
    seeds: tuple[str, ...]
    relevant: np.ndarray


@dataclass
class TermTable:
    """The catalog's genres and tags as query terms, with how specific each is."""

    catalog: CatalogSnapshot
    stage: QueryStage
    max_term_share: float

    def __post_init__(self) -> None:
        cat = self.catalog
        n = max(len(cat), 1)
        codes = cat.genre_code[cat.genre_code >= 0].astype(np.int64)
        self.genre_df = np.bincount(codes, minlength=len(cat.genres))
        has_tags = len(cat.tag_ptr) == len(cat) + 1
        self.tag_df = (
            np.bincount(cat.tag_code.astype(np.int64), minlength=len(cat.tags))
            if has_tags
            else np.zeros(len(cat.tags), np.int64)
        )
        self.has_tags = has_tags
        vocab = self.stage.vocabulary
        assert vocab is not None

        def usable(name: str, df: int) -> bool:
            return 0 < df <= self.max_term_share * n and bool(vocab.terms(name))

        self.genre_ok = np.asarray(
            [usable(g, int(d)) for g, d in zip(cat.genres, self.genre_df, strict=True)], bool
        )
        self.tag_ok = np.asarray(
            [usable(t, int(d)) for t, d in zip(cat.tags, self.tag_df, strict=True)], bool
        )
        self.n = n

    def terms_of(self, rows: np.ndarray) -> list[tuple[str, bool, int, float]]:
        """Usable terms carried by ``rows``: (name, is_genre, count among rows, weight)."""
        cat = self.catalog
        out: list[tuple[str, bool, int, float]] = []
        g = cat.genre_code[rows]
        g = g[g >= 0].astype(np.int64)
        for code, count in zip(*np.unique(g, return_counts=True), strict=True):
            if self.genre_ok[code]:
                idf = np.log1p(self.n / self.genre_df[code])
                out.append((cat.genres[code], True, int(count), float(count * idf)))
        if self.has_tags and len(rows):
            tags = np.concatenate(
                [cat.tag_code[cat.tag_ptr[r] : cat.tag_ptr[r + 1]] for r in rows]
            ).astype(np.int64)
            for code, count in zip(*np.unique(tags, return_counts=True), strict=True):
                if self.tag_ok[code]:
                    idf = np.log1p(self.n / self.tag_df[code])
                    out.append((cat.tags[code], False, int(count), float(count * idf)))
        return out

    def named(self, text: str) -> frozenset[str]:
        """The catalog terms ``text`` names, as the query stage reads it."""
        vocab = self.stage.vocabulary
        assert vocab is not None
        return frozenset(t.term for t in vocab.terms(text))

    def matching(self, text: str, rows: np.ndarray) -> np.ndarray:
        """``rows`` carrying every catalog term ``text`` names (as the query stage reads it)."""
        vocab = self.stage.vocabulary
        assert vocab is not None
        terms = vocab.terms(text)
        if not terms or not len(rows):
            return rows[:0]
        return rows[vocab.match(terms, rows) >= 1.0 - 1e-9]


def phrase(table: TermTable, names: Sequence[str], rng: np.random.Generator) -> str:
    """``names`` (catalog genres/tags) written as a request: hyphens as spaces, in a filler
    phrasing when its filler names no catalog term (the request must name the same terms)."""
    words = " ".join(n.replace("-", " ").replace("_", " ") for n in names)
    if rng.random() < 0.2:
        words = " ".join(n for n in names)  # as the catalog writes it ("rainy-day jazz")
    want = table.named(" ".join(names))
    for template in rng.permutation(PHRASINGS):
        text = str(template).format(q=words)
        if table.named(text) == want:
            return text
    return " ".join(names)


def draw_query(
    table: TermTable, positives: np.ndarray, rng: np.random.Generator, pair_share: float
) -> tuple[str, np.ndarray] | None:
    """A request naming terms the listener's label-period plays carry, and those plays."""
    terms = table.terms_of(positives)
    if not terms:
        return None
    weights = np.asarray([t[3] for t in terms])
    first = terms[int(rng.choice(len(terms), p=weights / weights.sum()))]
    names = [first[0]]
    relevant = table.matching(first[0], positives)
    if not len(relevant):
        return None
    if rng.random() < pair_share and len(relevant) > 1:
        others = [
            t
            for t in table.terms_of(relevant)
            if normalise_term(t[0]) != normalise_term(first[0]) and (t[1] != first[1] or not t[1])
        ]
        if others:
            w = np.asarray([t[3] for t in others])
            second = others[int(rng.choice(len(others), p=w / w.sum()))]
            pair = [second[0], first[0]] if first[1] else [first[0], second[0]]  # genre last
            both = table.matching(" ".join(pair), relevant)
            if len(both):
                names, relevant = pair, both
    text = phrase(table, names, rng)
    relevant = table.matching(text, positives)
    return (text, relevant) if len(relevant) else None


def draw_seeds(
    table: TermTable,
    history_rows: np.ndarray,
    query: str,
    rng: np.random.Generator,
    config: QueryTrainingConfig,
) -> np.ndarray:
    """One to ``max_seeds`` of the listener's most recent earlier tracks, drawn at random
    (those carrying the query's terms first)."""
    recent = pd.unique(history_rows)[: config.seed_window]
    n = int(rng.integers(1, config.max_seeds + 1))
    hit = table.matching(query, recent) if query else recent[:0]
    rest = recent[~np.isin(recent, hit)]
    picked = np.concatenate([rng.permutation(hit), rng.permutation(rest)])[:n]
    return np.asarray(picked, dtype=np.int64)


def draw_examples(
    table: TermTable,
    window: pd.DataFrame,
    history: Mapping[str, EventHistory],
    rng: np.random.Generator,
    config: QueryTrainingConfig,
) -> list[DrawnExample]:
    """The period's drawn requests (a query example, then a seed example), per listener."""
    cat = table.catalog
    out: list[DrawnExample] = []
    for listener_id, ids in window.groupby("listener_id")["track_id"]:
        hist = history.get(str(listener_id))
        if hist is None or not len(hist):
            continue
        hist_rows = cat.rows(hist.track_ids)
        positives = np.unique(cat.rows(ids.astype(str)))
        positives = positives[~np.isin(positives, hist_rows)]
        if not len(positives) or not len(hist_rows):
            continue
        if rng.random() < config.query_share:
            drawn = draw_query(table, positives, rng, config.pair_share)
            if drawn is not None:
                text, relevant = drawn
                seeds = np.empty(0, np.int64)
                if rng.random() < config.seeded_query_share:
                    seeds = draw_seeds(table, hist_rows, text, rng, config)
                out.append(
                    DrawnExample(
                        listener_id=str(listener_id),
                        query=text,
                        seeds=tuple(str(cat.track_ids[r]) for r in seeds),
                        relevant=relevant,
                    )
                )
        if rng.random() < config.seed_share:
            seeded = draw_seed_topic(table, hist_rows, positives, rng, config)
            if seeded is not None:
                seeds, relevant = seeded
                out.append(
                    DrawnExample(
                        listener_id=str(listener_id),
                        query="",
                        seeds=tuple(str(cat.track_ids[r]) for r in seeds),
                        relevant=relevant,
                    )
                )
    return out


def draw_seed_topic(
    table: TermTable,
    history_rows: np.ndarray,
    positives: np.ndarray,
    rng: np.random.Generator,
    config: QueryTrainingConfig,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Seeds (recent earlier plays) and the later plays sharing a drawn term with them."""
    recent = pd.unique(history_rows)[: config.seed_window]
    earlier = {t[0] for t in table.terms_of(recent)}
    shared = [t for t in table.terms_of(positives) if t[0] in earlier]
    if not shared:
        return None
    weights = np.asarray([t[3] for t in shared])
    term = shared[int(rng.choice(len(shared), p=weights / weights.sum()))][0]
    n = int(rng.integers(1, config.max_seeds + 1))
    seeds = rng.permutation(table.matching(term, recent))[:n]
    relevant = table.matching(term, positives)
    return (np.asarray(seeds, np.int64), relevant) if len(seeds) and len(relevant) else None


def query_groups(
    builder: ExampleBuilder,
    catalog: CatalogSnapshot,
    spaces: SpacesView,
    window: pd.DataFrame,
    history: Mapping[str, EventHistory],
    listeners: Mapping[str, Listener],
    rng: np.random.Generator,
    *,
    encoder: QueryEncoder | None = None,
    config: QueryTrainingConfig | None = None,
) -> list[Group]:
    """Ranking groups (features, 0/1 labels) of one period's query and seed examples.

    Args:
        builder: the period's example builder (its sources and features are serving's).
        catalog: the period's catalog (events before the cut-off).
        spaces: the period's spaces.
        window: the period's positive events (``listener_id``, ``track_id``).
        history: per listener, events before the cut-off.
        listeners: listener records (preferences, blocked artists).
        rng: the training's random generator.
        encoder: the catalog's text model (None: ``spaces.query_vector`` embeds queries).
        config: default :meth:`QueryTrainingConfig.from_env`.

    Returns:
        One group per drawn example (None where no relevant track was retrieved).
    """
    config = config or QueryTrainingConfig.from_env()
    if not config.enabled or window.empty:
        return []
    stage = QueryStage(catalog, spaces)
    table = TermTable(catalog, stage, config.max_term_share)
    drawn = draw_examples(table, window, history, rng, config)
    if encoder is not None:
        try:
            encoder.prime([d.query for d in drawn if d.query])
            spaces = EncodedSpaces(spaces, encoder)
        except Exception as exc:  # no text model offline: seed examples only
            logger.warning("query examples skipped: text model %r: %s", encoder.name, exc)
            drawn = [d for d in drawn if not d.query]
    groups: list[Group] = []
    skipped = 0
    for ex in drawn:
        req = RecommendRequest(
            listener_id=ex.listener_id,
            query=ex.query,
            context_track_ids=ex.seeds,
            surface="search" if ex.query else "radio",
            params=PolicyParams(),
        )
        ctx = build_context(
            req,
            listener=listeners.get(ex.listener_id),
            events=history[ex.listener_id],
            catalog=catalog,
            spaces=spaces,
        )
        if ex.query and ctx.query_vec is None:
            skipped += 1  # the spaces cannot embed text: serving's query_sim would differ
            continue
        cands = builder.candidates(ctx)
        cands = builder.served_pool(cands.subset(stage.assess(ctx, cands.rows).keep))
        label = np.isin(cands.rows, ex.relevant)
        if not label.any():
            groups.append(None)
            continue
        neg = np.flatnonzero(~label)
        if len(neg) > builder.max_negatives:
            neg = rng.choice(neg, builder.max_negatives, replace=False)
        keep = np.sort(np.concatenate([np.flatnonzero(label), neg]))
        sub = cands.subset(keep)
        groups.append((builder.features.build(ctx, sub), label[keep].astype(np.float32)))
    if skipped:
        logger.warning("%d query examples skipped: the spaces give no query vector", skipped)
    logger.info(
        "query training: %d drawn (%d with a query), %d with a relevant candidate",
        len(drawn),
        sum(bool(d.query) for d in drawn),
        sum(g is not None for g in groups),
    )
    return groups


__all__ = [
    "ENV_SWITCH",
    "PHRASINGS",
    "DrawnExample",
    "EncodedSpaces",
    "QueryEncoder",
    "QueryTrainingConfig",
    "TermTable",
    "draw_examples",
    "draw_query",
    "draw_seed_topic",
    "draw_seeds",
    "phrase",
    "query_groups",
]
