"""Scoring a request parser against paraphrase sets (``data/*.jsonl``): per constraint kind,
the share of requests whose parsed fields equal the expected ones."""

from __future__ import annotations

import json
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


def load(path: Path, split: str | None = None) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if split is None or r["split"] == split]


def accuracy(
    rows: Sequence[dict[str, Any]], matcher: VocabularyMatcher
) -> tuple[dict[str, float], list[tuple[str, str, Any, Any]]]:
    """Per kind, the share of ``rows`` parsed right, and the misses (kind, text, want, got)."""
    hits = dict.fromkeys(KINDS, 0)
    misses: list[tuple[str, str, Any, Any]] = []
    for row in rows:
        c = parse_request(row["text"], matcher)
        for kind, (got_of, want_of) in KINDS.items():
            got, want = got_of(c), want_of(row["expect"])
            if got == want:
                hits[kind] += 1
            else:
                misses.append((kind, row["text"], want, got))
    return {k: v / max(len(rows), 1) for k, v in hits.items()}, misses
