"""Scoring a request parser against paraphrase sets (``data/*.jsonl``): per constraint kind,
the share of requests whose parsed fields equal the expected ones."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.request import Constraints, VocabularyMatcher, parse_request

DATA_DIR = Path(__file__).parent / "data"


def ai_level(no_generated: bool, no_any: bool, no_vocals: bool) -> str:
    """The strictest AI rule a constraint set asks for."""
    return "any" if no_any else "vocals" if no_vocals else "generated" if no_generated else "none"


def _ai(c: Constraints) -> str:
    return ai_level(c.no_ai_generated, c.no_ai_any, c.no_ai_vocals)


def _names(names: Sequence[str]) -> frozenset[str]:
    from recsys.integrity.names import normalise_name

    return frozenset(normalise_name(n) for n in names)


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


KINDS: dict[str, Any] = {
    # The safety-critical bit: is an AI-generated track allowed?
    "no_ai_generated": (lambda c: c.no_ai_generated, lambda e: e["no_ai_generated"]),
    "ai_level": (
        _ai,
        lambda e: ai_level(e["no_ai_generated"], e["no_ai_any"], e["no_ai_vocals"]),
    ),
    "human_only": (lambda c: c.human_only, lambda e: e["human_only"]),
    "tempo": (
        lambda c: (_num(c.tempo_min), _num(c.tempo_max)),
        lambda e: (_num(e["tempo_min"]), _num(e["tempo_max"])),
    ),
    "era": (lambda c: (c.year_min, c.year_max), lambda e: (e["year_min"], e["year_max"])),
    "emerging": (lambda c: c.new_artists, lambda e: e["new_artists"]),
    # Artists the request itself blocks, resolved or reported as not in the catalog.
    "blocked": (
        lambda c: _names((*c.blocked_names, *c.unknown_artists)),
        lambda e: _names(e.get("blocked", ())),
    ),
}


def _term(t: str) -> str:
    return re.sub(r"[\s_-]+", " ", t.casefold()).strip()


def _covers(expected: str, got: str) -> bool:
    """An expected exclusion ("melancholic|sad": either) covers a parsed one when one holds
    the other ("drum machine" / "drum machines")."""
    g = _term(got)
    return any(_term(a) in g or g in _term(a) for a in expected.split("|"))


def _wanted(c: Constraints, e: dict[str, Any]) -> bool:
    """Every genre/mood the request asks for is parsed (as a genre or a preferred tag; one of
    "a|b"), no genre it does not ask for is, and nothing it excludes is wanted."""
    got = {_term(t) for t in (*c.genres, *c.prefer)}
    # A wanted label "dark|melancholic" is met by either (batch 12 on).
    want = [{_term(a) for a in w.split("|")} for w in e["want"]]
    named = set().union(*want) if want else set()
    avoid = {_term(a) for x in e.get("avoid", ()) for a in x.split("|")}
    return (
        all(w & got for w in want)
        and not ({_term(g) for g in c.genres} - named)
        and not (got & avoid)
    )


def _excluded(c: Constraints, e: dict[str, Any]) -> bool:
    """The parsed exclusions and the expected ones cover each other."""
    return all(any(_covers(x, a) for a in c.avoid) for x in e["avoid"]) and all(
        any(_covers(x, a) for x in e["avoid"]) for a in c.avoid
    )


def years_of(spans: Sequence[Sequence[int]]) -> frozenset[int]:
    """Every year a list of (first, last) spans covers."""
    return frozenset(y for a, b in spans for y in range(int(a), int(b) + 1))


def _excluded_years(c: Constraints, e: dict[str, Any]) -> bool:
    """The refused years parsed are the refused years labelled ("no 80s": 1980-1989)."""
    return years_of(c.exclude_years) == years_of(e["exclude_years"])


OPTIONAL_KINDS: dict[str, tuple[str, Any]] = {
    # Scored only on rows labelled with them (batch 6 on), against the demo world's tags.
    "genre_mood": ("want", _wanted),
    "exclusions": ("avoid", _excluded),
    # Batch 12 on: the years refused in the middle.
    "excluded_years": ("exclude_years", _excluded_years),
}


def demo_vocabulary() -> tuple[list[str], list[str]]:
    """The demo world's genres and tags (genres, styles, moods, activities), which the
    ``want``/``avoid`` labels are written in."""
    from recsys.demo import names

    genres = list(names.GENRES)
    tags = {*genres, *names.MOODS, "instrumental", "vibes"}
    tags |= {s for styles in names.STYLES.values() for s in styles}
    tags |= {a for acts in names.ACTIVITIES.values() for a in acts}
    return genres, sorted(tags)


def load(path: Path, split: str | None = None) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if split is None or r["split"] == split]


def accuracy(
    rows: Sequence[dict[str, Any]], matcher: VocabularyMatcher
) -> tuple[dict[str, float], list[tuple[str, str, Any, Any]]]:
    """Per kind, the share of ``rows`` parsed right, and the misses (kind, text, want, got);
    the :data:`OPTIONAL_KINDS` over the rows labelled with them only (absent when none is)."""
    hits = dict.fromkeys(KINDS, 0)
    counts = dict.fromkeys(KINDS, len(rows))
    misses: list[tuple[str, str, Any, Any]] = []
    for row in rows:
        c = parse_request(row["text"], matcher)
        for kind, (got_of, want_of) in KINDS.items():
            got, want = got_of(c), want_of(row["expect"])
            if got == want:
                hits[kind] += 1
            else:
                misses.append((kind, row["text"], want, got))
        for kind, (key, right) in OPTIONAL_KINDS.items():
            if key not in row["expect"]:
                continue
            counts[kind] = counts.get(kind, 0) + 1
            if right(c, row["expect"]):
                hits[kind] = hits.get(kind, 0) + 1
            else:
                hits.setdefault(kind, 0)
                got = (
                    (c.genres, c.prefer)
                    if key == "want"
                    else c.exclude_years
                    if key == "exclude_years"
                    else c.avoid
                )
                misses.append((kind, row["text"], row["expect"][key], got))
    return {k: v / max(counts[k], 1) for k, v in hits.items()}, misses
