"""Datasets for offline evaluation: the data folder format and adapters for public data.

Data is always read in place from ``data_root`` (default ``../shared/datasets``) and never
copied.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from offline_eval.datasets.base import (
    PROVIDER_GROUPS,
    EvalDataset,
    finalize_interactions,
    finalize_items,
)
from offline_eval.datasets.demo import load_demo
from offline_eval.datasets.folder import load_folder
from offline_eval.datasets.hetrec import load_hetrec
from offline_eval.datasets.provenance import ProvenanceSimulation, simulate_provenance
from offline_eval.datasets.tidytuesday import load_tidytuesday
from offline_eval.errors import DatasetError

DEFAULT_DATA_ROOT = Path("../shared/datasets")

ADAPTERS: dict[str, Callable[[Path], EvalDataset]] = {
    "demo": load_demo,
    "hetrec-lastfm-2k": load_hetrec,
    "tidytuesday-spotify": load_tidytuesday,
}


def load_dataset(name: str, data_root: str | Path = DEFAULT_DATA_ROOT) -> EvalDataset:
    """Load a named public dataset (or the demo world) from ``data_root``, in place.

    Args:
        name: ``hetrec-lastfm-2k``, ``tidytuesday-spotify`` or ``demo``.
        data_root: the folder holding the datasets.

    Raises:
        DatasetError: for an unknown name or missing files.

    Example:
        >>> ds = load_dataset("hetrec-lastfm-2k", "../shared/datasets")  # doctest: +SKIP
        >>> ds.items.shape[0]  # doctest: +SKIP
        17632
    """
    if name not in ADAPTERS:
        raise DatasetError(
            f"unknown dataset {name!r}. Fix: use one of {sorted(ADAPTERS)} or --data DIR"
        )
    return ADAPTERS[name](Path(data_root))


__all__ = [
    "ADAPTERS",
    "DEFAULT_DATA_ROOT",
    "PROVIDER_GROUPS",
    "EvalDataset",
    "ProvenanceSimulation",
    "finalize_interactions",
    "finalize_items",
    "load_dataset",
    "load_demo",
    "load_folder",
    "load_hetrec",
    "load_tidytuesday",
    "simulate_provenance",
]
