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


class ConsentError(LinerError):
    """A consent operation is not allowed (for example editing the ledger)."""


class StoreError(LinerError):
    """The store cannot be opened, migrated or written."""


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
    "LinerError",
    "NotFoundError",
    "PermissionDeniedError",
    "StoreError",
    "ValidationError",
]
