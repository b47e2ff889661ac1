"""Read the files of a data folder (docs/data-format.md) into frames of raw cells.

CSV cells are read as strings (an empty cell is missing); Parquet columns keep their types.
The validators in ``validate.py`` accept both. Files the format does not name (a demo
generator's ``truth.csv``, notes, audio) are ignored.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from recsys.errors import ValidationError

logger = logging.getLogger(__name__)

TABLES = ("items", "artists", "credits", "listeners", "interactions", "consent", "playlists")
REQUIRED_TABLES = ("items", "interactions")


@dataclass(frozen=True, kw_only=True)
class RawTable:
    """One file of the folder.

    Attributes:
        name: the table (``items``, ``interactions``, ...).
        file: the file name relative to the folder, for error messages.
        frame: the cells, with a RangeIndex (row ``i`` is data row ``i + 1``).
    """

    name: str
    file: str
    frame: pd.DataFrame


def read_folder(folder: Path) -> dict[str, RawTable]:
    """Read every table file present in ``folder``.

    Raises:
        ValidationError: the folder or a required file is missing, or a file cannot be read.
    """
    if not folder.is_dir():
        raise ValidationError(
            file=str(folder),
            problem="is not a folder",
            fix="pass the data folder that holds items.csv and interactions.csv",
        )
    tables: dict[str, RawTable] = {}
    for name in TABLES:
        parquet, csv_path = folder / f"{name}.parquet", folder / f"{name}.csv"
        if parquet.is_file():
            tables[name] = RawTable(name=name, file=parquet.name, frame=_read_parquet(parquet))
        elif csv_path.is_file():
            tables[name] = RawTable(name=name, file=csv_path.name, frame=_read_csv(csv_path))
        elif name in REQUIRED_TABLES:
            raise ValidationError(
                file=f"{name}.csv",
                problem=f"required file missing from {folder}",
                fix=f"add {name}.csv or {name}.parquet (see docs/data-format.md)",
            )
    logger.debug("read %s", {k: len(t.frame) for k, t in tables.items()})
    return tables


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, raw, exc.start) from exc
    if text.startswith("\ufeff"):
        raw = raw[3:]
        text = text[1:]
    first = text.split("\n", 1)[0].rstrip("\r")
    header = next(csv.reader([first]), [])
    if not [h for h in header if h.strip()]:
        raise ValidationError(
            file=path.name, problem="has no header row", fix="put the column names on line 1"
        )
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise ValidationError(
            file=path.name,
            row=0,
            field=duplicates[0],
            problem="the header names this column more than once",
            fix="keep one column per name",
        )
    try:
        table = pa_csv.read_csv(
            io.BytesIO(raw),
            # A block must hold a whole row: room for rows with very long cells.
            read_options=pa_csv.ReadOptions(block_size=max(1 << 20, min(len(raw), 1 << 28))),
            convert_options=pa_csv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise _csv_shape_error(path, text, len(header), exc) from exc
    return table.to_pandas()


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise ValidationError(
            file=path.name,
            problem=f"cannot be read as Parquet ({exc})",
            fix="rewrite it with pandas.DataFrame.to_parquet or use CSV",
        ) from exc
    for column in frame.columns:
        if frame[column].dtype == object:
            for i, value in enumerate(frame[column]):
                if isinstance(value, bytes):
                    try:
                        value.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        raise ValidationError(
                            file=path.name,
                            row=i + 1,
                            field=str(column),
                            problem="text is not valid UTF-8",
                            fix="store text columns as UTF-8 strings",
                        ) from exc
            frame[column] = frame[column].map(
                lambda v: v.decode("utf-8") if isinstance(v, bytes) else v
            )
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            # An empty string is a missing cell, as in CSV.
            frame[column] = frame[column].mask(frame[column].astype("string").str.strip() == "")
    return frame.reset_index(drop=True)


def _not_utf8(path: Path, raw: bytes, offset: int) -> ValidationError:
    """Locate the first invalid byte by row and column."""
    line_start = raw.rfind(b"\n", 0, offset) + 1
    row = raw.count(b"\n", 0, offset)
    header = next(csv.reader([raw.split(b"\n", 1)[0].decode("latin-1").rstrip("\r")]), [])
    prefix = raw[line_start:offset].decode("latin-1")
    column = len(next(csv.reader([prefix + "x"]), [""])) - 1
    field = header[column] if 0 <= column < len(header) and row > 0 else None
    return ValidationError(
        file=path.name,
        row=row,
        field=field,
        problem=f"text is not valid UTF-8 (byte 0x{raw[offset]:02x} at offset {offset})",
        fix="re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
    )


def _csv_shape_error(path: Path, text: str, width: int, exc: Exception) -> ValidationError:
    """Find the first row whose cell count differs from the header's."""
    reader = csv.reader(io.StringIO(text))
    try:
        for number, cells in enumerate(reader):
            if cells and len(cells) != width:
                return ValidationError(
                    file=path.name,
                    row=number,
                    problem=f"has {len(cells)} cells but the header has {width}",
                    fix="quote cells that contain commas and give every row one cell per column",
                )
    except csv.Error as error:  # e.g. a cell larger than the csv module's field limit
        return ValidationError(
            file=path.name,
            row=reader.line_num,
            problem=f"cannot be parsed as CSV near line {reader.line_num} ({error}; {exc})",
            fix="check the quoting of that row: an unclosed quote swallows the rest of the file",
        )
    return ValidationError(
        file=path.name,
        problem=f"cannot be parsed as CSV ({exc})",
        fix="check quoting and line endings",
    )


__all__ = ["REQUIRED_TABLES", "TABLES", "RawTable", "read_folder"]
