"""Without Ray installed, `liner build --ray` says how to install it (and changes nothing)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from recsys.cli import main
from recsys.distributed import RayBackend, RayUnavailableError


def test_missing_ray_is_named_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(RayUnavailableError, match=r"pip install '\.\[ray\]'"):
        RayBackend().start()
    out = tmp_path / "artifacts"
    result = CliRunner().invoke(
        main, ["build", "--ray", "--db", str(tmp_path / "liner.db"), "--out", str(out)]
    )
    assert result.exit_code != 0
    assert "pip install '.[ray]'" in result.output
    assert not out.exists()


def test_partition_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RayBackend(partition_size=0)


def test_eval_with_ray_but_without_ray_names_the_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    out = tmp_path / "eval"
    result = CliRunner().invoke(main, ["eval", "--data", str(tmp_path), "--out", str(out), "--ray"])
    assert result.exit_code != 0 and "pip install '.[ray]'" in result.output
    assert not out.exists()
    query = CliRunner().invoke(main, ["eval", "--task", "query", "--out", str(out), "--ray"])
    assert query.exit_code != 0 and "not --task query" in query.output
