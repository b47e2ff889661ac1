"""The query stage: what a request's words and seed tracks ask for, made to count.

The reranker learns from listening logs, in which no request had words or seeds, so on its
own it ranks a "jazz" request's jazz candidates below the listener's usual taste. This stage
applies the request explicitly, with the bounded weights of ``PolicyParams``
(``query_weight``, ``seed_weight``), so an A/B variant can tune but not remove it:

- The query's words are matched against the catalog's own genres and tags, phrases first,
  hyphens read as spaces ("rainy day jazz" finds the tag ``rainy-day`` and the genre
  ``jazz``); a genre counts twice a tag. Words that name nothing in the catalog are left to
  the text-embedding similarity.
- When the query names catalog terms, candidates carrying less than half of the best
  candidate's match are dropped, so a "heavy metal" slate holds metal, not the listener's
  classical favourites. A track with no genre and no tag at all is not evidence against the
  query: it stays, ranked on its text similarity and the learned score (a catalog only
  partly described, like TidyTuesday's tracks with their artists' genres, keeps the
  listener's undescribed tracks). When nothing the listener may be shown carries them, or
  the query names no catalog term and no track's text is close to it, the slate is empty and
  a note says that nothing matched (an unrelated slate would look like an answer).
- Seeds (``context_track_ids``) add their similarity to the score and are not served back;
  without a query only the candidates closest to them are ranked. Closeness is the fused
  similarity to the nearest seed plus a bonus per share of the seeds in the candidate's genre
  (three jazz seeds ask for jazz, not for whatever sounds nearest); when the catalog has
  enough of them, only candidates in the seeds' main genre are ranked. In a catalog that
  gives the seeds no genre (HetRec's artists carry tags only), the largest share of the
  seeds carrying one of the candidate's tags plays the genre share's part.

Since the reranker is also trained on query and seed requests
(:mod:`recsys.pipeline.query_training`), the gate is what keeps a slate on topic and the
weights are a bounded, A/B-tunable nudge (``query_weight=0`` leaves the order to the model).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from recsys.pipeline.catalog import CatalogSnapshot
from recsys.pipeline.context import ListenerContext, SpacesView

_STOP_TEXT = """a an the some any something anything me i we us you for to with and or of in on
at by my our that this is are be it its but please play give want need find show get put music
songs song tracks track tunes stuff list playlist mix like kind sort more less very really just
bit little good great best new"""
QUERY_STOP_WORDS = frozenset(_STOP_TEXT.split())
"""Words that never name a catalog term on their own ("music", "for", "some")."""

GENRE_WEIGHT = 2.0
TAG_WEIGHT = 1.0
MAX_NGRAM = 3
FOCUS_SHUFFLES = 16
"""Shuffled weightings of the history the focus's move is compared with."""
TERM_CACHE = 1024
"""Matched-row lists kept per catalog term (the lexical candidate pool)."""


class QueryStageConfig(BaseModel):
    """Thresholds of the query stage (the weights are in ``PolicyParams``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gate_fraction: float = Field(0.5, ge=0.0, le=1.0)
    """A candidate is kept when its term match is at least this share of the best one.
    Within that, the best-matching tiers that fill the slate are kept and the rest dropped
    ("upbeat indie" keeps upbeat indie tracks when there are enough of them)."""
    min_semantic_sim: float = Field(0.35, ge=-1.0, le=1.0)
    """A query naming no catalog term matches nothing when no candidate's text is at least
    this close (cosine) to it."""
    semantic_margin: float = Field(0.15, gt=0.0, le=2.0)
    """Such a query keeps candidates within this cosine of the closest one."""
    lexical_share: float = Field(0.75, ge=0.0, le=1.0)
    """Share of the term match in the relevance (the rest is text similarity)."""
    seed_pool: int = Field(60, ge=10, le=1000)
    """With seeds and no query, only this many candidates closest to the seeds are ranked
    (the listener's usual taste would otherwise outrank what is playing now)."""
    seed_genre_bonus: float = Field(0.3, ge=0.0, le=2.0)
    """Added to a candidate's closeness to the seeds, times the share of seeds in its genre."""
    seed_gate_share: float = Field(0.5, ge=0.0, le=1.0)
    """With seeds and no query, only candidates in a genre of at least this share of the seeds
    are ranked, when there are ``seed_gate_slates`` slates' worth of them (0: no gate)."""
    seed_gate_slates: float = Field(3.0, ge=1.0, le=100.0)
    tier_slates: float = Field(1.0, ge=0.0, le=100.0)
    """The best-matching tiers kept must hold this many slates' worth of candidates (0: keep
    every candidate above ``gate_fraction``)."""
    specificity_power: float = Field(4.0, ge=0.0, le=8.0)
    """The query's boost is scaled by the share of its content words that name catalog terms
    to this power (0: not scaled). "jazz" names everything it says; "summer vibes 2019" may
    name one word of two. A request naming a catalog genre, or from a listener with no
    history, keeps its full strength. Set on the dev half of the TidyTuesday playlists (with
    the query requests of the same builds, which it leaves unchanged)."""
    history_redundancy: float = Field(0.0, ge=0.0, le=1.0)
    """The boost is also scaled by ``1 - history_redundancy × h``, where ``h`` is the share
    of the listener's (weighted) history already carrying the query's terms: a request the
    history already says adds little to it (0: not scaled). Off: measured on the dev half,
    ``h`` is the same for playlist titles and for genre requests (0.30), and 0.5 cost the
    genre requests 0.054 NDCG@10 (docs/query-eval.md)."""
    gate_strength: float = Field(0.5, ge=0.0, le=1.0)
    """The gate narrows the candidates only for a request whose strength (see
    ``QueryStage.strength``) is at least this; a weaker one is ranked on the boost alone, so
    a vague request ("Nasty Bits", "Workout Hard Rock" from a playlist of pop) does not
    drop the listener's history. A request that matches nothing still says so (0: always
    gate)."""
    focus_weight: float = Field(1.0, ge=0.0, le=2.0)
    """Share of ``query_weight`` given to the request's *focus*: the part of the listener's
    history the words point at (each history track weighted by its text closeness to the
    query, sharpened by ``focus_temperature``), as a taste vector in the fused space.
    Candidates close to it gain ``query_weight × focus_weight × focus strength × closeness``
    (closeness scaled to [0, 1] over the candidates). 0 turns the focus off."""
    focus_temperature: float = Field(0.05, gt=0.0, le=1.0)
    """Softmax temperature (cosine units) of the query's weighting of the history."""
    focus_scale: float = Field(0.1, gt=0.0, le=2.0)
    """The focus strength is how much farther the focus moves the listener's taste vector
    (``1 - cos(focus, taste)``) than the same weights given to the history in shuffled
    orders do, over this (capped at 1): a title that picks one of several playlists mixed
    in a history moves it; one that matches the whole history (or picks tracks at random)
    says nothing the history does not already say."""
    focus_pool: int = Field(60, ge=0, le=1000)
    """Candidates nearest the focus (fused index) added to the query's candidate pool."""
    history_fallback: bool = True
    """A query that names no catalog term and whose text is close to no track is answered
    from the listener's history with a note saying nothing matched (a listener with no
    history gets an empty slate and the note). Off: an empty slate for everyone. On the dev
    half of the TidyTuesday playlists 2 of 45 titles matched nothing ("Nasty Bits",
    "②⓪①⑨ mixed") and lost 0.53-0.55 NDCG@10 each to the empty slate."""
    gate_undescribed: bool = False
    """Whether the gate also drops candidates with no genre and no tag at all. Off: a track
    the catalog says nothing about is not evidence against the query (a playlist titled
    "Dance Room" should not lose the listener's untagged dance tracks); it stays in with no
    term match, so matching tracks still rank above it."""


def _stem(word: str) -> str:
    """A light suffix strip, the same for catalog terms and query words ("running" and
    "run", "drums" and "drum", "relaxed" and "relax")."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix) and not word.endswith("ss"):
            word = word[: -len(suffix)]
            if suffix in ("ing", "ed") and len(word) > 2 and word[-1] == word[-2]:
                word = word[:-1]  # "running" → "runn" → "run"
            break
    return word


def normalise_term(text: str) -> str:
    """Lower case; hyphens, underscores, punctuation and symbols (emoji) as spaces, so
    "ELECTROPOP🐹" and "Funky // Neo-Soul" read as words; single spaces, each word stemmed.
    Apostrophes and ``&`` stay inside words ("90's", "r&b")."""
    spaced = re.sub(r"[^\w\s'&]+|_+", " ", text.casefold())
    return " ".join(_stem(w) for w in spaced.split())


_STOP = frozenset(normalise_term(w) for w in QUERY_STOP_WORDS)


@dataclass(frozen=True, kw_only=True)
class QueryTerm:
    """A catalog genre or tag named by a query."""

    term: str
    weight: float
    genre_codes: np.ndarray
    tag_codes: np.ndarray


@dataclass
class QueryVocabulary:
    """The catalog's genres and tags as terms a query can name.

    A term is a genre, a tag, or a word of a hyphenated tag (``black-metal`` carries
    ``metal``): a "metal" request accepts black metal.
    """

    catalog: CatalogSnapshot
    _genres: dict[str, list[int]] = field(default_factory=dict)
    _tags: dict[str, list[int]] = field(default_factory=dict)
    _rows: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for code, genre in enumerate(self.catalog.genres):
            term = normalise_term(genre)
            if term:
                self._genres.setdefault(term, []).append(code)
        for code, tag in enumerate(self.catalog.tags):
            phrase = normalise_term(tag)
            words = phrase.split()
            for term in dict.fromkeys([phrase, *(words if len(words) > 1 else [])]):
                if term and term not in _STOP:
                    self._tags.setdefault(term, []).append(code)

    def __contains__(self, term: str) -> bool:
        return term in self._genres or term in self._tags

    def terms(self, query: str) -> list[QueryTerm]:
        """The catalog terms a query names, longest phrases first, each word used once."""
        return self.read(query)[0]

    def read(self, query: str) -> tuple[list[QueryTerm], float]:
        """The catalog terms a query names, and the share of its content words (words with a
        letter, not stop words) they cover: 1 for "jazz" or "rainy day jazz", ½ for "chill
        vibes" when only "chill" is a catalog term, 0 for "wrkout 2019"."""
        words = [w for w in normalise_term(query).split() if w]
        used = [False] * len(words)
        found: dict[str, QueryTerm] = {}
        for n in range(min(MAX_NGRAM, len(words)), 0, -1):
            for i in range(len(words) - n + 1):
                if any(used[i : i + n]):
                    continue
                phrase = " ".join(words[i : i + n])
                if (n == 1 and phrase in _STOP) or phrase not in self:
                    continue
                genre = self._genres.get(phrase, [])
                found[phrase] = QueryTerm(
                    term=phrase,
                    weight=GENRE_WEIGHT if genre else TAG_WEIGHT,
                    genre_codes=np.asarray(genre, dtype=np.int64),
                    tag_codes=np.asarray(self._tags.get(phrase, []), dtype=np.int64),
                )
                used[i : i + n] = [True] * n
        content = [i for i, w in enumerate(words) if w not in _STOP and any(c.isalpha() for c in w)]
        covered = sum(used[i] for i in content) / len(content) if content else 0.0
        return list(found.values()), covered

    def carries(self, term: QueryTerm, rows: np.ndarray) -> np.ndarray:
        """Per row: the track's genre or one of its tags is ``term``."""
        cat = self.catalog
        genre_hit = np.zeros(len(cat.genres) + 1, dtype=bool)  # last slot: unknown genre
        genre_hit[term.genre_codes] = True
        hit = genre_hit[np.where(cat.genre_code[rows] >= 0, cat.genre_code[rows], -1)]
        if len(term.tag_codes) and len(cat.tag_ptr) == len(cat) + 1:
            tag_hit = np.zeros(len(cat.tags), dtype=bool)
            tag_hit[term.tag_codes] = True
            starts = cat.tag_ptr[rows]
            lengths = cat.tag_ptr[rows + 1] - starts
            owner = np.repeat(np.arange(len(rows)), lengths)
            offsets = np.arange(int(lengths.sum())) - np.repeat(
                np.cumsum(lengths) - lengths, lengths
            )
            codes = cat.tag_code[np.repeat(starts, lengths) + offsets]
            hit[owner[tag_hit[codes]]] = True
        return hit

    def rows_with(self, term: QueryTerm) -> np.ndarray:
        """Every catalog row carrying ``term`` (cached per term)."""
        rows = self._rows.get(term.term)
        if rows is None:
            rows = np.flatnonzero(self.carries(term, np.arange(len(self.catalog))))
            if len(self._rows) >= TERM_CACHE:
                self._rows.clear()
            self._rows[term.term] = rows
        return rows

    def match(self, terms: Sequence[QueryTerm], rows: np.ndarray) -> np.ndarray:
        """Per row, the weighted share of ``terms`` the track carries (0..1)."""
        total = sum(t.weight for t in terms)
        out = np.zeros(len(rows), dtype=np.float64)
        if total <= 0:
            return out
        for t in terms:
            out += t.weight * self.carries(t, rows)
        return out / total


@dataclass(frozen=True, kw_only=True, eq=False)
class QueryAssessment:
    """What the stage decided for one request's candidates.

    Attributes:
        keep: per candidate, whether it may be ranked.
        relevance: per candidate, fit to the query in [0, 1] (0 without a query).
        seed_affinity: per candidate, similarity to the closest seed scaled to [0, 1].
        terms: the catalog terms the query named.
        notes: what the listener should be told (no match, partial match).
    """

    keep: np.ndarray
    relevance: np.ndarray
    seed_affinity: np.ndarray
    terms: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    strength: float = 1.0
    """How much of ``query_weight`` the request earns (0-1, see :meth:`QueryStage.strength`)."""
    focus: np.ndarray | None = None
    """Per candidate, closeness to the query's focus on the history, scaled to [0, 1]."""
    focus_strength: float = 0.0
    """How far the focus moves the listener's taste (0-1, see :meth:`QueryStage.focus`)."""

    def subset(self, keep: np.ndarray) -> QueryAssessment:
        """The assessment of the candidates ``keep`` selects."""
        return QueryAssessment(
            keep=self.keep[keep],
            relevance=self.relevance[keep],
            seed_affinity=self.seed_affinity[keep],
            terms=self.terms,
            notes=self.notes,
            strength=self.strength,
            focus=None if self.focus is None else self.focus[keep],
            focus_strength=self.focus_strength,
        )


def _tier_floor(matches: np.ndarray, k: int) -> float:
    """The lowest match level to keep so the best levels together hold ``k`` candidates."""
    levels, counts = np.unique(np.round(matches, 6), return_counts=True)
    total = 0
    for level, count in zip(levels[::-1].tolist(), counts[::-1].tolist(), strict=True):
        total += count
        if total >= k:
            return float(level)
    return float(levels[0]) if len(levels) else 0.0


def _scaled(values: np.ndarray) -> np.ndarray:
    if len(values) == 0:
        return values
    lo, hi = float(values.min()), float(values.max())
    return (values - lo) / (hi - lo) if hi - lo > 1e-9 else np.zeros_like(values)


@dataclass
class QueryStage:
    """Gates and weights candidates by the request's query and seeds (module docstring)."""

    catalog: CatalogSnapshot
    spaces: SpacesView
    config: QueryStageConfig = field(default_factory=QueryStageConfig)
    vocabulary: QueryVocabulary | None = None

    def __post_init__(self) -> None:
        if self.vocabulary is None:
            self.vocabulary = QueryVocabulary(self.catalog)

    def assess(self, ctx: ListenerContext, rows: np.ndarray) -> QueryAssessment:
        """Keep mask, relevance and seed affinity of the candidate ``rows``."""
        assert self.vocabulary is not None
        n = len(rows)
        keep = np.ones(n, dtype=bool)
        relevance = np.zeros(n, dtype=np.float64)
        seed_affinity = np.zeros(n, dtype=np.float64)
        notes: list[str] = []
        query = ctx.request.query.strip()
        if len(ctx.seed_rows):
            keep &= ~np.isin(rows, ctx.seed_rows)
            fused = self.spaces.vectors.get("fused")
            if fused is not None and n:
                sims = (fused[rows] @ fused[ctx.seed_rows].T).max(axis=1)
                share = self._genre_share(ctx, rows)
                sims = sims + self.config.seed_genre_bonus * share
                seed_affinity = _scaled(sims)
                pool = max(self.config.seed_pool, ctx.request.k)
                on_topic = keep & (share >= self.config.seed_gate_share)
                enough = on_topic.sum() >= self.config.seed_gate_slates * ctx.request.k
                if not query and self.config.seed_gate_share > 0 and enough:
                    keep = on_topic
                if not query and keep.sum() > pool:
                    keep &= sims >= np.sort(sims[keep])[-pool]
        if not query:
            return QueryAssessment(keep=keep, relevance=relevance, seed_affinity=seed_affinity)
        cfg = self.config
        text = self.spaces.vectors.get("text")
        sem = (
            (text[rows] @ ctx.query_vec).astype(np.float64)
            if text is not None and ctx.query_vec is not None and n
            else np.zeros(n)
        )
        terms, coverage = self.vocabulary.read(query)
        strength = self.strength(ctx, terms, coverage)
        if terms:
            lexical = self.vocabulary.match(terms, rows)
            best = float(lexical[keep].max()) if keep.any() else 0.0
            if best <= 0.0:
                keep[:] = False
                names = ", ".join(t.term for t in terms)
                notes.append(f"nothing you may be shown matches '{query}' (catalog terms: {names})")
            elif strength >= cfg.gate_strength:
                passes = lexical >= cfg.gate_fraction * best - 1e-9
                if cfg.tier_slates > 0:
                    wanted = max(round(cfg.tier_slates * ctx.request.k), 1)
                    passes &= lexical >= _tier_floor(lexical[keep & passes], wanted) - 1e-6
                if not cfg.gate_undescribed:
                    passes |= ~self._described(rows)
                keep &= passes
                if best < 1.0 - 1e-9:
                    vocab = self.vocabulary
                    matched = [t.term for t in terms if vocab.carries(t, rows[keep]).any()]
                    notes.append(
                        f"no track matches all of '{query}'; matched: {', '.join(matched)}"
                    )
            relevance = cfg.lexical_share * lexical + (1 - cfg.lexical_share) * _scaled(sem)
        else:
            top = float(sem[keep].max()) if keep.any() else -1.0
            if top < cfg.min_semantic_sim and len(ctx.history_rows) and cfg.history_fallback:
                # Words that name nothing ("Nasty Bits", "②⓪①⑨ mixed") from a listener with
                # history: their listening is the answer, and the note says so.
                notes.append(
                    f"nothing in the catalog matches '{query}'; ranked on your listening instead"
                )
            elif top < cfg.min_semantic_sim:
                keep[:] = False
                notes.append(f"nothing in the catalog matches '{query}'")
            else:
                floor = top - cfg.semantic_margin
                if strength >= cfg.gate_strength:
                    keep &= sem >= floor
                relevance = np.clip((sem - floor) / cfg.semantic_margin, 0.0, 1.0)
        focus, focus_strength = None, 0.0
        centre, moved = self.focus(ctx, terms)
        fused = self.spaces.vectors.get("fused")
        if centre is not None and fused is not None and n and cfg.focus_weight > 0:
            focus, focus_strength = _scaled((fused[rows] @ centre).astype(np.float64)), moved
        return QueryAssessment(
            keep=keep,
            relevance=relevance,
            seed_affinity=seed_affinity,
            terms=tuple(t.term for t in terms),
            notes=tuple(notes),
            strength=strength,
            focus=focus,
            focus_strength=focus_strength,
        )

    def focus(
        self, ctx: ListenerContext, terms: Sequence[QueryTerm] = ()
    ) -> tuple[np.ndarray | None, float]:
        """The query's focus on the listener's history: the fused taste vector of the history
        weighted by each track's closeness to the query (text cosine, plus 1 per share of the
        query's catalog terms the track carries, at ``focus_temperature``), and how much
        farther it moves the listener's taste (``1 - cos``) than shuffled weightings of the
        history do, over ``focus_scale`` (0 to 1).

        ``(None, 0)`` without a query vector, a fused space or at least two history tracks."""
        assert self.vocabulary is not None
        cfg = self.config
        fused, text = self.spaces.vectors.get("fused"), self.spaces.vectors.get("text")
        hist = ctx.history_rows
        taste = ctx.profiles.get("fused")
        if (
            cfg.focus_weight <= 0
            or ctx.query_vec is None
            or fused is None
            or text is None
            or taste is None
            or len(hist) < 2
        ):
            return None, 0.0
        close = (ctx.history_vecs("text", text, len(hist)) @ ctx.query_vec).astype(np.float64)
        if terms:
            close = close + self.vocabulary.match(terms, hist)
        base = np.asarray(ctx.history_weights, dtype=np.float64)
        if len(base) != len(hist) or float(base.sum()) <= 0:
            base = np.ones(len(hist))
        weights = base * np.exp((close - close.max()) / cfg.focus_temperature)
        centre = weights @ ctx.history_vecs("fused", fused, len(hist)).astype(np.float64)
        norm = float(np.linalg.norm(centre))
        if norm <= 1e-12:
            return None, 0.0
        centre = (centre / norm).astype(np.float32)
        # Calibrated against chance: the same weights given to the history in shuffled
        # orders move the taste this far by concentration alone (a sharp softmax over a few
        # noisy tracks always lands away from their mean).
        vecs = ctx.history_vecs("fused", fused, len(hist)).astype(np.float64)
        share = weights / weights.sum()
        rng = np.random.default_rng(len(hist))
        shuffled = np.stack([share[rng.permutation(len(hist))] for _ in range(FOCUS_SHUFFLES)])
        null = shuffled @ vecs
        null /= np.maximum(np.linalg.norm(null, axis=1, keepdims=True), 1e-12)
        chance = float(np.mean(1.0 - null @ taste))
        moved = ((1.0 - float(centre @ taste)) - chance) / cfg.focus_scale
        return centre, float(np.clip(moved, 0.0, 1.0))

    def strength(self, ctx: ListenerContext, terms: Sequence[QueryTerm], coverage: float) -> float:
        """The share of ``query_weight`` a request earns: how specific it is (the share of its
        content words naming catalog terms, to ``specificity_power``) times how much it adds
        to the listener's history (``1 - history_redundancy × h``, ``h`` the weighted share of
        the history carrying its terms). 1 when both settings are 0."""
        assert self.vocabulary is not None
        cfg = self.config
        out = 1.0
        if len(ctx.history_rows) == 0:
            return out  # nothing else to go on: the request is everything
        if any(t.weight >= GENRE_WEIGHT for t in terms):
            return (
                out  # a catalog genre named outright is an explicit request ("jazz for studying")
            )
        if cfg.specificity_power > 0:
            out *= float(coverage) ** cfg.specificity_power
        if cfg.history_redundancy > 0 and terms and len(ctx.history_rows):
            carried = self.vocabulary.match(terms, ctx.history_rows)
            weights = ctx.history_weights
            if len(weights) != len(carried) or float(weights.sum()) <= 0:
                weights = np.ones(len(carried))
            share = float((carried * weights).sum() / weights.sum())
            out *= 1.0 - cfg.history_redundancy * share
        return float(np.clip(out, 0.0, 1.0))

    def _described(self, rows: np.ndarray) -> np.ndarray:
        """Per row: the catalog gives the track a genre or at least one tag."""
        cat = self.catalog
        out = cat.genre_code[rows] >= 0
        if len(cat.tag_ptr) == len(cat) + 1:
            out = out | (cat.tag_ptr[rows + 1] > cat.tag_ptr[rows])
        return np.asarray(out, dtype=bool)

    def _genre_share(self, ctx: ListenerContext, rows: np.ndarray) -> np.ndarray:
        """Per candidate, the share of the seeds whose genre is the candidate's; in a catalog
        that gives the seeds no genre (HetRec's artists have tags only), the largest share of
        the seeds carrying a tag the candidate carries."""
        seeds = self.catalog.genre_code[ctx.seed_rows]
        if len(seeds) == 0:
            return np.zeros(len(rows))
        if (seeds < 0).all():
            return self._tag_share(ctx.seed_rows, rows)
        cands = self.catalog.genre_code[rows]
        same = (cands[:, None] == seeds[None, :]) & (seeds[None, :] >= 0)
        return same.mean(axis=1)

    def _tag_share(self, seed_rows: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Per candidate, the largest share of the seeds carrying one of its tags."""
        cat = self.catalog
        out = np.zeros(len(rows))
        if len(cat.tag_ptr) != len(cat) + 1 or len(cat.tags) == 0:
            return out
        share = np.zeros(len(cat.tags))
        for r in seed_rows:
            share[np.unique(cat.tag_code[cat.tag_ptr[r] : cat.tag_ptr[r + 1]])] += 1.0
        share /= len(seed_rows)
        starts = cat.tag_ptr[rows]
        lengths = cat.tag_ptr[rows + 1] - starts
        if lengths.sum() == 0:
            return out
        owner = np.repeat(np.arange(len(rows)), lengths)
        offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        codes = cat.tag_code[np.repeat(starts, lengths) + offsets]
        np.maximum.at(out, owner, share[codes])
        return out

    def adjust(
        self, ctx: ListenerContext, scores: np.ndarray, assessment: QueryAssessment
    ) -> np.ndarray:
        """Reranker scores plus the weighted query relevance and seed affinity.

        The policy turns scores into ``exp(score - max)``, so a weight is a log-odds bonus:
        a fully matching candidate overtakes a non-matching one whose reranker score is up to
        ``query_weight`` higher.
        """
        params = ctx.request.params
        out = (
            scores
            + params.query_weight * assessment.strength * assessment.relevance
            + params.seed_weight * assessment.seed_affinity
        )
        if assessment.focus is not None and assessment.focus_strength > 0:
            weight = params.query_weight * self.config.focus_weight * assessment.focus_strength
            out = out + weight * assessment.focus
        return np.asarray(out, dtype=np.float64)

    def lexical_pool(self, ctx: ListenerContext, quota: int) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``quota`` rows carrying the query's catalog terms, best match first, ties
        broken by closeness to the listener's taste (or to the query for a new listener),
        then up to ``focus_pool`` rows nearest the query's focus on the history (when the
        focus moves the taste at all)."""
        assert self.vocabulary is not None
        empty = np.empty(0, np.int64), np.empty(0, np.float32)
        if quota <= 0 or not ctx.request.query.strip():
            return empty
        terms = self.vocabulary.terms(ctx.request.query)
        rows, scores = self._term_rows(ctx, terms, quota) if terms else empty
        near, near_scores = self._focus_rows(ctx, terms, exclude=rows)
        if len(near):
            rows = np.concatenate([rows, near])
            scores = np.concatenate([scores, near_scores])
        return rows, scores

    def _term_rows(
        self, ctx: ListenerContext, terms: Sequence[QueryTerm], quota: int
    ) -> tuple[np.ndarray, np.ndarray]:
        assert self.vocabulary is not None
        pool = np.unique(np.concatenate([self.vocabulary.rows_with(t) for t in terms]))
        if len(pool) == 0:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        if len(pool) > 20 * quota:
            # Very common terms: the most played matches, so the gather below stays small.
            pop = self.catalog.popularity[pool]
            pool = np.sort(pool[np.argsort(-pop, kind="stable")[: 20 * quota]])
        score = self.vocabulary.match(terms, pool)
        profile = ctx.profiles.get("fused")
        fused = self.spaces.vectors.get("fused")
        text = self.spaces.vectors.get("text")
        if profile is not None and fused is not None:
            score = score + 0.5 * (fused[pool] @ profile)
        elif ctx.query_vec is not None and text is not None:
            score = score + 0.5 * (text[pool] @ ctx.query_vec)
        top = np.argsort(-score, kind="stable")[:quota]
        return pool[top].astype(np.int64), score[top].astype(np.float32)

    def _focus_rows(
        self, ctx: ListenerContext, terms: Sequence[QueryTerm], exclude: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows nearest the query's focus on the history (fused index), not in ``exclude``."""
        empty = np.empty(0, np.int64), np.empty(0, np.float32)
        index = self.spaces.indexes.get("fused")
        if index is None or self.config.focus_pool <= 0:
            return empty
        centre, moved = self.focus(ctx, terms)
        if centre is None or moved <= 0:
            return empty
        scores, rows = index.search_rows(centre.reshape(1, -1), self.config.focus_pool)
        scores, rows = scores[0], rows[0]
        ok = (rows >= 0) & ~np.isin(rows, exclude)
        return rows[ok].astype(np.int64), scores[ok].astype(np.float32)


__all__ = [
    "QUERY_STOP_WORDS",
    "QueryAssessment",
    "QueryStage",
    "QueryStageConfig",
    "QueryTerm",
    "QueryVocabulary",
    "normalise_term",
]
