"""`liner demo-data` end to end, and the contract with `liner ingest`."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from recsys.cli.demo import demo_data_command
from recsys.ingest import run_ingest
from recsys.store import open_store


def test_help_has_an_example() -> None:
    result = CliRunner().invoke(demo_data_command, ["--help"])
    assert result.exit_code == 0 and "Example:" in result.output


def test_cli_writes_a_world(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    args = ["--out", str(out), "--tracks", "120", "--listeners", "20", "--no-audio"]
    result = CliRunner().invoke(demo_data_command, args)
    assert result.exit_code == 0, result.output
    assert "120 tracks" in result.output
    assert not (out / "audio").exists()


def test_ingest_reads_the_demo_world(tiny_world: Path, tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "liner.db"))
    try:
        report = run_ingest(tiny_world, store)
    finally:
        store.close()
    assert report.rows["tracks"] == 200
    assert report.rows["interactions"] > 1000
