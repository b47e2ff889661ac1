"""Running per-item work on every core of this machine (audio analysis, per-track facts).

:func:`parallel_map` maps a picklable function over items in worker processes, in order, with
a progress bar; one worker (``LINER_WORKERS=1``) or a handful of items runs in this process.
The distributed build on a Ray cluster lives in :mod:`recsys.distributed`.
:func:`map_rows_to_npy` writes each partition's rows to disk and merges them by streaming, so
the caller's memory does not grow with the number of items; the build's text and audio steps
use it, keeping the parts in the build cache so that a rebuild or a resumed build computes only
the partitions whose content changed (:func:`content_bounds`).
"""

from recsys.parallel.pool import (
    Failed,
    MapBackend,
    active_backend,
    default_workers,
    parallel_map,
    use_backend,
)
from recsys.parallel.row_files import (
    PartPlan,
    compute_parts,
    content_bounds,
    iter_npy_blocks,
    map_rows_to_npy,
    merge_parts,
    plan_parts,
    prune_parts,
    save_npy_blocks,
)

__all__ = [
    "Failed",
    "MapBackend",
    "PartPlan",
    "active_backend",
    "compute_parts",
    "content_bounds",
    "default_workers",
    "iter_npy_blocks",
    "map_rows_to_npy",
    "merge_parts",
    "parallel_map",
    "plan_parts",
    "prune_parts",
    "save_npy_blocks",
    "use_backend",
]
