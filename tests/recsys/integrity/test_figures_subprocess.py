"""The seed-metrics child process gets its store URL from the environment, never argv (a
PostgreSQL URL may carry a password that any local user could read from the process list)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from recsys.integrity import figures
from recsys.store import SqliteStore


def test_the_store_url_stays_off_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen["command"], seen["env"] = command, kwargs["env"]
        return subprocess.CompletedProcess(command, 0, stdout='{"ok": 1}\n', stderr="")

    monkeypatch.setattr(figures.subprocess, "run", fake_run)
    url = "postgresql://liner:s3cret@db.internal/liner"
    assert figures.seed_metrics_in_subprocess(url) == {"ok": 1}
    assert not any("s3cret" in part for part in seen["command"])
    assert seen["env"][figures.FIGURES_DB_ENV] == url


def test_the_child_reads_the_store_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "liner.db"
    SqliteStore(db).close()
    monkeypatch.setenv(figures.FIGURES_DB_ENV, str(db))
    figures.main([])
    assert isinstance(json.loads(capsys.readouterr().out.strip().splitlines()[-1]), dict)
    monkeypatch.delenv(figures.FIGURES_DB_ENV)
    with pytest.raises(SystemExit, match="LINER_FIGURES_DB"):
        figures.main([])
