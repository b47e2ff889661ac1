"""Screening is part of the commit: `liner ingest` killed with SIGKILL after its commit, or in
the middle of screening, leaves every new upload unscreened (held: not served, not paid), and
the next command finishes the screening."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from recsys.cli import main
from recsys.integrity.metering_report import metering_report_from_store
from recsys.store import SqliteStore

pytestmark = pytest.mark.slow

LINER = str(Path(sys.executable).with_name("liner"))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("crash") / "demo"
    args = ["demo-data", "--out", str(out), "--tracks", "150", "--listeners", "30"]
    result = CliRunner().invoke(main, [*args, "--seed", "5", "--no-audio"])
    assert result.exit_code == 0, result.output
    return out


def _kill_at(stage: str, world: Path, db: Path, log: Path) -> None:
    """Run `liner ingest` until it pauses at ``stage`` (LINER_TEST_PAUSE), then SIGKILL it."""
    env = {**os.environ, "LINER_TEST_PAUSE": f"{stage}:300"}
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [LINER, "ingest", str(world), "--db", str(db)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        deadline = time.monotonic() + 240
        while f"pausing 300 s at {stage}" not in log.read_text(errors="replace"):
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "ingest never reached the pause"
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL


def _assert_all_held(db: Path) -> int:
    store = SqliteStore(db)
    try:
        tracks = {t.track_id for t in store.iter_tracks()}
        assert tracks and store.unscreened_ids() == tracks
        assert store.held_ids() >= tracks  # what the hard filter and the agent read
        assert store.quarantined_ids() == frozenset() and store.dispute_history() == []
        report = metering_report_from_store(store, pool="100")
        assert report.plays > 0 and report.paid_plays == 0
        assert report.withheld_plays.get("unscreened") == report.plays
        return len(tracks)
    finally:
        store.close()


def _assert_screened(db: Path) -> None:
    store = SqliteStore(db)
    try:
        assert store.unscreened_ids() == frozenset()
        assert store.quarantined_ids(), "the demo world's abuse should be quarantined"
        assert store.held_ids() == store.quarantined_ids() | store.disputed_ids()
        assert metering_report_from_store(store, pool="100").paid_plays > 0
    finally:
        store.close()


@pytest.mark.parametrize(
    ("stage", "resume"),
    [
        ("after_ingest_commit", "screen"),
        ("before_screening_commit", "ingest"),
    ],
    ids=["killed-after-commit-then-screen", "killed-mid-screening-then-ingest"],
)
def test_kill_9_leaves_uploads_held_until_the_next_command_screens_them(
    world: Path, tmp_path: Path, stage: str, resume: str
) -> None:
    db = tmp_path / "liner.db"
    _kill_at(stage, world, db, tmp_path / "ingest.log")
    uploads = _assert_all_held(db)
    args = ["screen", "--db", str(db), "--json"]
    if resume == "ingest":
        args = ["ingest", str(world), "--db", str(db), "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    run = summary if resume == "screen" else summary["screening"]
    assert run["unscreened_before"] == uploads
    _assert_screened(db)


def test_build_resumes_an_interrupted_screening(world: Path, tmp_path: Path) -> None:
    from recsys.integrity.jobs import resume_screening

    db = tmp_path / "liner.db"
    _kill_at("after_ingest_commit", world, db, tmp_path / "ingest.log")
    uploads = _assert_all_held(db)
    store = SqliteStore(db)
    try:
        run = resume_screening(store, why="test")  # what `liner build` and `liner serve` call
        assert run is not None and run.unscreened_before == uploads
        assert resume_screening(store) is None  # nothing left
    finally:
        store.close()
    _assert_screened(db)
