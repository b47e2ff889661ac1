"""The JSON form of served items and agent answers, rendered from the API messages.

Every path renders through here: `liner agent --json` whether it asked a running service or
loaded the pipeline itself, and the MCP tools. The service converts its domain items to
messages in one place (``recsys.service.convert.fill_item``, also used by ``Recommend``), so
an item has the same fields whichever door it came out of. Enum values are the domain's
(``"GENERATED"``, ``"DECLARED"``, ``"human"``, ``"primary"``); unknown facts are ``null``.

This module imports only the generated messages and the domain enums, so a client that asks
a running service starts in a fraction of a second.

Example:
    >>> answer_json(client.converse("u_00001", "jazz for a rainy day"))["items"][0]["tempo_bpm"]
"""

from __future__ import annotations

import json
from typing import Any

from recsys.api.v1 import common_pb2 as pbc
from recsys.api.v1 import discovery_pb2 as pbd
from recsys.domain import AiInvolvement, AiPart, ArtistKind, CreditRole, LabelSource

_INVOLVEMENT = {
    pbc.AI_INVOLVEMENT_NONE: AiInvolvement.NONE,
    pbc.AI_INVOLVEMENT_ASSISTED: AiInvolvement.ASSISTED,
    pbc.AI_INVOLVEMENT_GENERATED: AiInvolvement.GENERATED,
    pbc.AI_INVOLVEMENT_UNDISCLOSED: AiInvolvement.UNDISCLOSED,
}
_PARTS = {
    pbc.AI_PART_COMPOSITION: AiPart.COMPOSITION,
    pbc.AI_PART_LYRICS: AiPart.LYRICS,
    pbc.AI_PART_VOCALS: AiPart.VOCALS,
    pbc.AI_PART_INSTRUMENTATION: AiPart.INSTRUMENTATION,
    pbc.AI_PART_PRODUCTION: AiPart.PRODUCTION,
}
_SOURCES = {
    pbc.LABEL_SOURCE_DECLARED: LabelSource.DECLARED.value,
    pbc.LABEL_SOURCE_DETECTED: LabelSource.DETECTED.value,
    pbc.LABEL_SOURCE_DISPUTED: "DISPUTED",
}
_KINDS = {
    pbc.ARTIST_KIND_HUMAN: ArtistKind.HUMAN,
    pbc.ARTIST_KIND_AI_PERSONA: ArtistKind.AI_PERSONA,
    pbc.ARTIST_KIND_UNKNOWN: ArtistKind.UNKNOWN,
}
_ROLES = {
    pbc.CREDIT_ROLE_PRIMARY: CreditRole.PRIMARY,
    pbc.CREDIT_ROLE_FEATURED: CreditRole.FEATURED,
    pbc.CREDIT_ROLE_COMPOSER: CreditRole.COMPOSER,
    pbc.CREDIT_ROLE_LYRICIST: CreditRole.LYRICIST,
    pbc.CREDIT_ROLE_PRODUCER: CreditRole.PRODUCER,
    pbc.CREDIT_ROLE_PERFORMER: CreditRole.PERFORMER,
}

ITEM_KEYS = (
    "position",
    "score",
    "track_id",
    "title",
    "artists",
    "genre",
    "tags",
    "duration_ms",
    "release_date",
    "description",
    "tempo_bpm",
    "key",
    "loudness_db",
    "energy",
    "ai_label",
    "credits",
    "reasons",
    "sources",
    "contributions",
)
"""The keys of every item, in order (a test holds every path to them)."""


def _optional(msg: Any, name: str) -> float | None:
    return round(float(getattr(msg, name)), 4) if msg.HasField(name) else None


def item_json(msg: pbc.RecommendedItem) -> dict[str, Any]:
    """One served item: track facts, measured audio facts, AI label with its source and
    references, credits with verification, reasons and candidate sources."""
    track, label, audio = msg.track, msg.ai_label, msg.audio
    return {
        "position": msg.position,
        "score": round(msg.score, 4),
        "track_id": track.id,
        "title": track.title,
        "artists": list(dict.fromkeys(c.name or c.artist_id for c in msg.credits)),
        "genre": track.genre or None,
        "tags": list(track.tags),
        "duration_ms": track.duration_ms or None,
        "release_date": track.release_date or None,
        "description": track.description or None,
        "tempo_bpm": _optional(audio, "tempo_bpm"),
        "key": audio.key or None,
        "loudness_db": _optional(audio, "loudness_db"),
        "energy": _optional(audio, "energy"),
        "ai_label": {
            "involvement": _INVOLVEMENT.get(label.involvement, AiInvolvement.UNDISCLOSED).value,
            "parts": [_PARTS[p].value for p in label.parts if p in _PARTS],
            "source": _SOURCES.get(label.source, ""),
            "confidence": round(label.confidence, 3),
            "references_artist_ids": list(label.references_artist_ids),
        },
        "credits": [
            {
                "artist_id": c.artist_id,
                "name": c.name or c.artist_id,
                "kind": _KINDS.get(c.artist_kind, ArtistKind.UNKNOWN).value,
                "role": _ROLES[c.role].value if c.role in _ROLES else "",
                "share": round(c.share, 4),
                "verified": c.verified,
            }
            for c in msg.credits
        ],
        "reasons": list(msg.reasons),
        "sources": list(msg.sources),
        "contributions": dict(msg.contributions),
    }


def answer_json(msg: pbd.ConverseResponse) -> dict[str, Any]:
    """One agent answer: summary, notes, items (:func:`item_json`), the plan's trace."""
    return {
        "request_id": msg.request_id,
        "session_id": msg.session_id,
        "session_ttl_s": msg.session_ttl_s,
        "summary": msg.summary,
        "planner": msg.planner,
        "constraints": json.loads(msg.constraints_json) if msg.constraints_json else {},
        "notes": list(msg.notes),
        "items": [item_json(i) for i in msg.items],
        "trace": [
            {
                "tool": t.tool,
                "arguments": json.loads(t.arguments_json or "{}"),
                "count": t.count,
                "ms": round(t.ms, 3),
            }
            for t in msg.trace
        ],
    }


__all__ = ["ITEM_KEYS", "answer_json", "item_json"]
