"""Adapter for the demo world written by ``liner demo-data`` (already in the data folder
format, so this only finds the folder)."""

from __future__ import annotations

from pathlib import Path

from offline_eval.datasets.base import EvalDataset
from offline_eval.datasets.folder import load_folder
from offline_eval.errors import DatasetError


def load_demo(data_root: str | Path) -> EvalDataset:
    """Load the demo folder from ``data_root/demo``, ``data_root`` itself, or ``./demo``.

    Raises:
        DatasetError: when no demo folder is found.
    """
    root = Path(data_root)
    for candidate in (root / "demo", root, Path("demo")):
        if (candidate / "items.csv").exists() or (candidate / "items.parquet").exists():
            return load_folder(candidate, name="demo")
    raise DatasetError(
        f"no demo folder under {root} or ./demo. Fix: run `liner demo-data --out demo` and "
        "pass `--data demo` (or --data-root pointing at its parent)"
    )


__all__ = ["load_demo"]
