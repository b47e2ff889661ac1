"""One set of limits for what the service accepts, shared by the API and ingest: identifiers,
text lengths and control characters. A value that passes one door passes the other."""

from __future__ import annotations

MAX_ID_CHARS = 128
"""Identifiers (tracks, artists, listeners, rights holders, events, uploaders)."""
MAX_NAME_CHARS = 1000
"""Titles, names, reasons: one line of text."""
MAX_LABEL_CHARS = 128
"""Genres and tags."""
MAX_TEXT_CHARS = 5000
"""Free text (descriptions)."""


def id_problem(value: str) -> str | None:
    """What is wrong with an identifier, or None: blank, too long, or a control character
    (newlines and NUL included)."""
    if not value.strip():
        return "is blank"
    if len(value) > MAX_ID_CHARS:
        return f"is {len(value)} characters; the limit is {MAX_ID_CHARS}"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "contains control characters"
    return None


def text_problem(value: str, max_chars: int) -> str | None:
    """What is wrong with a text value, or None: too long, or a control character other
    than newline and tab."""
    if len(value) > max_chars:
        return f"is {len(value)} characters; the limit is {max_chars}"
    if any((ord(ch) < 32 and ch not in "\n\t") or ord(ch) == 127 for ch in value):
        return "contains control characters"
    return None


__all__ = [
    "MAX_ID_CHARS",
    "MAX_LABEL_CHARS",
    "MAX_NAME_CHARS",
    "MAX_TEXT_CHARS",
    "id_problem",
    "text_problem",
]
