"""Mood and activity words a listener uses that a catalog names otherwise ("happy" for
"upbeat", "gloomy" for "melancholic", "lifting" for "workout").

The text model places a word near its antonyms about as often as near its synonyms
(all-MiniLM-L6-v2: "gloomy" is closer to "upbeat" than to "melancholic", "sad" closer to
"angry"), so moods are read through families of synonyms: a word of a family is the first
member of that family the catalog has as a tag, whichever the catalog's spelling is. A word
that is itself a catalog tag is never remapped. Words with a common other sense ("love",
"down", "blue", "light", "sweet", "still", "date", "training", "run") are left out.
"""

from __future__ import annotations

from collections.abc import Callable

FAMILIES: tuple[tuple[str, ...], ...] = (
    # moods: the head first, then its synonyms
    ("upbeat", "happy", "cheerful", "cheery", "joyful", "joyous", "feel-good", "feelgood",
     "sunny", "uplifting", "bubbly", "bouncy", "jolly", "merry", "playful", "lighthearted",
     "light-hearted", "carefree", "optimistic", "euphoric", "celebratory", "summery", "positive",
     "good-vibes", "fun"),
    ("melancholic", "melancholy", "sad", "sorrowful", "mournful", "gloomy", "somber", "sombre",
     "depressing", "depressed", "heartbroken", "heartbreaking", "weepy", "tearjerker",
     "tearjerkers", "downbeat", "forlorn", "lonely", "bittersweet", "sullen", "despondent",
     "crying", "tearful", "miserable"),
    ("dark", "brooding", "moody", "ominous", "sinister", "spooky", "eerie", "creepy", "haunting",
     "menacing", "grim", "gothic", "bleak", "dystopian"),
    ("angry", "aggressive", "furious", "rage", "raging", "angsty", "fierce", "hostile",
     "violent", "brutal", "pissed", "seething", "ragey"),
    ("peaceful", "serene", "tranquil", "soothing", "gentle", "restful", "placid", "meditative",
     "zen", "calming", "quiet"),
    ("chill", "chilled", "chillout", "chill-out", "laid-back", "laidback", "mellow", "relaxed",
     "relaxing", "easygoing", "low-key", "lowkey", "unwinding", "unwind", "loungey", "lounge"),
    ("energetic", "energizing", "energising", "high-energy", "lively", "pumped", "pumping",
     "hype", "hyped", "vigorous", "dynamic", "rousing", "adrenaline"),
    ("dreamy", "ethereal", "hazy", "floaty", "otherworldly", "dreamlike", "woozy"),
    ("romantic", "lovey-dovey", "loving", "sensual", "sexy", "intimate", "tender", "passionate",
     "amorous", "lovesick"),
    ("nostalgic", "wistful", "reminiscent", "sentimental", "throwback", "throwbacks",
     "yearning"),
    # activities
    ("workout", "gym", "lifting", "weightlifting", "cardio", "crossfit", "exercise",
     "exercising", "spin", "spinning", "hiit", "bootcamp"),
    ("running", "jogging", "jog", "sprint", "sprinting", "marathon"),
    ("sleep", "sleeping", "bedtime", "nap", "napping", "asleep", "lullaby", "lullabies",
     "insomnia"),
    ("study", "studying", "homework", "revision", "revising", "exam", "exams", "coursework"),
    ("focus", "concentrate", "concentration", "deep-work", "coding", "programming"),
    ("party", "partying", "celebration", "pregame", "pregaming", "rave"),
    ("dinner", "dinnertime", "supper"),
    ("date-night", "datenight"),
    ("road-trip", "roadtrip"),
    ("rainy-day", "rainy", "drizzly"),
    ("late-night", "midnight", "nocturnal", "after-hours"),
    ("meditation", "meditating", "mindfulness", "yoga"),
    ("gaming", "videogames", "video-games", "gamer"),
    ("coffee", "cafe", "coffeehouse", "coffee-shop"),
    # genres said as adjectives
    ("jazz", "jazzy"),
    ("folk", "folky", "folksy"),
    ("pop", "poppy"),
    ("acoustic", "unplugged"),
    ("instrumental", "instrumentals", "wordless", "no-vocals", "vocal-free"),
)  # fmt: skip
"""Each family: the head (the demo world's tag) and words that mean the same in a request."""

_FAMILY_OF: dict[str, tuple[str, ...]] = {w: f for f in FAMILIES for w in f}


def family_tag(word: str, exact: Callable[[str], str | None]) -> str | None:
    """The catalog tag ``word`` means by its family (the first member the catalog has, head
    first), or None: a word the catalog has as a tag, or of no family, is not remapped."""
    key = word.casefold().strip()
    if exact(key) or key not in _FAMILY_OF:
        return None
    for member in _FAMILY_OF[key]:
        if member != key and (hit := exact(member)):
            return hit
    return None


__all__ = ["FAMILIES", "family_tag"]
