"""A tiny demo world, generated once per test session."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from recsys.demo import DemoConfig, generate_demo, write_folder

TINY = DemoConfig(tracks=200, listeners=50, seed=7, audio=False)


def read_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """Every CSV of a folder, cells as strings."""
    return {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in folder.glob("*.csv")}


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny_world")
    write_folder(generate_demo(TINY), out)
    return out


@pytest.fixture(scope="session")
def tiny(tiny_world: Path) -> dict[str, pd.DataFrame]:
    return read_tables(tiny_world)
