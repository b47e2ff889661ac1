"""Name attacks: look-alike spellings of a protected artist's name, and decorations.

Confusable kinds (each keeps the name visually the same and changes its bytes):

- ``mixed_script``: a few Latin letters swapped for Greek *and* Cyrillic look-alikes;
- ``all_cyrillic``: every letter that has a Cyrillic look-alike swapped;
- ``greek``: every letter that has a Greek look-alike swapped;
- ``zero_width``: zero-width characters (ZWSP, ZWNJ, ZWJ, word joiner, BOM) between letters;
- ``fullwidth``: fullwidth forms (U+FF01–FF5E);
- ``ascii_lookalike``: ASCII look-alikes (``rn`` for ``m``, ``I`` for ``l``, ``0`` for ``O``).

Decorations are the suffixes and prefixes impersonators add (``NameVEVO``, ``Name - Topic``,
``DJ Name``, ``Name feat. X`` ...). The table below is written for the attack, not taken from a
detector's table, so a screen built on UTS #39 data is tested on characters it may not list.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

CYRILLIC: dict[str, str] = {
    "a": "\u0430", "c": "\u0441", "e": "\u0435", "i": "\u0456", "j": "\u0458", "o": "\u043e",
    "p": "\u0440", "s": "\u0455", "x": "\u0445", "y": "\u0443", "h": "\u04bb", "d": "\u0501",
    "A": "\u0410", "B": "\u0412", "C": "\u0421", "E": "\u0415", "H": "\u041d", "I": "\u0406",
    "J": "\u0408", "K": "\u041a", "M": "\u041c", "O": "\u041e", "P": "\u0420", "S": "\u0405",
    "T": "\u0422", "X": "\u0425", "Y": "\u04ae",
}  # fmt: skip
GREEK: dict[str, str] = {
    "o": "\u03bf", "v": "\u03bd", "i": "\u03b9", "u": "\u03c5", "k": "\u03ba", "n": "\u03b7",
    "A": "\u0391", "B": "\u0392", "E": "\u0395", "H": "\u0397", "I": "\u0399", "K": "\u039a",
    "M": "\u039c", "N": "\u039d", "O": "\u039f", "P": "\u03a1", "T": "\u03a4", "X": "\u03a7",
    "Y": "\u03a5", "Z": "\u0396",
}  # fmt: skip
# Scripts a UTS #39 table may not list for Latin, and styled letters NFKC does not fold.
OTHER_SCRIPTS: dict[str, str] = {
    "o": "\u0585", "u": "\u057d", "n": "\u0578", "h": "\u0570", "g": "\u0581",  # Armenian
    "A": "\u13aa", "C": "\u13df", "E": "\u13ac", "H": "\u13bb", "S": "\u13da",  # Cherokee
    "T": "\u13a2", "W": "\u13b3", "M": "\u13b7", "R": "\u13a1", "D": "\u13a0",
    "a": "\u1d00", "r": "\u0280", "y": "\u028f", "l": "\u029f", "i": "\u026a",  # small caps
}  # fmt: skip
ZERO_WIDTH: tuple[str, ...] = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
_ASCII_PAIRS: tuple[tuple[str, str], ...] = (("m", "rn"), ("l", "I"), ("O", "0"), ("I", "l"))


def _swap_some(name: str, rng: np.random.Generator, tables: list[dict[str, str]]) -> str:
    """Swap 2–4 letters, alternating the tables, so several scripts mix."""
    spots = [i for i, ch in enumerate(name) if any(ch in t for t in tables)]
    if not spots:
        return name
    k = min(len(spots), int(rng.integers(2, 5)))
    chosen = sorted(rng.choice(spots, size=k, replace=False).tolist())
    chars = list(name)
    for n, i in enumerate(chosen):
        usable = [t for t in tables if chars[i] in t]
        table = usable[n % len(usable)]
        chars[i] = table[chars[i]]
    return "".join(chars)


def _swap_all(name: str, table: dict[str, str]) -> str:
    return "".join(table.get(ch, ch) for ch in name)


def _zero_width(name: str, rng: np.random.Generator) -> str:
    out = []
    for i, ch in enumerate(name):
        out.append(ch)
        if i < len(name) - 1 and ch != " " and rng.random() < 0.5:
            out.append(ZERO_WIDTH[int(rng.integers(len(ZERO_WIDTH)))])
    spoofed = "".join(out)
    return spoofed if spoofed != name else name[:1] + ZERO_WIDTH[0] + name[1:]


def _fullwidth(name: str) -> str:
    return "".join(
        "\u3000" if ch == " " else chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in name
    )


def _ascii_lookalike(name: str, rng: np.random.Generator) -> str:
    usable = [(a, b) for a, b in _ASCII_PAIRS if a in name]
    if not usable:
        return name.replace("o", "0", 1) if "o" in name else name + "."
    a, b = usable[int(rng.integers(len(usable)))]
    return name.replace(a, b)


def _math_styled(name: str, rng: np.random.Generator) -> str:
    """Mathematical bold, italic or script letters (U+1D400 block), one style per name."""
    base = (0x1D400, 0x1D434, 0x1D5D4, 0x1D670)[int(rng.integers(4))]
    out = []
    for ch in name:
        if "A" <= ch <= "Z":
            out.append(chr(base + ord(ch) - ord("A")))
        elif "a" <= ch <= "z" and not (base == 0x1D434 and ch == "h"):  # italic h is a hole
            out.append(chr(base + 26 + ord(ch) - ord("a")))
        else:
            out.append(ch)
    return "".join(out)


CONFUSABLE_KINDS: dict[str, Callable[[str, np.random.Generator], str]] = {
    "mixed_script": lambda name, rng: _swap_some(name, rng, [GREEK, CYRILLIC]),
    "all_cyrillic": lambda name, rng: _swap_all(name, CYRILLIC),
    "greek": lambda name, rng: _swap_all(name, GREEK),
    "zero_width": _zero_width,
    "fullwidth": lambda name, rng: _fullwidth(name),
    "ascii_lookalike": _ascii_lookalike,
    # Hand-made kinds added after the first suite (see HANDMADE_CONFUSABLES):
    "other_scripts": lambda name, rng: _swap_all(name, OTHER_SCRIPTS),
    "math_styled": lambda name, rng: _math_styled(name, rng),
}
"""Confusable kind → spoofing function (name, rng) → look-alike name."""

DECORATIONS: dict[str, Callable[[str, str], str]] = {
    "vevo": lambda name, other: name.replace(" ", "") + "VEVO",
    "topic": lambda name, other: f"{name} - Topic",
    "official": lambda name, other: f"{name} Official",
    "dj_prefix": lambda name, other: f"DJ {name}",
    "feat": lambda name, other: f"{name} feat. {other}",
    "music": lambda name, other: f"{name} Music",
    "tv": lambda name, other: f"{name} TV",
    "records": lambda name, other: f"{name} Records",
    # Hand-made kinds added after the first suite (see HANDMADE_DECORATIONS):
    "official_brackets": lambda name, other: f"{name} (Official)",
    "hq_brackets": lambda name, other: f"{name} [HQ]",
    "collab_x": lambda name, other: f"{name} x {other}",
    "official_channel": lambda name, other: f"{name.upper()} OFFICIAL CHANNEL",
}
"""Decoration kind → function (name, another artist's name) → decorated name."""
HANDMADE_CONFUSABLES: tuple[str, ...] = ("other_scripts", "math_styled")
HANDMADE_DECORATIONS: tuple[str, ...] = (
    "official_brackets", "hq_brackets", "collab_x", "official_channel",
)  # fmt: skip
"""Name kinds added after the first suite; the original kinds are the others."""


def confusable(name: str, kind: str, rng: np.random.Generator) -> str:
    """A look-alike of ``name`` by ``kind`` (a key of :data:`CONFUSABLE_KINDS`).

    The result always differs from ``name`` byte-wise.
    """
    spoofed = CONFUSABLE_KINDS[kind](name, rng)
    if spoofed == name:  # a name with no swappable letter: fall back to a zero-width join
        spoofed = _zero_width(name, rng)
    return spoofed


def decorate(name: str, kind: str, other: str) -> str:
    """``name`` with the decoration ``kind`` (``other`` is the ``feat.`` guest)."""
    return DECORATIONS[kind](name, other)


__all__ = [
    "CONFUSABLE_KINDS",
    "CYRILLIC",
    "DECORATIONS",
    "GREEK",
    "HANDMADE_CONFUSABLES",
    "HANDMADE_DECORATIONS",
    "OTHER_SCRIPTS",
    "ZERO_WIDTH",
    "confusable",
    "decorate",
]
