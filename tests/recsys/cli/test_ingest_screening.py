"""`liner ingest` screens uploads once the batch commits, unless told not to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from recsys.cli import main


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world") / "demo"
    args = [
        "demo-data",
        "--out",
        str(out),
        "--tracks",
        "250",
        "--listeners",
        "60",
        "--seed",
        "3",
        "--no-audio",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return out


def _ingest(world: Path, db: Path, *extra: str) -> dict:
    result = CliRunner().invoke(main, ["ingest", str(world), "--db", str(db), "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def test_ingest_quarantines_injected_abuse(world: Path, tmp_path: Path) -> None:
    summary = _ingest(world, tmp_path / "a.db")
    assert summary["quarantined"] > 0
    flags = summary["screening"]["flags_by_reason"]
    assert {"keyword_stuffing", "ultra_short"} <= set(flags)


def test_no_screen_leaves_the_catalog_unscreened(world: Path, tmp_path: Path) -> None:
    summary = _ingest(world, tmp_path / "b.db", "--no-screen")
    assert summary["quarantined"] == 0 and "screening" not in summary
