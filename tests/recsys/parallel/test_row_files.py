"""Rows written per partition and merged by streaming equal the rows computed in memory."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest

from recsys.parallel import content_bounds, iter_npy_blocks, map_rows_to_npy, save_npy_blocks


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


def test_content_bounds_move_only_around_an_insertion() -> None:
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 2**62, 5000).tolist()
    ends = content_bounds(hashes, 64)
    sizes = np.diff([0, *ends])
    assert ends[-1] == 5000 and sizes.max() <= 4 * 64 and 30 < sizes.mean() < 130
    inserted = [*hashes[:2500], 12345, *hashes[2500:]]
    before = {tuple(hashes[a:b]) for a, b in zip([0, *ends], ends, strict=False)}
    new_ends = content_bounds(inserted, 64)
    after = [tuple(inserted[a:b]) for a, b in zip([0, *new_ends], new_ends, strict=False)]
    assert sum(part not in before for part in after) <= 2
    with pytest.raises(ValueError, match="at least 1"):
        content_bounds(hashes, 0)


def test_kept_parts_are_a_cache_and_others_are_pruned(tmp_path: Path) -> None:
    out, fn = tmp_path / "rows.npy", partial(_flaky, str(tmp_path))
    parts = tmp_path / "parts"
    map_rows_to_npy(fn, list(range(300)), out, partition=100, parts_dir=parts, keep_parts=True)
    assert len(list(parts.glob("part-*.npy"))) == 3
    map_rows_to_npy(fn, list(range(200)), out, partition=100, parts_dir=parts, keep_parts=True)
    assert len(list(parts.glob("part-*.npy"))) == 2  # the third partition is gone
    np.testing.assert_array_equal(np.load(out), rows_of(list(range(200))))
    computed = (tmp_path / "computed.log").read_text().split()
    assert computed == ["0", "100", "200"]  # the second map computed nothing


def test_rows_written_by_blocks_are_the_saved_array(tmp_path: Path) -> None:
    x = rows_of(list(range(1000)))
    save_npy_blocks(tmp_path / "b.npy", x.shape, np.float32, iter(np.array_split(x, 7)))
    np.save(tmp_path / "a.npy", x)
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()
    with pytest.raises(ValueError, match="999 rows written"):
        save_npy_blocks(tmp_path / "c.npy", x.shape, np.float32, iter([x[:999]]))
    assert not (tmp_path / "c.npy").exists()
