"""One local Ray cluster (head on loopback, 2 CPUs) for every Ray test of the session.

Starting Ray costs 10-25 s on this machine, so the build and the evaluation tests share it;
each test module attaches its own :class:`~recsys.distributed.RayBackend` (its own partition
size and checkpoints) to the running cluster.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    from recsys.distributed import RayBackend

    with RayBackend(None, num_cpus=2):
        yield
