"""Error hierarchy for the recsys package.

Every error a user can cause is a :class:`LinerError` whose message says what was wrong and how
to fix it. Third-party failures are wrapped at the boundary with ``raise ... from exc``.
"""

from __future__ import annotations


class LinerError(Exception):
    """Base class of every error Liner Notes raises on purpose."""


class ConfigError(LinerError):
    """A setting or config file is invalid."""


class CatalogError(LinerError):
    """Catalog data (artists, tracks, credits, provenance) is invalid or missing."""


class ValidationError(CatalogError):
    """A row of an ingested file is invalid.

    Attributes:
        file: the file name, relative to the data folder.
        row: 1-based data row number (the header is row 0), or ``None`` for file-level problems.
        field: the column name, or ``None``.
        problem: what is wrong.
        fix: what to do about it.
    """

    def __init__(
        self,
        *,
        file: str,
        problem: str,
        fix: str,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.field = field
        self.problem = problem
        self.fix = fix
        where = file
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {problem}. Fix: {fix}")


class UnknownReferenceError(CatalogError):
    """A write names an entity that does not exist (a credited artist, the track of an event).

    The caller's data is at fault, not the service: the write is refused whole and retrying it
    unchanged cannot succeed (FAILED_PRECONDITION).

    Attributes:
        field: where the reference is (``tracks[2].credits[0].artist_id``).
        value: the id that does not exist.
        fix: what to do about it.
    """

    def __init__(self, *, field: str, value: str, kind: str, fix: str) -> None:
        self.field = field
        self.value = value
        self.fix = fix
        super().__init__(f"{field}: no {kind} {value[:128]!r}; nothing was written. Fix: {fix}")


class ConsentError(LinerError):
    """A consent operation is not allowed (for example editing the ledger)."""


class StoreError(LinerError):
    """The store cannot be opened, migrated or written."""


class ConstraintError(StoreError):
    """A write broke a rule of the store (a reference to a missing row, an append-only ledger)
    and was rolled back. The data written is at fault, not the store: retrying it unchanged
    cannot succeed (FAILED_PRECONDITION, never UNAVAILABLE)."""


class ArtifactError(LinerError):
    """An artifact directory is missing, incomplete or fails its manifest check."""


class NotFoundError(LinerError):
    """A requested entity (track, artist, listener) does not exist."""


class PermissionDeniedError(LinerError):
    """The caller's role does not allow the operation."""


__all__ = [
    "ArtifactError",
    "CatalogError",
    "ConfigError",
    "ConsentError",
    "ConstraintError",
    "LinerError",
    "NotFoundError",
    "PermissionDeniedError",
    "StoreError",
    "UnknownReferenceError",
    "ValidationError",
]
