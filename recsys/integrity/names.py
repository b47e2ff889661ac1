"""Normalised artist-name similarity, for catching names that imitate known artists.

Impersonators dodge exact matching with accents (``Bjôrk``), leet-speak (``B3y0nc3``), case,
spacing and punctuation (``T.a.y.l.o.r``). :func:`normalise_name` folds all of those away, and
:func:`name_similarity` compares what is left with a ratio in [0, 1] (difflib's
Ratcliff/Obershelp ratio, which behaves like rapidfuzz's ``ratio`` for short strings).
"""

from __future__ import annotations

import difflib
import re
import unicodedata

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
        "|": "l",
        "+": "t",
    }
)
_NOISE_WORDS = re.compile(r"\b(the|oficial|music|band|feat|ft|vevo|tv|real)\b")
_RUNS = re.compile(r"(.)\1+")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise_name(name: str) -> str:
    """Fold a display name to a comparable key.

    Steps: Unicode NFKD with combining marks dropped (so ``é`` → ``e`` and full-width letters
    become ASCII), casefold, the leet-speak map, runs of one letter collapsed (``Sociiety`` →
    ``society``), noise words (``the``, ``official``, ``real``, ``vevo``, ...) removed, then
    everything that is not a letter or digit removed.

    Example:
        >>> normalise_name("Thee B3ATL3S (Official)")
        'beatles'
    """
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    folded = _RUNS.sub(r"\1", stripped.casefold().translate(LEET))
    folded = _NOISE_WORDS.sub(" ", folded)
    return _NON_ALNUM.sub("", folded)


def name_similarity(a: str, b: str) -> float:
    """Similarity in [0, 1] of two names after :func:`normalise_name` (1 means the same key)."""
    na, nb = normalise_name(a), normalise_name(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 1.0
    return difflib.SequenceMatcher(None, na, nb, autojunk=False).ratio()


def ratio_upper_bound(len_a: int, len_b: int) -> float:
    """The largest ratio two strings of these lengths can reach; used to skip hopeless pairs."""
    total = len_a + len_b
    return 2 * min(len_a, len_b) / total if total else 0.0


__all__ = ["LEET", "name_similarity", "normalise_name", "ratio_upper_bound"]
