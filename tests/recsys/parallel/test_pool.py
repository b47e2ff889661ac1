"""parallel_map: the results of a plain loop, in order, with failures reported per item."""

from __future__ import annotations

import os
import time

import pytest

from recsys.parallel import Failed, default_workers, parallel_map


def _square_or_fail(x: int) -> tuple[int, int]:
    if x == 13:
        raise ValueError("thirteen")
    time.sleep(0.01)  # long enough that both workers take items on a loaded machine
    return x * x, os.getpid()


def test_results_match_a_loop_in_order_across_processes() -> None:
    items = list(range(40))
    out = parallel_map(_square_or_fail, [i for i in items if i != 13], workers=2)
    assert [r[0] for r in out] == [i * i for i in items if i != 13]  # type: ignore[index]
    assert len({r[1] for r in out}) == 2  # type: ignore[index]  # two worker processes


def test_a_failure_is_returned_in_its_place_or_raised() -> None:
    out = parallel_map(_square_or_fail, list(range(20)), workers=2, errors="return")
    assert out[13] == Failed("ValueError", "thirteen")
    assert out[12] is not None and out[12][0] == 144  # type: ignore[index]
    with pytest.raises(ValueError, match="thirteen"):
        parallel_map(_square_or_fail, list(range(20)), workers=2)


def test_few_items_run_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    out = parallel_map(_square_or_fail, [1, 2, 3], workers=4)
    assert {r[1] for r in out} == {os.getpid()}  # type: ignore[index]
    monkeypatch.setenv("LINER_WORKERS", "3")
    assert default_workers() == 3
    monkeypatch.setenv("LINER_WORKERS", "many")
    assert default_workers() >= 1
