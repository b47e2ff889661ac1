"""`liner screen` and `liner report` through the real click entry point, on a small demo world."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from recsys.cli import main


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("world")
    runner = CliRunner()
    made = runner.invoke(
        main,
        ["demo-data", "--out", str(root / "demo"), "--tracks", "200", "--listeners", "30",
         "--no-audio"],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    db = root / "liner.db"
    # Screening is this module's subject: ingest without it, then screen explicitly.
    ingested = runner.invoke(main, ["ingest", str(root / "demo"), "--db", str(db), "--no-screen"])
    assert ingested.exit_code == 0, ingested.output
    yield root / "demo", db


def _json(result) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_screen_quarantines_injected_abuse(world: tuple[Path, Path]) -> None:
    folder, db = world
    runner = CliRunner()
    dry = _json(runner.invoke(main, ["screen", "--db", str(db), "--dry-run", "--json"]))
    assert dry["quarantined"] > 0
    done = _json(runner.invoke(main, ["screen", "--db", str(db), "--json"]))
    assert done["quarantined"] == dry["quarantined"]
    report = _json(
        runner.invoke(
            main,
            [
                "report",
                "integrity",
                "--db",
                str(db),
                "--json",
                "--truth",
                str(folder / "truth.csv"),
            ],
        )
    )
    by_kind = report["against_truth"]["screening"]["by_kind"]
    for kind in ("ultra_short", "upload_burst"):
        assert by_kind[kind]["recall"] == 1.0, kind
    assert report["quarantined_ever"] == done["quarantined"]
    assert report["quarantines_per_1000_uploads"] == pytest.approx(
        1000 * done["quarantined"] / report["uploads"], abs=0.01
    )
    assert set(report["opt_in_rate"]) == {"ai_training", "ai_style_reference", "voice_likeness"}


def test_release_needs_actor_and_reason_and_is_audited(world: tuple[Path, Path]) -> None:
    _, db = world
    runner = CliRunner()
    _json(runner.invoke(main, ["screen", "--db", str(db), "--json", "--no-detect"]))
    from recsys.store import open_store

    store = open_store(str(db))
    track_id = sorted(store.quarantined_ids())[0]
    store.close()
    refused = runner.invoke(main, ["screen", "--db", str(db), "--release", track_id])
    assert refused.exit_code != 0 and "--actor and --reason" in refused.output
    released = _json(
        runner.invoke(
            main,
            [
                "screen",
                "--db",
                str(db),
                "--release",
                track_id,
                "--actor",
                "admin-1",
                "--reason",
                "appeal upheld",
                "--json",
            ],
        )
    )
    assert released["released"] == track_id and released["actor"] == "admin-1"
    again = runner.invoke(
        main,
        ["screen", "--db", str(db), "--release", track_id, "--actor", "a", "--reason", "b"],
    )
    assert again.exit_code != 0 and "not quarantined" in again.output
    assert "Traceback" not in again.output


def test_metering_report_reconciles_and_writes_csv(
    world: tuple[Path, Path], tmp_path: Path
) -> None:
    _, db = world
    csv_path = tmp_path / "out" / "metering.csv"
    report = _json(
        CliRunner().invoke(
            main,
            [
                "report",
                "metering",
                "--db",
                str(db),
                "--json",
                "--pool",
                "1234.56",
                "--csv",
                str(csv_path),
            ],
        )
    )
    holders = report["holders"]
    assert report["plays"] > 0
    assert sum(Decimal(h["plays"]) for h in holders) == report["plays"]
    for model in ("pro_rata", "user_centric"):
        paid = sum(Decimal(h[f"payout_{model}"]) for h in holders)
        withheld = sum(Decimal(h[f"withheld_{model}"]) for h in holders)
        forfeited = sum(Decimal(h[f"forfeited_{model}"]) for h in holders)
        totals = {k: Decimal(v) for k, v in report["payouts"][model].items()}
        assert paid + withheld + totals["unallocated"] == Decimal("1234.56") == totals["pool"]
        assert forfeited == totals["redistributed"] + totals["unallocated"]
    seed = report["seed_metrics"]
    assert set(seed["opt_in_rate"]) == {"ai_training", "ai_style_reference", "voice_likeness"}
    assert seed["withheld_plays"] == report["withheld_plays"]
    assert seed["withheld_amount"] == report["payouts"]["pro_rata"]["withheld"]
    text = CliRunner().invoke(main, ["report", "metering", "--db", str(db), "--pool", "100"])
    assert text.exit_code == 0, text.output
    assert "withheld" in text.output and "forfeited" in text.output
    table = pd.read_csv(csv_path, dtype=str)
    assert list(table["rights_holder_id"]) == [h["rights_holder_id"] for h in holders]


def test_metering_rejects_a_bad_pool(world: tuple[Path, Path]) -> None:
    _, db = world
    result = CliRunner().invoke(main, ["report", "metering", "--db", str(db), "--pool", "lots"])
    assert result.exit_code != 0 and "--pool" in result.output


@pytest.mark.parametrize(
    "args", [["report"], ["report", "metering"], ["report", "integrity"], ["screen"]]
)
def test_every_command_has_help_with_an_example(args: list[str]) -> None:
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output


def test_screen_confirm_forfeits_a_quarantined_track(world: tuple[Path, Path]) -> None:
    from recsys.store import SqliteStore

    _, db = world
    runner = CliRunner()
    _json(runner.invoke(main, ["screen", "--db", str(db), "--json"]))
    store = SqliteStore(db)
    quarantined = sorted(store.quarantined_ids())
    free = next(t.track_id for t in store.iter_tracks() if t.track_id not in quarantined)
    store.close()
    args = ["screen", "--db", str(db), "--actor", "admin-7", "--reason", "impersonation"]
    done = _json(runner.invoke(main, [*args, "--confirm", quarantined[0], "--json"]))
    assert done == {"confirmed": quarantined[0], "new": True, "actor": "admin-7"}
    assert not _json(runner.invoke(main, [*args, "--confirm", quarantined[0], "--json"]))["new"]
    refused = runner.invoke(main, [*args, "--confirm", free])
    assert refused.exit_code != 0 and "not quarantined" in refused.output
    assert "Traceback" not in refused.output
