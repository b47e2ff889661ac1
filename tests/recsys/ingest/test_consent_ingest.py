"""Consent files at ingest: a stated time in the future is refused, naming row, field and fix;
historic times are kept for audit and the file's entries are appended by stated time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from recsys.domain import ConsentAction
from recsys.errors import ValidationError
from recsys.ingest import validate as v
from recsys.ingest.listening import read_consent
from recsys.ingest.reader import RawTable
from recsys.ingest.run import run_ingest
from recsys.store import SqliteStore
from tests.recsys.ingest.folders import valid_tables, write_folder

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _table(*times: str) -> RawTable:
    frame = pd.DataFrame(
        {
            "entry_id": [f"c{i}" for i in range(len(times))],
            "rights_holder_id": ["h1"] * len(times),
            "scope": ["voice_likeness"] * len(times),
            "action": ["grant", "revoke", "grant"][: len(times)],
            "timestamp": list(times),
        }
    )
    return RawTable(name="consent", file="consent.csv", frame=frame)


def test_a_future_timestamp_is_refused_with_row_field_and_fix() -> None:
    p = v.Problems()
    entries = read_consent(_table("2024-01-01T00:00:00Z", "2031-01-01T00:00:00Z"), p, now=NOW)
    assert entries == []
    with pytest.raises(ValidationError) as caught:
        p.raise_if_any()
    message = str(caught.value)
    assert "consent.csv" in message and "row 2" in message and "timestamp" in message
    assert "future" in message and "Fix" in message


def test_within_the_clock_skew_is_accepted() -> None:
    p = v.Problems()
    soon = (NOW + timedelta(minutes=4)).isoformat()
    entries = read_consent(_table(soon), p, now=NOW, skew=timedelta(minutes=5))
    assert p.total == 0 and len(entries) == 1


def test_historic_entries_keep_their_time_and_append_in_stated_order() -> None:
    p = v.Problems()
    table = _table("2024-03-01T00:00:00Z", "2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z")
    entries = read_consent(table, p, now=NOW)
    assert [e.entry_id for e in entries] == ["c1", "c2", "c0"]
    assert entries[0].at == datetime(2024, 1, 1, tzinfo=UTC)
    assert entries[-1].action is ConsentAction.GRANT
    assert all(e.seq is None and e.received_at is None for e in entries)


def test_ingest_refuses_a_folder_with_future_consent_and_writes_nothing(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["consent"].loc[0, "timestamp"] = "2031-01-01T00:00:00Z"
    folder = write_folder(tmp_path / "data", tables)
    store = SqliteStore(tmp_path / "liner.db")
    with pytest.raises(ValidationError, match="in the future"):
        run_ingest(folder, store, consent_skew=timedelta(minutes=5))
    assert store.summary().tracks == 0 and store.consent_version() == 0
    store.close()
