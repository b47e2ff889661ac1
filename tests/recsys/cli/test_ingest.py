"""`liner ingest` through the real click entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from recsys.cli import main
from recsys.store.schema import LATEST_VERSION
from tests.recsys.ingest.folders import valid_tables, write_folder


def test_ingest_prints_summary_and_json(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "data", valid_tables())
    db = tmp_path / "nested" / "liner.db"
    runner = CliRunner()
    text = runner.invoke(main, ["ingest", str(folder), "--db", str(db)])
    assert text.exit_code == 0, text.output
    assert "listeners    3 (1 opted out of AI)" in text.output
    assert "GENERATED 1, NONE 2, UNDISCLOSED 1" in text.output
    again = runner.invoke(main, ["ingest", str(folder), "--db", f"sqlite:///{db}", "--json"])
    assert again.exit_code == 0, again.output
    summary = json.loads(again.output.strip().splitlines()[-1])
    assert summary["new_events"] == 0
    assert summary["events"] == 8
    assert summary["artists_by_kind"] == {"ai_persona": 1, "human": 2}
    assert summary["schema_version"] == LATEST_VERSION


def test_invalid_folder_exits_nonzero_without_traceback(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["items"].loc[1, "ai_involvement"] = "SOMEWHAT"
    folder = write_folder(tmp_path / "data", tables)
    result = CliRunner().invoke(main, ["ingest", str(folder), "--db", str(tmp_path / "l.db")])
    assert result.exit_code != 0
    assert "items.csv, row 2, field 'ai_involvement'" in result.output
    assert "Traceback" not in result.output


def test_an_unreachable_postgres_url_is_refused_with_advice(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "data", {"items": pd.DataFrame({"item_id": ["x"]})})
    url = "postgresql://liner:pw@/db?host=/nonexistent&connect_timeout=2"
    result = CliRunner().invoke(main, ["ingest", str(folder), "--db", url])
    assert result.exit_code != 0
    assert "cannot open the PostgreSQL store" in result.output and "Fix:" in result.output
    assert "Traceback" not in result.output and "pw" not in result.output


def test_help_has_an_example() -> None:
    result = CliRunner().invoke(main, ["ingest", "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and "liner ingest" in result.output
