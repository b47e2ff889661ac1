"""Parsing a listener's words into constraints and preferences, without an LLM.

Words are mapped onto the catalog's own tag vocabulary: exact matches first, then nearest tags
by text embedding, so "melancholy" finds the catalog's "melancholic" and "for a run" finds
"workout". Follow-ups ("more upbeat", "less rap", "only new artists") edit the previous turn's
constraints.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np

from agent.backend import DiscoveryBackend
from agent.constraints import (
    AI_WORDS,
    HUMAN,
    NOT_NAMES,
    ai_intent,
    artist_mentions,
    bare_tempo_bounds,
    name_like,
    normalise,
    tempo_range,
)
from agent.exclusion_model import CONFIDENT as EXCLUDE_SURE
from agent.exclusion_model import masked_clause
from agent.exclusion_model import model_for as exclusion_model_for
from agent.exclusions import (
    AVERSION_CUES,
    GENERIC,
    NOT_CONTENT,
    RULE_WORDS,
    decade_start,
    read_exclusions,
)
from agent.moods import family_tag
from agent.typos import fix_typos
from recsys.domain import Artist

FAST_WORDS = {
    "upbeat",
    "energetic",
    "fast",
    "run",
    "running",
    "workout",
    "gym",
    "dance",
    "party",
    "pumped",
    "hype",
    "driving",
    "uptempo",
    "double-time",
    "doubletime",
    "sprint",
    "sprinting",
}
SLOW_WORDS = {
    "slow",
    "calm",
    "chill",
    "sleep",
    "sleepy",
    "relax",
    "relaxing",
    "mellow",
    "quiet",
    "ambient",
    "soft",
    "downtempo",
    "study",
    "focus",
}
STOP_WORDS = {
    "a",
    "an",
    "the",
    "some",
    "something",
    "me",
    "for",
    "to",
    "with",
    "and",
    "or",
    "of",
    "i",
    "want",
    "give",
    "play",
    "music",
    "songs",
    "song",
    "tracks",
    "track",
    "please",
    "like",
    "by",
    "in",
    "on",
    "my",
    "that",
    "is",
    "are",
    "it",
    "but",
    "more",
    "less",
    "only",
    "no",
    "not",
    "any",
    "just",
    "bit",
    "little",
    "very",
    "new",
    "artists",
    "artist",
    "human",
    "ai",
    "mix",
    "playlist",
    "stuff",
    "ignore",
    "rules",
    "show",
    "from",
    "be",
    "can",
    "you",
    "all",
    "without",
    "make",
}
AVOID_MATCH = 0.7
TYPO_TARGETS = frozenset(
    FAST_WORDS
    | SLOW_WORDS
    | {"skip", "except", "anything", "everything", "without", "exclude", "excluding", "avoid",
       "nothing", "please", "music", "songs"}
)  # fmt: skip
"""Words of the parser's own that a slip is mended to (besides the catalog's tags)."""
"""How close (cosine) an excluded phrase must be to a catalog tag to exclude that tag."""
FOLLOW_UP = re.compile(r"^\s*(more|less|only|no|without|but|and|also|instead|now|too)\b", re.I)
LIKE = re.compile(
    # "like" as a verb ("I don't really like ambient") is no likeness.
    r"(?<!\bi\s)(?<!n't\s)(?<!\bwe\s)(?<!you\s)(?<!they\s)(?<!\bdo\s)(?<!not\s)(?<!ally\s)"
    r"(?<!would\s)(?<!'d\s)(?<!also\s)(?<!just\s)(?<!\bi\s)"
    r"\b(?:like|similar to|sounds? like|in the style of)\s+(?![\d~])"
    r"(.+?)(?:[,.;!?]|$| but | and | for )",
    re.I,
)
DECADE = re.compile(r"(?:\b|')(?:(19|20)?([0-9])0)'?s\b")
DECADE_WORDS = {
    "twenties": "20s",
    "thirties": "30s",
    "forties": "40s",
    "fifties": "50s",
    "sixties": "60s",
    "seventies": "70s",
    "eighties": "80s",
    "nineties": "90s",
    "noughties": "2000s",
}
_DEGREE = r"(?:too\s+|very\s+|that\s+|so\s+|overly\s+|super\s+|really\s+|particularly\s+)?"
NOT_FAST = re.compile(
    rf"\b(?:not|nothing|never|no)\s+{_DEGREE}"
    r"(?:fast|quick|upbeat|energetic|hectic|hype|pumped|uptempo|intense|frantic|high[\s-]energy)\b",
    re.I,
)
NOT_SLOW = re.compile(
    rf"\b(?:not|nothing|never|no)\s+{_DEGREE}"
    r"(?:slow|sleepy|mellow|calm|chill|relaxing|relaxed|soft|quiet|downtempo|sluggish|"
    r"low[\s-]energy|laid[\s-]back|lazy)\b",
    re.I,
)
"""A tempo word under a negation ("not too chill, I need to wake up": not slow)."""
SINCE = re.compile(r"\b(from|since|after)\s+((?:19|20)\d\d)\b")
BEFORE = re.compile(
    r"\b(?:(before|pre)[- ]?|(until|till|up\s+to|through|thru)\s+)((?:19|20)\d\d)\b"
)
"""A last year: "before 1980" is to 1979, "up to 1975" / "until 1975" to 1975."""
DECADE_BOUND = re.compile(
    r"\b(before|until|pre|after|since)[- ]?(?:the\s+)?((?:19|20)?[0-9]0)'?s\b(?!\s+(?:on|onwards?|"
    r"to|and|through|until|till)\b)"
)
"""A decade as a bound ("after the 90s": from 2000, "since the 90s": from 1990, "before the
80s": to 1979)."""
YEARS = re.compile(r"\b(?:between|from)\s+((?:19|20)\d\d)\s*(?:and|to|-|–)\s*((?:19|20)\d\d)\b")
BPM = re.compile(r"\b(\d{2,3})\s*bpm\b", re.I)
ALIASES: tuple[tuple[str, str], ...] = (
    (r"\b(?:dnb|d&b|d\s*n\s*b)\b", "drum and bass"),
    (r"\bedm\b", "electronic"),
    (r"\blo\s?fi\b", "lo-fi"),
    (r"\bhip\s?hop\b", "hip-hop"),
    (r"\bsynth\s?wave\b", "synthwave"),
)
"""Spellings and abbreviations of styles the embedding does not place near the catalog's
name for them."""
NUMBER_WORDS = {"two": 2, "three": 3, "five": 5, "ten": 10, "few": 3, "couple": 2, "several": 5}
LAST_YEARS = re.compile(
    r"\b(?:last|past|previous)\s+(?:(\d{1,2}|two|three|five|ten|few|couple(?:\s+of)?|several)\s+)?"
    r"(years?|decade)\b"
)
_REFUSER = r"(?:(not|nothing|no|none)\s+(?:(?:songs?|tracks?|music|stuff|anything|one|ones|"
_REFUSER += r"albums?|releases?|records?)\s+)?)?"
OLDER = re.compile(rf"\b{_REFUSER}(?:older|earlier)\s+than\s+((?:19|20)\d\d)\b")
NEWER = re.compile(rf"\b{_REFUSER}(?:newer|later|more\s+recent)\s+than\s+((?:19|20)\d\d)\b")
NEGATED_NEW = re.compile(
    r"(?:\b(?:no|not|nothing|without|skip|avoid|don'?t\s+(?:want|need|care\s+(?:about|for))|"
    r"not\s+interested\s+in|no\s+interest\s+in|none\s+of)|"
    rf"(?<![\w-])(?:{AVERSION_CUES}))\s+(?:\w+\s+){{0,2}}$"
)
"""Words right before an emerging-artist phrase that refuse it ("no new artists")."""


def merge_spans(spans: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Year spans sorted, with overlapping or adjacent ones joined ((1980, 1989), (1990, 1999)
    -> (1980, 1999))."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return tuple(out)


def _stems(words: set[str]) -> set[str]:
    """``words`` with "-ing"/"-s" forms reduced ("studying" -> "study", "runs" -> "run")."""
    out = set(words)
    for w in words:
        if w.endswith("ing") and len(w) > 5:
            out |= {w[:-3], w[:-3] + "e", w[:-4] if w[-4] == w[-5] else w[:-3]}
        if w.endswith("ies") and len(w) > 4:
            out.add(w[:-3] + "y")
        elif w.endswith("s") and len(w) > 3:
            out.add(w[:-1])
    return out


@dataclass(frozen=True, kw_only=True)
class Constraints:
    """What one turn (with its history) asks for."""

    text: str = ""
    prefer: tuple[str, ...] = ()
    genres: tuple[str, ...] = ()
    avoid: tuple[str, ...] = ()
    like: tuple[str, ...] = ()
    tempo_min: float | None = None
    tempo_max: float | None = None
    tempo_soft: bool = False
    """The bounds come from words ("upbeat", "chill"), not figures: a track whose measured
    tempo breaks them is dropped, one without a measured tempo is kept (figures are hard)."""
    year_min: int | None = None
    year_max: int | None = None
    exclude_years: tuple[tuple[int, int], ...] = ()
    """Year spans the listener refused ("no 80s": (1980, 1989)), both ends included; a track
    of unknown year is dropped under them, as under a bound."""
    human_only: bool = False
    no_ai_generated: bool = False
    no_ai_any: bool = False
    no_ai_vocals: bool = False
    new_artists: bool = False
    novelty: float = 0.0
    ai_assumed: bool = False
    """AI was mentioned without a clear stance; AI-generated tracks are left out."""
    blocked_artist_ids: tuple[str, ...] = ()
    """Catalog artists the listener's words exclude ("no Drake"), dropped on every credit."""
    blocked_names: tuple[str, ...] = ()
    """Those artists' names, as the catalog spells them."""
    unknown_artists: tuple[str, ...] = ()
    """Names the listener excluded that are no artist in the catalog (said in the answer)."""

    def describe(self) -> list[str]:
        """Short phrases for the answer's summary."""
        out: list[str] = []
        if self.genres or self.prefer:
            out.append(" ".join(dict.fromkeys(self.prefer + self.genres)))
        if self.like:
            out.append("like " + ", ".join(self.like))
        if self.tempo_min:
            out.append(f"≥ {self.tempo_min:.0f} BPM")
        if self.tempo_max:
            out.append(f"≤ {self.tempo_max:.0f} BPM")
        if self.year_min or self.year_max:
            out.append(f"released {self.year_min or '…'}–{self.year_max or '…'}")
        if self.exclude_years:
            out.append("not released " + ", ".join(f"{a}–{b}" for a, b in self.exclude_years))
        if self.avoid:
            out.append("less " + ", ".join(self.avoid))
        if self.human_only:
            out.append("human artists only")
        if self.no_ai_any:
            out.append("no AI involvement at all")
        elif self.no_ai_vocals:
            out.append("no AI vocals or AI-generated tracks")
        elif self.no_ai_generated and self.ai_assumed and not self.human_only:
            out.append(
                "no AI-generated tracks (your words about AI were unclear, so I left them out;"
                ' say "AI is fine" to include them)'
            )
        elif self.no_ai_generated and not self.human_only:
            out.append("no AI-generated tracks")
        if self.new_artists:
            out.append("new artists")
        if self.blocked_names:
            out.append("nothing crediting " + ", ".join(self.blocked_names))
        if self.unknown_artists:
            names = ", ".join(f"'{n}'" for n in self.unknown_artists)
            out.append(f"{names}: no artist of that name in the catalog, so nothing blocked for it")
        return out


@dataclass
class VocabularyMatcher:
    """Maps free words onto the catalog's tags and genres."""

    backend: DiscoveryBackend
    threshold: float = 0.62
    _vocab: list[str] = field(default_factory=list)
    _lower: dict[str, str] = field(default_factory=dict)
    _vectors: np.ndarray | None = None
    _genres: frozenset[str] = frozenset()

    def is_genre(self, tag: str) -> bool:
        """Whether a matched tag is one of the catalog's genres."""
        self._load()
        return tag.casefold() in self._genres

    def _load(self) -> None:
        if self._vectors is None:
            self._genres = frozenset(g.casefold() for g in self.backend.genre_vocabulary())
            self._vocab = sorted({v for v in self.backend.tag_vocabulary() if v})
            self._lower = {v.casefold(): v for v in self._vocab}
            self._vectors = (
                self.backend.embed_terms(self._vocab) if self._vocab else np.zeros((0, 1))
            )

    def exact(self, phrase: str) -> str | None:
        """The catalog tag or genre spelled ``phrase`` (any case), or None."""
        self._load()
        return self._lower.get(phrase.casefold()) or (
            phrase.casefold() if phrase.casefold() in self._genres else None
        )

    def is_tag(self, phrase: str) -> bool:
        """Whether ``phrase`` is exactly one of the catalog's tags or genres (any case)."""
        self._load()
        return phrase.casefold() in self._lower or phrase.casefold() in self._genres

    def match(self, phrases: Sequence[str], threshold: float | None = None) -> list[str]:
        """Catalog tags for each phrase: exact (case-insensitive) or nearest by embedding."""
        self._load()
        assert self._vectors is not None
        found: list[str] = []
        unmatched: list[str] = []
        for p in phrases:
            # The catalog's own word, else the word of its mood family the catalog has
            # ("happy" -> "upbeat"), else the nearest by the text model.
            hit = self._lower.get(p.casefold()) or family_tag(p, self.exact)
            (found.append(hit) if hit else unmatched.append(p))
        if unmatched and len(self._vocab):
            sims = self.backend.embed_terms(unmatched) @ self._vectors.T
            for row in sims:
                best = int(np.argmax(row))
                if row[best] >= (self.threshold if threshold is None else threshold):
                    found.append(self._vocab[best])
        return list(dict.fromkeys(found))


@dataclass(frozen=True)
class BlockedArtists:
    """The artists a request excludes by name, resolved against the catalog."""

    ids: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    """The words of the request that named them (kept out of tag matching)."""


DESCRIBED = frozenset(
    {"songs", "song", "music", "tracks", "track", "stuff", "vibes", "covers", "remixes", "hits",
     "ballads", "carols", "tunes", "lyrics", "versions", "style", "type", "kind", "sounds"}
)  # fmt: skip
"""Nouns after a capitalised word that make it a description ("no Christmas songs")."""
_JOINERS = frozenset(
    {"and", "or", "&", "nor", "ni", "y", "et", "und", "oder", "o", "ou", "also", "plus"}
)
NAME_MATCH = 0.9
"""A capitalised or "by ..." name matches a catalog artist whose name key is this close
(:func:`recsys.integrity.names.name_similarity`; typos, accents, look-alike letters); a
lowercase name after a bare "no" must match exactly, so "no rap" never blocks an artist."""


def _folded(name: str) -> str:
    """``name`` with look-alike letters mapped to their prototypes and accents dropped, spaces
    kept (what a catalog lookup by name can match)."""
    import unicodedata

    from recsys.integrity.names import confusables_table

    table = confusables_table()
    text = "".join(c if c.isascii() else table.get(c, c) for c in name)
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


def resolve_artist(backend: DiscoveryBackend, name: str, *, exact: bool) -> list[Artist]:
    """Catalog artists called ``name`` (robust to case, accents, look-alike letters and, unless
    ``exact``, small typos), best first."""
    from recsys.integrity.names import name_similarity

    found: dict[str, Artist] = {}
    queries = [name, _folded(name)]
    if not name.casefold().startswith("the "):
        queries.append(f"The {name}")  # "no Velvet Foxes" for The Velvet Foxes
    for query in dict.fromkeys(queries):
        for a in backend.find_artists(query, limit=5):
            found.setdefault(a.artist_id, a)
    floor = 1.0 if exact else NAME_MATCH
    scored = [(name_similarity(name, a.name), a) for a in found.values()]
    return [a for sim, a in sorted(scored, key=lambda x: -x[0]) if sim >= floor]


def _unresolved_length(words: Sequence[str], certain: bool) -> int:
    """How many of ``words`` name an artist the catalog does not have: after "by", up to a
    joining word; otherwise the longest run that reads as a proper name (0: none)."""
    if certain:
        return next((i for i, w in enumerate(words) if w.casefold() in _JOINERS), len(words))
    return max((i for i in range(1, len(words) + 1) if name_like(words[:i])), default=0)


def blocked_artists(text: str, matcher: VocabularyMatcher) -> BlockedArtists:
    """The artists ``text`` excludes by name ("no Drake", "nothing by X", "anything but X",
    "sans X"): each name after an exclusion cue is looked up in the catalog (longest run of
    words first); a name-like phrase (capitalised, or after "by") that is no artist is
    reported as unknown; lowercase words that are no artist ("no rap", "no vocals") are left
    to the tag rules."""
    ids: dict[str, str] = {}
    unknown: list[str] = []
    phrases: list[str] = []
    for mention in artist_mentions(text):
        words = list(mention.words)
        while words:
            hit: tuple[int, list[Artist]] | None = None
            for n in range(min(len(words), 5), 0, -1):
                phrase = " ".join(words[:n])
                if words[n - 1].casefold() in _JOINERS:
                    continue
                certain = mention.certain or name_like(words[:n])
                if matcher.is_tag(phrase) and not certain:
                    continue
                found = resolve_artist(matcher.backend, phrase, exact=not certain)
                if found:
                    hit = (n, found)
                    break
            if hit is None:
                n = _unresolved_length(words, mention.certain)
                if n < len(words) and words[n].casefold() in DESCRIBED:
                    n = 0  # "no Christmas songs": a kind of song, not an artist
                phrase = " ".join(words[:n])
                if AI_WORDS.search(phrase) or re.fullmatch(r"\w+-[a-z]+", phrase):
                    n = 0  # "music generators", "K-pop": a rule or a style, not an artist
                phrase = " ".join(words[:n])
                if n and not matcher.is_tag(phrase) and phrase.casefold() not in NOT_NAMES:
                    unknown.append(phrase)
                    phrases.append(phrase)
                words = words[n:] if n else []
                # A list goes on after a name that is not in the catalog ("Adele or Sam Smith").
                if not (words and words[0].casefold() in _JOINERS):
                    break
                while words and words[0].casefold() in _JOINERS:
                    words = words[1:]
                continue
            n, found = hit
            for a in found[:1] if len(found) == 1 else found:
                ids.setdefault(a.artist_id, a.name)
            phrases.append(" ".join(words[:n]))
            words = words[n:]
            while words and words[0].casefold() in _JOINERS:
                words = words[1:]
    return BlockedArtists(
        ids=tuple(ids),
        names=tuple(dict.fromkeys(ids.values())),
        unknown=tuple(dict.fromkeys(unknown)),
        phrases=tuple(phrases),
    )


NAME_RUN = re.compile(r"[A-Z0-9][\w'’.&-]*(?:\s+(?:[A-Z0-9][\w'’.&-]*|of|the|and|&))+")
"""A run of two or more capitalised words: maybe an artist's name."""


def named_artists(text: str, matcher: VocabularyMatcher) -> tuple[str, ...]:
    """Catalog artists named anywhere by their exact name ("I love Rap Artist 0"), so the
    words of a name are not read as genres or moods (excluded artists are read apart)."""
    found: list[str] = []
    for m in NAME_RUN.finditer(text):
        words = m.group(0).split()
        for n in range(len(words), 1, -1):  # the longest name the run starts with
            phrase = " ".join(words[:n])
            if name_like(words[:n]) and resolve_artist(matcher.backend, phrase, exact=True):
                found.append(phrase)
                break
    return tuple(found)


def _turned_away(blank: str, tags: Sequence[str], matcher: VocabularyMatcher) -> list[str]:
    """Tags named in a clause the learned exclusion reading is sure turns them away, where no
    exclusion cue of the lexicon stood (``blank``: the request with its exclusions blanked);
    none without the text model the reading was fitted with."""
    if not tags:
        return []
    model = exclusion_model_for(matcher.backend.embed_terms)
    if model is None:
        return []
    found: list[tuple[str, str]] = []
    for tag in tags:
        for form in dict.fromkeys((tag.casefold(), tag.casefold().replace("-", " "))):
            m = re.search(rf"(?<![\w-]){re.escape(form)}(?![\w-])", blank)
            if m and (clause := masked_clause(blank, m.start(), m.end())):
                found.append((tag, clause))
                break
    if not found:
        return []
    p = model.probability(matcher.backend.embed_terms([c for _, c in found]))
    return [tag for (tag, _), prob in zip(found, p, strict=True) if prob >= EXCLUDE_SURE]


def _is_rule(item: str) -> bool:
    """An excluded item about AI or authorship ("fake singers"): a rule of its own, never a
    tag."""
    return (
        bool(AI_WORDS.search(item) or HUMAN.search(item) or re.search(r"\bfake\b", item))
        or item.split()[0] in RULE_WORDS
    )


def _phrases(words: list[str]) -> list[str]:
    grams = [" ".join(words[i : i + n]) for n in (2, 1) for i in range(len(words) - n + 1)]
    return [g for g in grams if g not in STOP_WORDS]


def parse_request(
    message: str, matcher: VocabularyMatcher, previous: Constraints | None = None
) -> Constraints:
    """Turn a message (and the previous turn, for follow-ups) into constraints."""
    text = message.strip()
    low = normalise(text).casefold()
    for pattern, name in ALIASES:
        low = re.sub(pattern, name, low)
    for word, decade in DECADE_WORDS.items():
        low = re.sub(rf"\b{word}\b", decade, low)
    follow = previous is not None and bool(FOLLOW_UP.match(low))
    base = previous if (follow and previous is not None) else Constraints()
    like = tuple(m.strip() for m in LIKE.findall(text) if m.strip())
    blocked = blocked_artists(text, matcher)
    for phrase in blocked.phrases + named_artists(text, matcher):
        # A comma, so "no" before the name does not take the next words as a tag to avoid.
        low = re.sub(rf"(?<!\w){re.escape(phrase.casefold())}(?!\w)", " , ", low)
    # An artist's name is not a word about AI ("no Nova AI" blocks the artist, not AI).
    unnamed = normalise(text)
    for phrase in blocked.phrases:
        unnamed = re.sub(rf"(?<!\w){re.escape(phrase)}(?!\w)", " , ", unnamed)
    intent = ai_intent(unnamed, matcher.backend.embed_terms)
    low = fix_typos(low, matcher.exact, TYPO_TARGETS, keep=STOP_WORDS | NOT_CONTENT | GENERIC)
    # "songs like Minus the Bear": a likeness, not an exclusion.
    unliked = LIKE.sub(lambda m: " " * len(m.group(0)), low)
    excluded = read_exclusions(unliked, matcher.exact, _is_rule)
    blank = excluded.blanked(low)
    # AI and authorship words are rules (below), never tags to avoid or prefer.
    low_rules = HUMAN.sub(" ", AI_WORDS.sub(" ", re.sub(r"\ba\.i\.?", " ", blank)))
    rest = LIKE.sub(" ", low_rules)
    words = [w for w in re.findall(r"[a-z0-9&\-']+", rest) if w not in STOP_WORDS]
    tags = matcher.match(_phrases(words))
    # Each exclusion as the catalog's tag when one is close (stricter than for preferences:
    # an exclusion drops tracks), else as said.
    # A sub-style of what is asked for stays as said ("metal, no nu metal" keeps metal).
    avoid_found = [
        phrase if tag in tags and phrase != tag and not matcher.is_tag(phrase) else tag
        for phrase, exact in excluded.items
        for tag in [exact or (matcher.match([phrase], threshold=AVOID_MATCH) or [phrase])[0]]
    ]
    avoid_tags = list(dict.fromkeys(avoid_found))
    tags = [t for t in tags if t not in avoid_tags]
    turned = _turned_away(blank, tags, matcher)
    avoid_tags += [t for t in turned if t not in avoid_tags]
    tags = [t for t in tags if t not in turned]
    human_only = base.human_only or intent.human_only
    no_ai = base.no_ai_generated or intent.no_ai_generated
    no_ai_any = (base.no_ai_any or intent.no_ai_any) and not intent.allows_assisted
    new_artists = base.new_artists or any(
        not NEGATED_NEW.search(low[: m.start()])
        for m in re.finditer(
            r"\bnew (?:\w+ )?(?:artists?|talent|names|musicians|bands|acts)\b|\bsomething new\b|"
            r"\bupcoming (?:\w+ )?(?:artists?|acts|bands|talent|names|musicians|producers)\b|"
            r"\b(?:under|fewer\s+than|less\s+than|below|<)\s*[\d,.]+\s*k?\s+(?:monthly\s+)?"
            r"(?:listeners|streams|plays|followers|fans|subscribers)\b|"
            r"\bemerging\b|"
            r"\bundiscovered\b|\bup[- ]and[- ]coming\b|\b(?:lesser|little)[- ]known\b|"
            r"\bunknown artists?\b|\brelatively unknown\b|"
            r"\bsmall(?:er)? artists?\b|\bhaven'?t heard\b|\bnever heard\b|\bunsigned\b|"
            r"\bunder[- ]the[- ]radar\b|\bobscure\b|\bnewcomers?\b|\bunderground\b|"
            r"\b(?:nobody|no one|no-one|few people)(?:'s| has| have)? (?:ever )?heard\b|"
            r"\bfew (?:listeners|fans|plays|streams|followers)\b|\bfresh (?:faces|talent)\b|"
            r"\b(?:not|nothing|no) (?:so |very |too |that )?(?:mainstream|famous|well[- ]known)\b",
            low,
        )
    )
    tempo_min, tempo_max = base.tempo_min, base.tempo_max
    # Words inside an exclusion say nothing about tempo ("skip the ambient stuff").
    word_set = _stems(set(words) | set(re.findall(r"[a-z]+", blank)))
    calm = r"\b(?:dinner|tea|garden|cocktail|wine)[\s-]+part(?:y|ies)\b"
    if re.search(calm, blank) and not re.search(r"\bpart(?:y|ies)\b", re.sub(calm, " ", blank)):
        word_set -= {"party", "parties"}  # a dinner party is no call for a fast tempo
    fast, slow = (
        bool(word_set & FAST_WORDS),
        bool(word_set & SLOW_WORDS) and not word_set & FAST_WORDS,
    )
    if NOT_FAST.search(low) or excluded.refuses_fast:
        fast, slow = False, True
    elif NOT_SLOW.search(low) or excluded.refuses_slow:
        fast, slow = True, False
    if fast and follow and base.tempo_max is not None:
        # "more upbeat" after something slow: lift the ceiling rather than jump to running pace.
        tempo_min, tempo_max = base.tempo_max - 15.0, None
    elif fast:
        tempo_min = max(tempo_min or 0, 115.0) + (10.0 if follow and base.tempo_min else 0.0)
        tempo_max = None if tempo_max and tempo_max < tempo_min else tempo_max
    if slow and follow and base.tempo_min is not None:
        tempo_min, tempo_max = None, base.tempo_min + 15.0
    elif slow:
        tempo_max = min(tempo_max or 999, 105.0) - (10.0 if follow and base.tempo_max else 0.0)
        tempo_min = None if tempo_min and tempo_min > tempo_max else tempo_min
    tempo_soft = base.tempo_soft or fast or slow
    about_tempo = fast or slow or bool(re.search(r"\b(?:tempo|pace|speed|bpm)\b", low))
    if bounds := tempo_range(text) or (about_tempo and bare_tempo_bounds(text)) or None:
        # A figure sets its side; a word keeps the other ("upbeat, nothing over 140 bpm").
        lo, hi = bounds
        keep_min = lo is None and hi is not None and tempo_min is not None and tempo_min < hi
        keep_max = hi is None and lo is not None and tempo_max is not None and tempo_max > lo
        tempo_min = tempo_min if keep_min else lo
        tempo_max = tempo_max if keep_max else hi
        tempo_soft = False
    elif m := BPM.search(low):
        tempo_min, tempo_max = float(m.group(1)) - 10, float(m.group(1)) + 10
        tempo_soft = False
    # A figure outside what a tempo can be is held to the nearest one the filter takes.
    tempo_min = None if tempo_min is None else min(max(tempo_min, 20.0), 300.0)
    tempo_max = None if tempo_max is None else min(max(tempo_max, 20.0), 300.0)
    year_min, year_max = base.year_min, base.year_max
    era_text = excluded.blanked(low, excluded.era_spans)
    decades = [
        int(f"{m.group(1) or ('20' if m.group(2) in '012' else '19')}{m.group(2)}0")
        for m in DECADE.finditer(era_text)
    ]
    if decades:
        # "the 70s and 80s" spans both.
        year_min, year_max = min(decades), max(decades) + 9
    if m := SINCE.search(era_text):  # "released after 2020" is from 2021
        year_min = int(m.group(2)) + (m.group(1) == "after")
    for m in DECADE_BOUND.finditer(era_text):
        start = decade_start(m.group(2))
        if m.group(1) in ("before", "until", "pre"):
            year_min, year_max = (year_min if year_min != start else None), start - 1
        else:  # "after the 90s" from 2000; "since the 90s" from 1990
            year_min = start + 10 if m.group(1) == "after" else start
            if year_max is not None and (year_max == start + 9 or year_max < year_min):
                year_max = None
    if m := BEFORE.search(era_text):
        year_max = int(m.group(3)) - (m.group(1) is not None)
    if m := YEARS.search(era_text):
        year_min, year_max = sorted((int(m.group(1)), int(m.group(2))))
    for m in OLDER.finditer(low):  # "nothing older than 2010" is a floor, "older than" a cap
        year_min, year_max = (
            (int(m.group(2)), year_max) if m.group(1) else (year_min, int(m.group(2)) - 1)
        )
    for m in NEWER.finditer(low):
        year_min, year_max = (
            (year_min, int(m.group(2))) if m.group(1) else (int(m.group(2)) + 1, year_max)
        )
    if m := LAST_YEARS.search(era_text):
        n = m.group(1) or ("10" if m.group(2) == "decade" else "1")
        count = int(n) if n.isdigit() else NUMBER_WORDS.get(n.split()[0], 3)
        count *= 10 if m.group(2) == "decade" else 1
        year_min = date.today().year - count
    if excluded.year_min is not None:  # "nothing from before 2000"
        year_min = max(year_min or 0, excluded.year_min)
    if excluded.year_max is not None:  # "skip anything released after 2010"
        year_max = min(year_max or 9999, excluded.year_max)
    exclude_years = merge_spans(base.exclude_years + tuple(excluded.excluded_years))
    genres = tuple(t for t in tags if matcher.is_genre(t))
    prefer = tuple(t for t in tags if t not in genres)
    avoid = tuple(dict.fromkeys(base.avoid + tuple(avoid_tags)))
    if follow:
        contradicted = SLOW_WORDS if fast else FAST_WORDS if slow else set()
        prefer = tuple(p for p in dict.fromkeys(base.prefer + prefer) if p not in contradicted)
        genres = tuple(g for g in dict.fromkeys(base.genres + genres) if g not in avoid)
        prefer = tuple(p for p in prefer if p not in avoid)
    return replace(
        base,
        text=text if not follow else f"{base.text} ({text})",
        prefer=prefer,
        genres=genres,
        avoid=avoid,
        like=like or (base.like if follow else ()),
        tempo_min=tempo_min,
        tempo_max=tempo_max,
        tempo_soft=tempo_soft and (tempo_min is not None or tempo_max is not None),
        year_min=year_min,
        year_max=year_max,
        exclude_years=exclude_years,
        human_only=human_only,
        no_ai_generated=no_ai or human_only,
        no_ai_any=no_ai_any,
        no_ai_vocals=base.no_ai_vocals or intent.no_ai_vocals,
        ai_assumed=(base.ai_assumed or intent.assumed) and not intent.allows_assisted,
        new_artists=new_artists,
        novelty=0.7 if new_artists else base.novelty,
        blocked_artist_ids=tuple(dict.fromkeys(base.blocked_artist_ids + blocked.ids)),
        blocked_names=tuple(dict.fromkeys(base.blocked_names + blocked.names)),
        unknown_artists=tuple(dict.fromkeys(base.unknown_artists + blocked.unknown)),
    )


__all__ = [
    "BlockedArtists",
    "Constraints",
    "VocabularyMatcher",
    "blocked_artists",
    "merge_spans",
    "named_artists",
    "parse_request",
    "resolve_artist",
]
