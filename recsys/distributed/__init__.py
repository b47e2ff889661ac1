"""`liner build --ray`: the build's per-item work as Ray tasks over catalog partitions.

Ray is an optional extra (``pip install '.[ray]'``); nothing here imports it until a build
asks for it. See :mod:`recsys.distributed.ray_backend`.
"""

from recsys.distributed.ray_backend import (
    DEFAULT_PARTITION,
    PartitionError,
    RayBackend,
    RayUnavailableError,
    import_ray,
)

__all__ = [
    "DEFAULT_PARTITION",
    "PartitionError",
    "RayBackend",
    "RayUnavailableError",
    "import_ray",
]
