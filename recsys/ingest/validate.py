"""Vectorised cell validators that collect every problem before failing.

Each parser takes a column of raw cells (CSV strings or typed Parquet values) and returns the
column in its canonical type, recording one :class:`ValidationError` per bad cell in a
:class:`Problems` collector. The ingest fails once, at the end, with all of them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

import numpy as np
import pandas as pd

from recsys.domain.limits import (
    MAX_ID_CHARS,
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
    id_problem,
    text_problem,
)
from recsys.errors import ValidationError

MAX_SHOWN = 20
TIME_FIX = "write an ISO 8601 time like 2024-05-01T12:00:00Z, or integer Unix seconds"
DATE_FIX = "write a date as YYYY-MM-DD (YYYY and YYYY-MM are also accepted)"


class IngestValidationError(ValidationError):
    """Every problem found in a data folder; the message lists the first ``MAX_SHOWN``.

    Attributes:
        errors: the problems shown (file, row, field, problem, fix each).
        total: how many problems were found in all.
    """

    def __init__(self, errors: list[ValidationError], total: int) -> None:
        first = errors[0]
        super().__init__(
            file=first.file, row=first.row, field=first.field, problem=first.problem, fix=first.fix
        )
        self.errors = errors
        self.total = total
        lines = [f"{total} problem{'s' if total != 1 else ''} in the data folder:"]
        lines += [f"  - {e}" for e in errors]
        if total > len(errors):
            lines.append(f"  ... and {total - len(errors)} more")
        self.args = ("\n".join(lines),)

    def __str__(self) -> str:
        return str(self.args[0])


class Problems:
    """Collects validation problems, keeping the first ``MAX_SHOWN``."""

    def __init__(self) -> None:
        self.shown: list[ValidationError] = []
        self.total = 0

    def add(
        self, file: str, problem: str, fix: str, row: int | None = None, field: str | None = None
    ) -> None:
        self.total += 1
        if len(self.shown) < MAX_SHOWN:
            self.shown.append(
                ValidationError(file=file, row=row, field=field, problem=problem, fix=fix)
            )

    def add_rows(
        self, file: str, field: str | None, bad: pd.Series, problem: str, fix: str
    ) -> None:
        """Record ``problem`` for every row where ``bad`` is true; ``{value}`` in ``problem``
        is replaced by the cell."""
        mask = bad.fillna(False).to_numpy(dtype=bool)
        count = int(mask.sum())
        if not count:
            return
        room = max(MAX_SHOWN - len(self.shown), 0)
        for index in bad.index[mask][:room]:
            cell = _cell(bad.attrs.get("values"), index)
            self.shown.append(
                ValidationError(
                    file=file,
                    row=int(index) + 1,
                    field=field,
                    problem=problem.replace("{value}", cell),
                    fix=fix,
                )
            )
        self.total += count

    def raise_if_any(self) -> None:
        if self.total:
            raise IngestValidationError(self.shown, self.total)


def _cell(values: pd.Series | None, index: object) -> str:
    if values is None:
        return ""
    text = str(values.loc[index])
    return repr(text[:60] + ("..." if len(text) > 60 else ""))


def flag(mask: pd.Series, values: pd.Series) -> pd.Series:
    """A boolean mask carrying the raw cells, so problems can quote them."""
    mask = mask.copy()
    mask.attrs["values"] = values
    return mask


def require_columns(frame: pd.DataFrame, file: str, columns: Iterable[str], p: Problems) -> bool:
    """Record a problem per missing column; True when all are present."""
    missing = [c for c in columns if c not in frame.columns]
    for column in missing:
        p.add(
            file,
            "required column is missing",
            f"add a column named '{column}' to the header (see docs/data-format.md)",
            row=0,
            field=column,
        )
    return not missing


def text(
    frame: pd.DataFrame,
    file: str,
    column: str,
    p: Problems,
    *,
    required: bool = False,
    default: str | None = None,
) -> pd.Series:
    """Strings (numbers from Parquet become their decimal text); missing stays NA."""
    if column not in frame.columns:
        return pd.Series(default, index=frame.index, dtype="string")
    values = frame[column]
    if values.dtype.kind in "iub":
        out = values.astype("string")
    elif values.dtype.kind == "f":
        out = values.map(lambda v: None if pd.isna(v) else f"{v:g}").astype("string")
    else:
        out = values.astype("string").str.strip()
        out = out.mask(out == "")
    if required:
        p.add_rows(
            file, column, flag(out.isna(), values), "value is empty", f"give every row a '{column}'"
        )
    _check_limits(out, values, file, column, p)
    if default is not None:
        out = out.fillna(default)
    return out


def _check_limits(out: pd.Series, values: pd.Series, file: str, column: str, p: Problems) -> None:
    """The API's limits (:mod:`recsys.domain.limits`): identifier columns (``*_id``) are
    identifiers; ``description`` is free text; any other text column is one line of text."""
    present = out.dropna()
    if present.empty:
        return
    if column.endswith("_id"):
        problems = present.map(id_problem)
        fix = f"ids of at most {MAX_ID_CHARS} visible characters"
    else:
        limit = MAX_TEXT_CHARS if column == "description" else MAX_NAME_CHARS
        problems = present.map(lambda x: text_problem(x, limit))
        fix = f"at most {limit} characters, no control characters (newline and tab are fine)"
    bad = problems.dropna()
    if bad.empty:
        return
    for reason in sorted(set(bad)):
        mask = pd.Series(False, index=out.index)
        mask[bad.index[bad == reason]] = True
        p.add_rows(file, column, flag(mask, values), f"value {{value}} {reason}", fix)


def integer(
    frame: pd.DataFrame, file: str, column: str, p: Problems, *, minimum: int | None = 0
) -> pd.Series:
    """Nullable Int64."""
    if column not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="Int64")
    values = frame[column]
    number = pd.to_numeric(values, errors="coerce").astype("Float64")
    bad = values.notna() & (number.isna() | (number != number.round()))
    if minimum is not None:
        bad |= number < minimum
    p.add_rows(
        file,
        column,
        flag(bad, values),
        "{value} is not a whole number" + (f" >= {minimum}" if minimum is not None else ""),
        "write an integer such as 215000",
    )
    return number.mask(bad).round().astype("Int64")


def real(
    frame: pd.DataFrame,
    file: str,
    column: str,
    p: Problems,
    *,
    default: float | None,
    low: float | None = None,
    high: float | None = None,
) -> pd.Series:
    """Float64 within optional bounds; missing becomes ``default`` (NaN when None)."""
    if column not in frame.columns:
        return pd.Series(np.nan if default is None else default, index=frame.index, dtype="float64")
    values = frame[column]
    number = pd.to_numeric(values, errors="coerce").astype("float64")
    bad = values.notna() & ~np.isfinite(number)
    span = ""
    if low is not None:
        bad |= number < low
        span = f" in [{low:g}, {high:g}]" if high is not None else f" >= {low:g}"
    if high is not None:
        bad |= number > high
    p.add_rows(
        file,
        column,
        flag(bad, values),
        "{value} is not a number" + span,
        f"write a decimal number{span} such as 0.5",
    )
    out = number.mask(bad)
    return out if default is None else out.fillna(default)


def choice(
    frame: pd.DataFrame,
    file: str,
    column: str,
    p: Problems,
    kind: type[enum.StrEnum],
    default: enum.StrEnum,
) -> pd.Series:
    """Enum values (case-insensitive on input), as their canonical strings."""
    if column not in frame.columns:
        return pd.Series(str(default), index=frame.index, dtype="string")
    allowed = {str(m).lower(): str(m) for m in kind}
    raw = frame[column].astype("string").str.strip()
    out = raw.str.lower().map(allowed).astype("string")
    bad = raw.notna() & (raw != "") & out.isna()
    p.add_rows(
        file,
        column,
        flag(bad, raw),
        "{value} is not an allowed value",
        f"use one of {', '.join(allowed.values())}",
    )
    return out.fillna(str(default))


def boolean(frame: pd.DataFrame, file: str, column: str, p: Problems) -> pd.Series:
    """true/false/1/0 (any case); missing is false."""
    if column not in frame.columns:
        return pd.Series(False, index=frame.index, dtype=bool)
    raw = frame[column].astype("string").str.strip().str.lower()
    table = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
    out = raw.map(table)
    bad = raw.notna() & out.isna()
    p.add_rows(
        file,
        column,
        flag(bad, frame[column]),
        "{value} is not a boolean",
        "write true, false, 1 or 0",
    )
    return out.fillna(False).astype(bool)


def times(
    frame: pd.DataFrame, file: str, column: str, p: Problems, *, required: bool = False
) -> pd.Series:
    """datetime64[us, UTC]: ISO 8601 (naive is UTC) or Unix seconds; NaT when missing."""
    if column not in frame.columns:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    values = frame[column]
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        out = values.dt.tz_convert("UTC")
    elif values.dtype.kind == "M":
        out = values.dt.tz_localize("UTC")
    elif values.dtype.kind in "iuf":
        out = pd.to_datetime(values, unit="s", utc=True, errors="coerce")
    else:
        raw = values.astype("string").str.strip()
        numeric = raw.str.fullmatch(r"-?\d+(\.\d+)?").fillna(False).astype(bool)
        out = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
        if numeric.any():
            seconds = pd.to_numeric(raw[numeric], errors="coerce")
            out[numeric] = pd.to_datetime(seconds, unit="s", utc=True, errors="coerce")
        rest = ~numeric & raw.notna()
        if rest.any():
            out[rest] = pd.to_datetime(raw[rest], format="ISO8601", utc=True, errors="coerce")
    out = out.astype("datetime64[us, UTC]")
    bad = values.notna() & out.isna()
    p.add_rows(file, column, flag(bad, values), "{value} is not a time", TIME_FIX)
    if required:
        p.add_rows(file, column, flag(values.isna(), values), "time is empty", TIME_FIX)
    return out


def dates(frame: pd.DataFrame, file: str, column: str, p: Problems) -> pd.Series:
    """``YYYY-MM-DD`` strings (``YYYY`` and ``YYYY-MM`` read as the first day); NA if missing."""
    if column not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    values = frame[column]
    if values.dtype.kind == "M" or isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.strftime("%Y-%m-%d").astype("string")
    raw = values.astype("string").str.strip()
    shaped = raw.str.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?").fillna(False).astype(bool)
    padded = raw.where(raw.str.len() != 4, raw + "-01-01")
    padded = padded.where(padded.str.len() != 7, padded + "-01")
    parsed = pd.to_datetime(padded.where(shaped), format="%Y-%m-%d", errors="coerce")
    bad = raw.notna() & parsed.isna()
    p.add_rows(file, column, flag(bad, values), "{value} is not a date", DATE_FIX)
    return parsed.dt.strftime("%Y-%m-%d").astype("string")


def lists(frame: pd.DataFrame, column: str) -> pd.Series:
    """Tuples of strings from ``|``-joined cells (or Parquet list cells)."""
    if column not in frame.columns:
        return pd.Series([()] * len(frame), index=frame.index, dtype=object)

    def split(cell: object) -> tuple[str, ...]:
        if cell is None or (isinstance(cell, float) and np.isnan(cell)) or cell is pd.NA:
            return ()
        if isinstance(cell, list | tuple | np.ndarray):
            return tuple(str(v).strip() for v in cell if str(v).strip())
        return tuple(v.strip() for v in str(cell).split("|") if v.strip())

    return frame[column].astype(object).map(split)


def choice_lists(
    frame: pd.DataFrame, file: str, column: str, p: Problems, kind: type[enum.StrEnum]
) -> pd.Series:
    """Tuples of enum values."""
    allowed = {str(m).lower(): str(m) for m in kind}
    cells = lists(frame, column)
    bad = cells.map(lambda vs: any(v.lower() not in allowed for v in vs))
    p.add_rows(
        file,
        column,
        flag(bad, frame.get(column, cells)),
        "{value} has a value that is not allowed",
        f"use values from {', '.join(allowed.values())} joined with |",
    )
    return cells.map(lambda vs: tuple(allowed[v.lower()] for v in vs if v.lower() in allowed))


def unique(ids: pd.Series, file: str, column: str, p: Problems) -> None:
    """Record every repeat of an id, naming the row that had it first."""
    repeated = ids.notna() & ids.duplicated(keep="first")
    if not repeated.any():
        return
    first_row = ids[ids.notna()].drop_duplicates(keep="first")
    lookup = {v: int(i) + 1 for i, v in first_row.items()}
    for index in ids.index[repeated.to_numpy()]:
        value = ids.loc[index]
        p.add(
            file,
            f"'{value}' repeats the id of row {lookup[value]}",
            "give every row its own id, or remove the duplicate row",
            row=int(index) + 1,
            field=column,
        )


def known(
    values: pd.Series, ids: set[str], file: str, column: str, what: str, p: Problems, fix: str
) -> None:
    """Record every value not in ``ids`` (a dangling reference)."""
    present = values.notna()
    bad = present & ~values.isin(ids)
    p.add_rows(file, column, flag(bad, values), "{value} names " + f"no known {what}", fix)


__all__ = [
    "DATE_FIX",
    "MAX_SHOWN",
    "TIME_FIX",
    "IngestValidationError",
    "Problems",
    "boolean",
    "choice",
    "choice_lists",
    "dates",
    "flag",
    "integer",
    "known",
    "lists",
    "real",
    "require_columns",
    "text",
    "times",
    "unique",
]
