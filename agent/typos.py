"""Typing slips in a request, mended against the words the parser acts on: the catalog's
tags and genres and a few words of its own ("rokc" -> "rock", "skpi" -> "skip",
"classicl" -> "classical", "chillll" -> "chill").

Only the slips that rarely make another English word are mended: two neighbouring letters
swapped, a letter typed twice, and, for words of seven letters or more, one letter dropped (a
mistyped letter is not mended: "ruining" is one letter from "running"). A word is changed
only when exactly one known word is that close, never when it is itself known.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Collection

WORD = re.compile(r"(?<![\w'-])[a-z]{4,}(?![\w'-])")
LONG = 7
"""From this length on, one dropped letter is mended too."""


def _candidates(word: str) -> set[str]:
    out: set[str] = set()
    for i in range(len(word) - 1):  # swapped neighbours: "rokc"
        out.add(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
        if word[i] == word[i + 1]:  # a doubled letter: "mettal"
            out.add(word[:i] + word[i + 1 :])
    if len(word) + 1 >= LONG:  # one letter dropped: "classicl"
        for i in range(len(word) + 1):
            out.update(word[:i] + c + word[i:] for c in string.ascii_lowercase)
    out.discard(word)
    return out


def fix_typos(
    low: str,
    exact: Callable[[str], str | None],
    known: Collection[str],
    keep: Collection[str] = (),
) -> str:
    """``low`` (lower case) with each slip mended to the one tag or ``known`` word it is one
    slip away from (``keep``: words never changed); letters held down ("chillll", "jazzzz")
    are shortened first."""

    def is_known(w: str) -> bool:
        return w in known or exact(w) is not None

    def mend(m: re.Match[str]) -> str:
        word = m.group(0)
        if word in keep or is_known(word):
            return word
        for short in (re.sub(r"(.)\1{2,}", r"\1\1", word), re.sub(r"(.)\1{2,}", r"\1", word)):
            if short != word and is_known(short):
                return short
        hits = {c for c in _candidates(word) if is_known(c)}
        return hits.pop() if len(hits) == 1 else word

    return WORD.sub(mend, low)


__all__ = ["fix_typos"]
