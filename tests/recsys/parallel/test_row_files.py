"""Rows written per partition and merged by streaming equal the rows computed in memory."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest

from recsys.parallel import iter_npy_blocks, map_rows_to_npy


def rows_of(items: list[int]) -> np.ndarray:
    """Three float32 columns per item, a function of the item alone."""
    x = np.asarray(items, dtype=np.float32)[:, None]
    return np.hstack([x, x * 2, np.sin(x)]).astype(np.float32)


def test_partitions_on_disk_merge_to_the_in_memory_rows(tmp_path: Path) -> None:
    items = list(range(1000))
    out = tmp_path / "rows.npy"
    shape = map_rows_to_npy(rows_of, items, out, partition=64)
    assert shape == (1000, 3)
    np.testing.assert_array_equal(np.load(out), rows_of(items))
    assert not (tmp_path / "rows.npy.parts").exists()  # parts removed after the merge
    blocks = list(iter_npy_blocks(out, rows=300))
    assert [len(b) for b in blocks] == [300, 300, 300, 100]
    np.testing.assert_array_equal(np.concatenate(blocks), rows_of(items))


def _flaky(folder: str, items: list[int]) -> np.ndarray:
    """Fails on item 500 while ``folder/broken`` exists; logs each partition it computes."""
    if 500 in items and (Path(folder) / "broken").exists():
        raise RuntimeError("worker lost")
    with (Path(folder) / "computed.log").open("a") as log:
        log.write(f"{items[0]}\n")
    return rows_of(items)


def test_a_rerun_reuses_the_parts_written_before_a_failure(tmp_path: Path) -> None:
    out, fn = tmp_path / "rows.npy", partial(_flaky, str(tmp_path))
    (tmp_path / "broken").touch()
    with pytest.raises(RuntimeError, match="worker lost"):
        map_rows_to_npy(fn, list(range(1000)), out, partition=100)
    assert len(list((tmp_path / "rows.npy.parts").glob("part-*.npy"))) == 5
    (tmp_path / "broken").unlink()
    map_rows_to_npy(fn, list(range(1000)), out, partition=100)
    np.testing.assert_array_equal(np.load(out), rows_of(list(range(1000))))
    computed = (tmp_path / "computed.log").read_text().split()
    assert computed == [str(a) for a in (0, 100, 200, 300, 400, 500, 600, 700, 800, 900)]


def _one_row(items: list[int]) -> np.ndarray:
    return np.zeros((1, 2))


def test_a_function_giving_the_wrong_rows_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one row each"):
        map_rows_to_npy(_one_row, [1, 2, 3], tmp_path / "x.npy")
