"""Artist-name keys that see through disguises, and an index to compare names against many.

Impersonators dodge exact matching in four ways, and :func:`name_keys` folds each away:

- **Look-alike characters** (``Міdnіght`` with Cyrillic ``і``, Greek ``ο``, all-Cyrillic
  spellings, mathematical or full-width letters): Unicode NFKC, case folding, then every
  non-ASCII character mapped to its prototype through the Unicode confusables table (UTS #39
  skeletons). The table is the one the ``confusable-homoglyphs`` package ships
  (``confusables.json``, built from Unicode's ``confusables.txt``); it is read from the installed
  package, never downloaded. Accents and small capitals are folded after it.
- **Invisible and separator characters** (zero-width space and joiner, bidi marks, soft hyphen,
  dots and dashes between letters): format characters are dropped, punctuation and separators
  only split words.
- **Leet-speak** (``B3y0nc3``): one letter per digit or symbol.
- **Decorations** (``NameVEVO``, ``Name - Topic``, ``Official``, ``Music``, ``TV``,
  ``Records``, ``Band``, ``The``, ``DJ``/``MC`` prefixes, ``feat.`` tails): removed as words;
  the channel suffixes are also removed when glued to the name; a ``x`` / ``&`` / ``vs`` /
  ``with`` / ``and`` collaboration gives a second key, the head alone.

:func:`name_similarity` compares the keys with a ratio in [0, 1] (difflib's Ratcliff/Obershelp),
and :class:`NameIndex` finds, for one name, the indexed names at or above a threshold: exact keys
through a dict, the rest through length buckets pruned by :func:`ratio_upper_bound` and difflib's
cheap upper bounds before the full ratio.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

import numpy as np

# Digits and symbols that stand in for letters. One letter per symbol: "1" could be "i" or "l",
# and "i" is the more common intent in stage names.
LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "9": "g",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "i",
        "+": "t",
        "€": "e",
    }
)
# Words that decorate a name without changing whose it is: channel and label suffixes, status
# claims, articles. Removed wherever they stand as words.
DECORATION_WORDS = frozenset(
    {
        "the",
        "official",
        "officiel",
        "oficial",
        "offizielle",
        "offiziell",
        "ufficiale",
        "vevo",
        "topic",
        "music",
        "musik",
        "musica",
        "musique",
        "tv",
        "channel",
        "records",
        "recordings",
        "band",
        "real",
        "realofficial",
        "hq",
        "hd",
        "4k",
        "page",
        "audio",
        "video",
        "videos",
        "lyrics",
        "lyric",
        "fans",
        "fan",
        "fanpage",
        "archive",
        "archives",
        "verified",
        "exclusive",
    }
)
# Prefixes of performers' names that impersonators add or drop.
PREFIX_WORDS = frozenset({"dj", "mc"})
# Channel suffixes also stripped when glued to the name (``NameVEVO``, ``NameOfficial``).
GLUED_SUFFIXES = ("vevo", "official", "topic", "music", "tv", "records")
# Words that start a credit tail: what follows is another artist.
FEATURE_WORDS = frozenset({"feat", "ft", "featuring", "ftg"})
# Words that join a collaboration: the head alone is a second key.
JOIN_WORDS = frozenset({"x", "and", "vs", "versus", "with", "meets"})
_JOIN_SYMBOLS = re.compile(r"\s*[&×+,]\s*|\s+/\s+")
_RUNS = re.compile(r"(.)\1+")
_SMALL_CAPITAL = re.compile(r"^LATIN LETTER SMALL CAPITAL ([A-Z])$")
_LATIN_LETTER = re.compile(r"^LATIN (?:SMALL|CAPITAL) LETTER ([A-Z])(?: WITH .*)?$")


@functools.cache
def confusables_table() -> dict[str, str]:
    """Non-ASCII character → its UTS #39 prototype (a string), from the installed
    ``confusable-homoglyphs`` data.

    The package stores ``confusables.txt`` as an undirected graph: a prototype lists every
    character that maps to it, and each such character lists its prototype alone. A character
    is mapped when it lists exactly one entry and that entry is a prototype (lists several, or
    is a sequence); for the pairs that only list each other, both map to the same one of the
    two (ASCII first, then the lower code point), which is all a comparison needs.
    """
    path = resources.files("confusable_homoglyphs").joinpath("confusables.json")
    raw: dict[str, list[dict[str, str]]] = json.loads(path.read_text(encoding="utf-8"))

    def clean(s: str) -> str:
        return s.replace("\u200e", "").replace("\u200f", "")

    graph = {clean(k): [clean(h["c"]) for h in v] for k, v in raw.items()}
    table: dict[str, str] = {}
    for char, targets in graph.items():
        if len(char) != 1 or char.isascii() or len(targets) != 1:
            continue
        target = targets[0]
        back = graph.get(target, [])
        if len(back) == 1 and back[0] == char and len(target) == 1:
            table[char] = min(char, target, key=lambda c: (not c.isascii(), ord(c)))
        else:
            table[char] = target
    return {k: v for k, v in table.items() if k != v}


def _prototype(char: str) -> str:
    """One character through the confusables table, accents dropped, Latin letters by name
    (small capitals, letters with hooks or strokes) to ASCII, case folded."""
    out = []
    for c in unicodedata.normalize("NFD", confusables_table().get(char, char)):
        if unicodedata.combining(c):
            continue
        if not c.isascii():
            name = unicodedata.name(c, "")
            match = _SMALL_CAPITAL.match(name) or _LATIN_LETTER.match(name)
            if match:
                c = match.group(1)
            elif c == "ĸ":  # LATIN SMALL LETTER KRA: the prototype of Cyrillic к, Greek κ
                c = "k"
        out.append(c)
    return "".join(out).casefold()


@functools.cache
def _fold_char(char: str) -> str:
    """One character as a case-insensitive skeleton. Names are compared without case, so a
    letter counts as a look-alike when either of its cases is one (Cyrillic ``м`` has no Latin
    prototype of its own, its capital ``М`` is ``M``)."""
    if char.isascii():
        return char.casefold()
    if unicodedata.combining(char):  # accents, even where NFKC left them alone
        return ""
    options = [char, *(c for c in (char.upper(), char.lower()) if len(c) == 1 and c != char)]
    folded = [_prototype(c) for c in options]
    for candidate in folded:
        if candidate.isascii() and candidate.isalnum():
            return candidate
    return folded[0]


@functools.cache
def _before_nfkc(char: str) -> str:
    """A look-alike that NFKC would take apart (Greek ypogegrammeni becomes a space and a
    combining mark) goes to its prototype first."""
    if char.isascii() or unicodedata.normalize("NFKC", char) == char:
        return char
    return confusables_table().get(char, char)


def _visible(name: str) -> str:
    """NFKC, format characters dropped, look-alikes mapped to prototypes, case folded."""
    text = unicodedata.normalize("NFKC", "".join(map(_before_nfkc, name)))
    return "".join(_fold_char(c) for c in text if unicodedata.category(c) != "Cf")


def _canon(word: str) -> str:
    """A word in key letters: the two ASCII look-alikes of Unicode's table folded (``rn`` read
    as ``m``; ``l`` as ``i``, since ``I``, ``l``, ``1`` and ``|`` look alike and the table maps
    capital I and Greek Iota to ``l``), runs of a letter collapsed (``Sociiety``, ``Thee``)."""
    return _RUNS.sub(r"\1", word.replace("rn", "m").replace("l", "i"))


_DECORATIONS = frozenset(map(_canon, DECORATION_WORDS))
_PREFIXES = frozenset(map(_canon, PREFIX_WORDS))
_FEATURES = frozenset(map(_canon, FEATURE_WORDS))
_JOINS = frozenset(map(_canon, JOIN_WORDS))
_GLUED = tuple(map(_canon, GLUED_SUFFIXES))


def _words(text: str) -> list[str]:
    """Key words of a folded name: leet letters mapped, anything not a letter or digit
    splits, each word in key letters."""
    return [_canon(w) for w in re.findall(r"[^\W_]+", text.translate(LEET))]


def _strip(words: list[str]) -> list[str]:
    """Drop decoration words, DJ/MC prefixes and a feature tail."""
    for i, w in enumerate(words):
        if w in _FEATURES and i > 0:
            words = words[:i]
            break
    kept = [w for w in words if w not in _DECORATIONS]
    while len(kept) > 1 and kept[0] in _PREFIXES:
        kept = kept[1:]
    return kept


def _join(words: list[str]) -> str:
    """One key from words: glued channel suffixes dropped, runs collapsed across words."""
    key = "".join(words)
    for suffix in _GLUED:
        if key.endswith(suffix) and len(key) - len(suffix) >= 3:
            key = key[: -len(suffix)]
    return _RUNS.sub(r"\1", key)


@functools.lru_cache(maxsize=65536)
def name_keys(name: str) -> tuple[str, ...]:
    """The comparable keys of a display name: the whole name first, then the head of a
    collaboration (``A x B`` → ``a``), without repeats or empty keys.

    Example:
        >>> name_keys("Міdnіght Rіvеrs VEVO")  # Cyrillic і and е
        ('midnightrivers',)
        >>> name_keys("DJ Nova x Kid Blue (Official)")
        ('novaxkidblue', 'nova')
    """
    visible = _visible(name)
    whole = _strip(_words(visible)) or _words(visible)
    keys = [_join(whole)]
    parts = _JOIN_SYMBOLS.split(visible, maxsplit=1)
    if len(parts) == 2:
        keys.append(_join(_strip(_words(parts[0]))))
    words = _words(visible)
    for i, w in enumerate(words):
        if w in _JOINS and 0 < i < len(words) - 1:
            keys.append(_join(_strip(words[:i])))
            break
    return tuple(k for k in dict.fromkeys(keys) if k)


def normalise_name(name: str) -> str:
    """The primary key of a display name (see :func:`name_keys`).

    Example:
        >>> normalise_name("Thee B3ATL3S (Official)")
        'beaties'
    """
    keys = name_keys(name)
    return keys[0] if keys else ""


def _ratio(a: str, b: str) -> float:
    if a == b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def name_similarity(a: str, b: str) -> float:
    """Similarity in [0, 1] of two names: the best ratio between a key of ``a`` and the
    primary key of ``b`` (1 means a key is the same)."""
    target = normalise_name(b)
    if not target:
        return 0.0
    return max((_ratio(k, target) for k in name_keys(a)), default=0.0)


def ratio_upper_bound(len_a: int, len_b: int) -> float:
    """The largest ratio two strings of these lengths can reach; used to skip hopeless pairs."""
    total = len_a + len_b
    return 2 * min(len_a, len_b) / total if total else 0.0


@dataclass(frozen=True, kw_only=True)
class NameMatch:
    """An indexed name one query name resembles."""

    id: str
    similarity: float
    key: str
    """The indexed key that matched."""


class NameIndex:
    """Names to compare against, indexed by key: exact keys in a dict, every key in a bucket of
    its length, so a query only scores keys whose length allows the threshold.

    Args:
        names: (id, display name) pairs; the primary key of each is indexed.
        threshold: the lowest similarity :meth:`matches` returns.
        min_length: keys shorter than this are neither indexed nor queried (too many innocent
            collisions among very short names).
        fuzzy_min_length: below this length only exact keys match. One changed letter in a
            five-letter name is another name (``Lenka``/``Lena``, ``Curve``/``Cure``), and
            the disguises of short names (look-alikes, leet, doubled letters, decorations)
            already fold to the exact key.

    Example:
        >>> index = NameIndex([("a1", "Midnight Rivers")], threshold=0.88)
        >>> [m.id for m in index.matches("Мidnight Rivers - Topic")]
        ['a1']
    """

    def __init__(
        self,
        names: Iterable[tuple[str, str]],
        *,
        threshold: float = 0.88,
        min_length: int = 4,
        fuzzy_min_length: int = 6,
    ) -> None:
        self.threshold = threshold
        self.min_length = min_length
        self.fuzzy_min_length = fuzzy_min_length
        self._exact: dict[str, list[str]] = defaultdict(list)
        fuzzy: list[tuple[str, str]] = []
        for item_id, name in names:
            key = normalise_name(name)
            if len(key) < min_length:
                continue
            self._exact[key].append(item_id)
            if len(key) >= fuzzy_min_length:
                fuzzy.append((key, item_id))
        self._keys = [k for k, _ in fuzzy]
        self._ids = [i for _, i in fuzzy]
        self._lengths = np.fromiter((len(k) for k in self._keys), np.int32, len(self._keys))
        self._counts = np.zeros((len(self._keys), len(_ALPHABET) + 1), np.int16)
        for row, key in enumerate(self._keys):
            self._counts[row] = _letter_counts(key)

    def __len__(self) -> int:
        return sum(len(v) for v in self._exact.values())

    def matches(self, name: str) -> list[NameMatch]:
        """Indexed names whose key resembles a key of ``name`` at or above the threshold,
        best first (ties by id); one entry per indexed id. The head of a collaboration only
        matches exactly."""
        best: dict[str, NameMatch] = {}
        for rank, key in enumerate(name_keys(name)):
            if len(key) < self.min_length:
                continue
            for item_id in self._exact.get(key, ()):
                best[item_id] = NameMatch(id=item_id, similarity=1.0, key=key)
            if rank > 0 or len(key) < self.fuzzy_min_length:
                continue
            matcher = difflib.SequenceMatcher(None, autojunk=False)
            matcher.set_seq2(key)
            for row in self._candidates(key):
                other, item_id = self._keys[row], self._ids[row]
                if other == key or best.get(item_id, _NO_MATCH).similarity == 1.0:
                    continue
                matcher.set_seq1(other)
                sim = matcher.ratio()
                if sim >= self.threshold and sim > best.get(item_id, _NO_MATCH).similarity:
                    best[item_id] = NameMatch(id=item_id, similarity=sim, key=other)
        return sorted(best.values(), key=lambda m: (-m.similarity, m.id))

    def _candidates(self, key: str) -> np.ndarray:
        """Rows whose ratio with ``key`` may reach the threshold: two upper bounds over every
        row at once, the one of the lengths (:func:`ratio_upper_bound`) and the one of the
        shared letters (difflib's ``quick_ratio``)."""
        total = self._lengths + len(key)
        bound = 2 * np.minimum(self._lengths, len(key)) / total
        rows = np.flatnonzero(bound >= self.threshold)
        if not len(rows):
            return rows
        shared = np.minimum(self._counts[rows], _letter_counts(key)).sum(axis=1)
        return rows[2 * shared / total[rows] >= self.threshold]


_NO_MATCH = NameMatch(id="", similarity=-1.0, key="")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_LETTER_INDEX = {c: i for i, c in enumerate(_ALPHABET)}


def _letter_counts(key: str) -> np.ndarray:
    """Counts of each key letter; letters outside the alphabet share the last slot (so the
    shared count stays an upper bound)."""
    counts = np.zeros(len(_ALPHABET) + 1, np.int16)
    for c in key:
        counts[_LETTER_INDEX.get(c, len(_ALPHABET))] += 1
    return counts


__all__ = [
    "DECORATION_WORDS",
    "LEET",
    "NameIndex",
    "NameMatch",
    "confusables_table",
    "name_keys",
    "name_similarity",
    "normalise_name",
    "ratio_upper_bound",
]
