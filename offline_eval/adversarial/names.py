"""Innocent names for the suite's artists and titles, drawn per seed.

Its own word lists (not the demo world's), so names in the suite are unlike the ones any
screen was developed on. :func:`similar_innocent` makes names that share a word with an
established artist but are a different act (``Ana Moreno`` beside ``Luis Moreno``), the
legitimate resemblance a name screen must not quarantine.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


GIVEN = _words(
    "Ada Aiko Alma Amara Anouk Basil Bruno Cato Celeste Dario Edda Elio Emeka Esme Farid Freya "
    "Goran Greta Hana Hugo Ilse Imre Ines Ivo Jonas Juno Kai Kalinda Lars Leona Lucia Maren "
    "Mateo Mila Nadia Nils Noor Oskar Paloma Pavel Quinn Rafa Rosa Selin Silas Tamsin Teo "
    "Ulla Vera Viggo Wren Yara Yusuf Zora"
)
SURNAMES = _words(
    "Abernathy Bellweather Castellanos Dalgaard Eskildsen Ferreira Gallagher Halvorsen "
    "Ibarra Jovanovic Kowalczyk Lindqvist Marchetti Nakashima Oyelaran Pellegrini Quintero "
    "Rasmussen Saarinen Takahashi Umberfield Valdivia Whitlock Yilmaz Zapatero Brennan "
    "Moreau Novak Okafor Sorensen"
)
BAND_FIRST = _words(
    "Amber Broken Cedar Copper Crimson Distant Ember Glass Hollow Iron Lantern Lunar Marble "
    "Midnight Northern Paper Quiet Rusted Salt Silver Velvet Winter"
)
BAND_SECOND = _words(
    "Anchors Archive Atlas Cartographers Cinema Circuit Collective Comets Ferns Foxes "
    "Garden Harbour Horizon Lights Orchard Parade Pilots Satellites Signals Tides Valley"
)
TITLE_WORDS = _words(
    "after all amber autumn before blue bridge candle coast crossing dawn drift dust echo "
    "ember evening fields fire floating glass gold harbour high hollow honest island letters "
    "low machine meadow mirror morning night north open paper rain river road salt shadow "
    "signal silver slow small song stone summer tide valley walking water wild window winter"
)


class NameDrawer:
    """Draws names without repeats within one suite.

    Args:
        rng: the suite's generator (names depend on the seed).
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _pick(self, words: tuple[str, ...] | list[str]) -> str:
        return str(words[int(self.rng.integers(len(words)))])

    def _fresh(self, make: Callable[[], str]) -> str:
        for _ in range(1000):
            name = make()
            if name not in self.used:
                self.used.add(name)
                return name
        raise RuntimeError("name lists exhausted; use fewer artists")

    def artist(self) -> str:
        """A person's name or a band name."""

        def make() -> str:
            if self.rng.random() < 0.6:
                return f"{self._pick(GIVEN)} {self._pick(SURNAMES)}"
            return f"{self._pick(BAND_FIRST)} {self._pick(BAND_SECOND)}"

        return self._fresh(make)

    def similar_innocent(self, name: str) -> str:
        """A different act that shares one word with ``name`` (a legitimate resemblance)."""
        first, _, rest = name.partition(" ")

        def make() -> str:
            if self.rng.random() < 0.5:
                pool = GIVEN if first in GIVEN else BAND_FIRST
                other = self._pick([w for w in pool if w != first])
                return f"{other} {rest}"
            pool = SURNAMES if rest in SURNAMES else BAND_SECOND
            other = self._pick([w for w in pool if w != rest])
            return f"{first} {other}"

        return self._fresh(make)

    def title(self) -> str:
        """A track title of one to three words."""

        def make() -> str:
            n = int(self.rng.integers(1, 4))
            words = self.rng.choice(TITLE_WORDS, size=n, replace=False)
            return " ".join(str(w) for w in words).capitalize()

        return self._fresh(make)


__all__ = ["NameDrawer"]
