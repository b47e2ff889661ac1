"""Vocabularies of the demo world: genres, moods, activities, and name and title makers.

Everything here is deterministic given the random generator passed in, so the same seed always
names the same artists and titles the same tracks.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

import numpy as np

GENRES: tuple[str, ...] = (
    "pop",
    "rock",
    "hip-hop",
    "electronic",
    "jazz",
    "classical",
    "folk",
    "metal",
    "ambient",
)

# Style tags that only make sense within a genre.
STYLES: dict[str, tuple[str, ...]] = {
    "pop": ("synth-pop", "indie-pop", "dance-pop", "dream-pop"),
    "rock": ("indie", "post-rock", "garage", "alt-rock", "shoegaze"),
    "hip-hop": ("boom-bap", "trap", "lo-fi", "conscious"),
    "electronic": ("house", "techno", "synthwave", "idm", "drum-and-bass"),
    "jazz": ("bebop", "cool-jazz", "fusion", "smooth-jazz"),
    "classical": ("baroque", "romantic", "minimalism", "chamber"),
    "folk": ("acoustic", "singer-songwriter", "americana", "celtic"),
    "metal": ("doom", "thrash", "black-metal", "prog-metal"),
    "ambient": ("drone", "new-age", "dark-ambient", "soundscape"),
}

MOODS: tuple[str, ...] = (
    "upbeat",
    "melancholic",
    "chill",
    "energetic",
    "dreamy",
    "dark",
    "romantic",
    "angry",
    "peaceful",
    "nostalgic",
)

# How likely each mood is within a genre (unnormalised weights, same order as MOODS).
GENRE_MOODS: dict[str, tuple[float, ...]] = {
    "pop": (5, 1, 2, 3, 2, 0.2, 3, 0.2, 0.5, 1),
    "rock": (3, 2, 0.5, 4, 1, 1, 0.5, 2, 0.2, 2),
    "hip-hop": (2, 1, 3, 3, 0.5, 2, 1, 2, 0.2, 1),
    "electronic": (4, 0.5, 2, 5, 2, 1, 0.2, 0.3, 0.5, 0.5),
    "jazz": (1, 2, 4, 0.5, 2, 0.5, 3, 0.1, 2, 2),
    "classical": (0.5, 3, 1, 1, 2, 1, 2, 0.2, 4, 2),
    "folk": (1, 4, 2, 0.5, 1, 0.5, 2, 0.2, 3, 4),
    "metal": (0.2, 1, 0.1, 4, 0.1, 4, 0.1, 5, 0.1, 0.5),
    "ambient": (0.1, 2, 4, 0.1, 5, 1, 0.5, 0.1, 5, 1),
}

ACTIVITIES: dict[str, tuple[str, ...]] = {
    "upbeat": ("workout", "party", "running"),
    "energetic": ("workout", "running", "gaming"),
    "chill": ("study", "focus", "coffee"),
    "peaceful": ("sleep", "meditation", "study"),
    "dreamy": ("sleep", "late-night", "focus"),
    "melancholic": ("rainy-day", "late-night"),
    "dark": ("late-night", "gaming"),
    "romantic": ("dinner", "date-night"),
    "angry": ("workout", "gaming"),
    "nostalgic": ("road-trip", "rainy-day"),
}

_MOOD_WORDS: dict[str, tuple[str, ...]] = {
    "upbeat": ("Sunshine", "Bright", "Golden", "Dancing", "Summer", "Alive"),
    "melancholic": ("Grey", "Lonely", "Fading", "Rain", "Goodbye", "Hollow"),
    "chill": ("Slow", "Easy", "Lazy", "Drift", "Haze", "Sunday"),
    "energetic": ("Fire", "Rush", "Thunder", "Electric", "Wild", "Run"),
    "dreamy": ("Cloud", "Dream", "Velvet", "Moon", "Float", "Silver"),
    "dark": ("Shadow", "Black", "Night", "Abyss", "Cold", "Iron"),
    "romantic": ("Heart", "Kiss", "Rose", "Darling", "Tender", "Forever"),
    "angry": ("Rage", "Broken", "Scream", "Burn", "Riot", "Blood"),
    "peaceful": ("Still", "Quiet", "Meadow", "Calm", "River", "Dawn"),
    "nostalgic": ("Yesterday", "Old", "Letters", "Home", "Faded", "Memory"),
}

_NOUNS: tuple[str, ...] = (
    "Streets", "Ocean", "Garden", "Mirror", "Window", "City", "Road", "Sky", "Song", "Heart",
    "Light", "Train", "Room", "Fields", "Winter", "Lines", "Stars", "Waves", "Town", "Machine",
)  # fmt: skip

# A narrower, glossier vocabulary that generated tracks lean on.
_AI_WORDS: tuple[str, ...] = (
    "Neon", "Horizon", "Echo", "Infinite", "Aurora", "Pulse", "Nebula", "Dreamscape",
    "Odyssey", "Synth", "Vibe", "Serenity",
)  # fmt: skip

_FIRST: tuple[str, ...] = (
    "Mara", "Jonas", "Ines", "Theo", "Lena", "Kofi", "Rosa", "Emil", "Yuki", "Sami", "Nora",
    "Felix", "Amara", "Luca", "Priya", "Oskar", "Zoe", "Ivan", "Leila", "Hugo", "Ada", "Mateo",
    "Clara", "Ravi", "Elif", "Tomas", "Noor", "Bruno", "Freya", "Dario",
)  # fmt: skip
_LAST: tuple[str, ...] = (
    "Varga", "Lindqvist", "Okafor", "Moreau", "Castell", "Brennan", "Halloway", "Ishikawa",
    "Novak", "Ferreira", "Dubois", "Kowalski", "Adeyemi", "Marchetti", "Sorensen", "Quinn",
    "Albright", "Navarro", "Petrov", "Whitlock", "Eriksen", "Mbeki", "Tanaka", "Harcourt",
    "Delacroix", "Oyelaran", "Rasmussen", "Gallagher", "Zielinski", "Bergamo", "Ashworth",
    "Kurosawa", "Fitzgerald", "Montoya", "Lindgren", "Abernathy",
)  # fmt: skip
_BAND_A: tuple[str, ...] = (
    "Velvet", "Paper", "Glass", "Northern", "Electric", "Silent", "Crimson", "Hollow",
    "Golden", "Wandering", "Static", "Lunar", "Copper", "Midnight", "Feral", "Restless",
    "Painted", "Burning", "Distant", "Woolen", "Broken", "Sleeping", "Marble", "Tin", "Violet",
)  # fmt: skip
_BAND_B: tuple[str, ...] = (
    "Foxes", "Harbors", "Engines", "Orchards", "Saints", "Tides", "Ghosts", "Parade",
    "Lanterns", "Wolves", "Society", "Collective", "Quartet", "Ensemble", "Machines",
    "Sparrows", "Rivals", "Pilgrims", "Giants", "Comets", "Hermits", "Kingdoms", "Brothers",
    "Arrows", "Monarchs",
)  # fmt: skip
_AI_PERSONA: tuple[str, ...] = (
    "Nova", "Aeon", "Lumi", "Synthia", "Vector", "Kairo", "Echoa", "Zenith", "Prism", "Orra",
    "Quasar", "Helix", "Mirai", "Solenne", "Tessellate", "Ondine", "Cobalt", "Vireo",
    "Lyra", "Axiom",
)  # fmt: skip

STUFFING_WORDS: tuple[str, ...] = (
    "relaxing", "music", "sleep", "study", "focus", "chill", "lofi", "beats", "best", "2026",
    "playlist", "workout", "hits", "remix", "viral", "top", "songs", "mix", "free", "new",
)  # fmt: skip

_LEET: dict[str, str] = {"o": "0", "i": "1", "e": "3", "a": "4", "s": "5", "l": "1"}


def pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    """One option, chosen uniformly."""
    return options[int(rng.integers(len(options)))]


def human_artist_name(rng: np.random.Generator) -> str:
    """A person's name or a band name."""
    if rng.random() < 0.55:
        return f"{pick(rng, _FIRST)} {pick(rng, _LAST)}"
    if rng.random() < 0.7:
        return f"The {pick(rng, _BAND_A)} {pick(rng, _BAND_B)}"
    return f"{pick(rng, _BAND_A)} {pick(rng, _BAND_B)}"


def ai_persona_name(rng: np.random.Generator) -> str:
    """A glossy single-word persona with a version-like suffix."""
    return f"{pick(rng, _AI_PERSONA)}{pick(rng, ('', '.ai', ' AI', 'X', ' Systems'))}"


def account_handle(rng: np.random.Generator) -> str:
    """An anonymous-looking account or artist name (used by content farms)."""
    return f"{pick(rng, _BAND_A).lower()}_{pick(rng, _NOUNS).lower()}{int(rng.integers(10, 999))}"


_FOLD_WORDS = re.compile(r"\b(the|ai|x|systems)\b")
_FOLD_RUNS = re.compile(r"(.)\1+")
_FOLD_OTHER = re.compile(r"[^a-z0-9]+")


def name_key(name: str) -> str:
    """A name folded for look-alike checks: case, articles, suffixes like "AI", repeated
    letters and everything but letters and digits dropped ("The Velvet Foxes" matches
    "velvet foxes")."""
    folded = _FOLD_RUNS.sub(r"\1", name.casefold().replace(".ai", " ai"))
    return _FOLD_OTHER.sub("", _FOLD_WORDS.sub(" ", folded))


class NameBook:
    """The artist names of a world, kept apart: no two fold to similar keys.

    Organic artists must not look like each other, or an honest imitation screen flags
    genuine artists. ``distinct`` re-draws a name until its :func:`name_key` is further than
    ``max_similarity`` (difflib ratio) from every name taken so far.
    """

    def __init__(self, max_similarity: float = 0.8, attempts: int = 40) -> None:
        self.max_similarity = max_similarity
        self.attempts = attempts
        self._keys: set[str] = set()
        self._matcher = difflib.SequenceMatcher(autojunk=False)

    def _close(self, key: str) -> bool:
        if key in self._keys:
            return True
        m = self._matcher
        m.set_seq2(key)
        for other in self._keys:
            m.set_seq1(other)
            limit = self.max_similarity
            if m.real_quick_ratio() > limit and m.quick_ratio() > limit and m.ratio() > limit:
                return True
        return False

    def add(self, name: str) -> None:
        """Take ``name`` as it is (a name already in the catalog)."""
        if name:
            self._keys.add(name_key(name))

    def distinct(self, rng: np.random.Generator, draw: Callable[[np.random.Generator], str]) -> str:
        """A name from ``draw`` unlike every name taken so far (after ``attempts`` draws that
        all collide, the last one with a numeral that sets it apart), now taken too."""
        name = draw(rng)
        for _ in range(self.attempts):
            if not self._close(name_key(name)):
                break
            name = draw(rng)
        else:
            name = f"{name} {len(self._keys) + 2}"
        self._keys.add(name_key(name))
        return name


def track_title(rng: np.random.Generator, mood: str, *, ai_style: bool) -> str:
    """A title drawn from the mood's words; ``ai_style`` leans on a generic, numbered pattern."""
    if ai_style and rng.random() < 0.7:
        base = f"{pick(rng, _AI_WORDS)} {pick(rng, _MOOD_WORDS[mood])}"
        if rng.random() < 0.6:
            base += f" {pick(rng, ('II', 'III', 'IV', 'V'))}" if rng.random() < 0.5 else ""
            base += f" ({pick(rng, ('Extended', 'Loop', 'Mix', 'Version'))})"
        return base
    form = int(rng.integers(4))
    word, noun = pick(rng, _MOOD_WORDS[mood]), pick(rng, _NOUNS)
    if form == 0:
        return f"{word} {noun}"
    if form == 1:
        return f"{noun} of {word}"
    if form == 2:
        return word
    return f"The {word} {noun}"


def stuffed_title(rng: np.random.Generator, genre: str) -> str:
    """A keyword-stuffed title: a long run of search terms with repeats."""
    words = [str(w) for w in rng.choice(np.array(STUFFING_WORDS), size=int(rng.integers(9, 15)))]
    words.insert(int(rng.integers(len(words))), genre)
    return " ".join(words)


def imitate_name(rng: np.random.Generator, name: str) -> str:
    """A look-alike of ``name``: letter swaps to digits, doubled letters, dropped spaces.

    The result always differs from ``name`` but stays close to it by normalised edit distance,
    the way impersonating uploads do ("Tayl0r Swiift").
    """
    chars = list(name)
    letters = [i for i, c in enumerate(chars) if c.isalpha()]
    edits = int(rng.integers(1, 3))
    for _ in range(edits):
        i = letters[int(rng.integers(len(letters)))]
        c = chars[i]
        kind = int(rng.integers(3))
        if kind == 0 and c.lower() in _LEET:
            chars[i] = _LEET[c.lower()]
        elif kind == 1:
            chars[i] = c + c.lower()
        else:
            chars[i] = c.swapcase() if c.isupper() else c + c
    out = "".join(chars)
    if len(name) >= 8 and rng.random() < 0.3:
        out += pick(rng, (" Official", " (Real)", " Music", " VEVO"))
    return out if out != name else name + "x"


__all__ = [
    "ACTIVITIES",
    "GENRES",
    "GENRE_MOODS",
    "MOODS",
    "STUFFING_WORDS",
    "STYLES",
    "NameBook",
    "account_handle",
    "ai_persona_name",
    "human_artist_name",
    "imitate_name",
    "name_key",
    "pick",
    "stuffed_title",
    "track_title",
]
