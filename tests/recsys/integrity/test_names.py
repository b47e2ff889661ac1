"""Name keys see through look-alike characters and decorations, on names and disguises drawn at
random (none written into the code), and leave different names apart."""

from __future__ import annotations

import functools
import random
import unicodedata

import pytest

from recsys.integrity.names import (
    NameIndex,
    confusables_table,
    name_keys,
    name_similarity,
    normalise_name,
)

SYLLABLES = (
    *("ka", "ri", "mo", "ne", "sol", "va", "den", "tor", "lu", "mi", "ra", "ssa", "ven"),
    *("dor", "el", "an", "ber", "sky", "lo", "fi", "ta", "ru", "os", "ine", "gan"),
)
DECORATIONS = (
    "{} VEVO",
    "{}VEVO",
    "{} - Topic",
    "{} (Official)",
    "Official {}",
    "{} Music",
    "{} TV",
    "{} Records",
    "{} Band",
    "The {}",
    "DJ {}",
    "MC {}",
    "{} feat. {other}",
    "{} ft {other}",
    "{} x {other}",
    "{} & {other}",
    "{} vs. {other}",
)
INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e")


def _name(rng: random.Random) -> str:
    words = [
        "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
        for _ in range(rng.randint(1, 3))
    ]
    return " ".join(words)


@functools.cache
def _lookalikes() -> dict[str, list[str]]:
    """ASCII letter → non-Latin letters the confusables table maps to it (either case)."""
    out: dict[str, list[str]] = {}
    for char, proto in confusables_table().items():
        script = unicodedata.name(char, "").split(" ")[0]
        if script in ("GREEK", "CYRILLIC") and len(proto) == 1 and proto.isalpha():
            out.setdefault(proto.lower(), []).append(char)
            out.setdefault(proto.upper(), []).append(char)
    return out


def _disguise(rng: random.Random, name: str, share: float) -> str:
    """Replace about ``share`` of the letters that have a Greek/Cyrillic look-alike."""
    table = _lookalikes()
    return "".join(rng.choice(table[c]) if c in table and rng.random() < share else c for c in name)


@pytest.mark.parametrize("share", [0.3, 0.6, 1.0], ids=["several", "most", "all-possible"])
def test_lookalike_letters_fold_to_the_same_key(share: float) -> None:
    rng = random.Random(int(share * 100))
    for _ in range(200):
        name = _name(rng)
        fake = _disguise(rng, name, share)
        assert normalise_name(fake) == normalise_name(name), (name, fake)


def test_decorations_and_invisible_characters_are_stripped() -> None:
    rng = random.Random(7)
    caught = 0
    trials = 300
    for _ in range(trials):
        name = _name(rng)
        fake = rng.choice(DECORATIONS).format(name, other=_name(rng))
        fake = _disguise(rng, fake, rng.choice([0.0, 0.4]))
        at = rng.randrange(1, len(fake))
        fake = fake[:at] + rng.choice(INVISIBLE) + fake[at:]
        caught += normalise_name(name) in name_keys(fake)
    assert caught == trials


def test_index_finds_disguised_names_among_many() -> None:
    rng = random.Random(11)
    protected = {f"p{i}": _name(rng) for i in range(400)}
    index = NameIndex(protected.items(), threshold=0.88)
    found = 0
    for pid, name in list(protected.items())[:150]:
        fake = rng.choice(DECORATIONS).format(_disguise(rng, name, 0.5), other=_name(rng))
        if len(normalise_name(name)) < index.min_length:
            found += 1
            continue
        found += pid in {m.id for m in index.matches(fake)}
    assert found == 150


def test_mathematical_fullwidth_and_leet_forms() -> None:
    assert normalise_name("𝐌𝐢𝐝𝐧𝐢𝐠𝐡𝐭 𝐑𝐢𝐯𝐞𝐫𝐬") == normalise_name("Midnight Rivers")
    assert normalise_name("Ｍｉｄｎｉｇｈｔ Ｒｉｖｅｒｓ") == normalise_name("Midnight Rivers")
    assert normalise_name("M1DN1GHT R1V3RS") == normalise_name("Midnight Rivers")
    assert normalise_name("Mldnight Rivers") == normalise_name("Midnight Rivers")  # l for I
    assert normalise_name("Esrne Moreau") == normalise_name("Esme Moreau")  # rn for m


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Lenka", "Lena"),
        ("Curve", "The Cure"),
        ("Asia", "Basia"),
        ("Hole", "Hootie & the Blowfish"),
        ("Morning Lakes", "Midnight Rivers"),
        ("Husband", "Hus"),
        ("Кино", "Kino Lorber"),
    ],
)
def test_different_names_stay_apart(a: str, b: str) -> None:
    index = NameIndex([("x", b)], threshold=0.88)
    assert index.matches(a) == []


def test_random_innocent_names_do_not_collide() -> None:
    rng = random.Random(3)
    names = {f"n{i}": _name(rng) for i in range(600)}
    keys: dict[str, str] = {}
    unique = {}
    for nid, name in names.items():
        key = normalise_name(name)
        if key not in keys:
            keys[key] = nid
            unique[nid] = name
    index = NameIndex(unique.items(), threshold=0.88)
    matched = sum(any(m.id != nid for m in index.matches(n)) for nid, n in unique.items())
    # Random names of two or three syllable words: a few are one letter apart (the fuzzy
    # threshold at work), far fewer than one in fifty.
    assert matched / len(unique) < 0.02


def test_similarity_is_one_for_a_disguise_and_low_for_strangers() -> None:
    assert name_similarity("Тауlоr Ѕwіft - Topic", "Taylor Swift") == 1.0
    assert name_similarity("ΤΑΥLΟR SWΙFT", "Taylor Swift") == 1.0
    assert name_similarity("Midnight Riverz", "Midnight Rivers") >= 0.9
    assert name_similarity("Morning Lakes", "Midnight Rivers") < 0.6


def test_confusables_table_comes_from_the_installed_package() -> None:
    table = confusables_table()
    assert len(table) > 5000
    assert table["а"] == "a" and table["ο"] == "o"  # Cyrillic a, Greek omicron
