"""Per-item work of `liner build` as Ray tasks over partitions of the catalog.

:class:`RayBackend` is a :class:`~recsys.parallel.MapBackend`: inside
``use_backend(RayBackend(...))`` every :func:`~recsys.parallel.parallel_map` of the build
(text embedding, audio analysis, fingerprints, per-track audio facts) runs as one Ray task per
partition of the items, in order, and returns what the local loop returns. The model fits
(ALS, PCA, projection, reranker, detector) stay in the driver.

- **Resumable**: each finished partition is written to ``checkpoint_dir`` under the hash of
  its function and items; a build that failed or was stopped picks the finished partitions up
  again, and only the rest run. A successful build removes them (the build's own caches then
  hold the results).
- **Retried and reported**: a partition whose task raises or whose worker dies is submitted
  again, up to ``retries`` times, each logged; one that still fails stops the build with a
  :class:`PartitionError` naming every failed partition, its items and the last error.
- **Observable**: a progress bar per map (items done, partitions reused) in the terminal; on
  a cluster with the dashboard installed (``ray[default]``), the tasks in the Ray dashboard.
- :attr:`RayBackend.report` records, per map, the items, partitions, reused partitions and
  retries (``liner build --ray --json`` prints it).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from recsys.errors import LinerError

logger = logging.getLogger(__name__)

DEFAULT_PARTITION = 256
"""Items per partition unless a map asks for another size: a fixed size, not one derived from
the cluster, so a resumed build on a cluster of another size finds its partitions again."""


class RayUnavailableError(LinerError):
    """Ray is not installed or the cluster cannot be reached."""


class PartitionError(LinerError):
    """Partitions that still failed after their retries (finished ones are kept)."""


def _run_partition(call: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    return [call(x) for x in items]


def import_ray() -> Any:
    """The ``ray`` module, or a :class:`RayUnavailableError` saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailableError(
            "liner build --ray needs Ray, an optional extra: pip install '.[ray]' "
            f"(import failed: {exc})"
        ) from exc
    return ray


class RayBackend:
    """Runs :func:`~recsys.parallel.parallel_map` calls as Ray tasks over partitions.

    Args:
        address: a Ray cluster address (``ray://host:10001``, ``host:6379`` or ``auto``);
            None starts a local cluster in this process (head on loopback), stopped by
            :meth:`close`.
        checkpoint_dir: where finished partitions are kept until the build succeeds.
        partition_size: items per partition (a map may ask for fewer).
        retries: resubmissions of a failed partition before the build stops.
        num_cpus: CPUs of a local cluster (None: every CPU).
        env: environment variables for the workers (a local cluster's workers get this
            process's ``PYTHONPATH`` and ``sys.path`` entries so they import the same code).
    """

    distributed = True

    def __init__(
        self,
        address: str | None = None,
        *,
        checkpoint_dir: Path | None = None,
        partition_size: int = DEFAULT_PARTITION,
        retries: int = 2,
        num_cpus: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        if partition_size < 1:
            raise ValueError("partition_size must be at least 1")
        self.address = address
        self.checkpoint_dir = checkpoint_dir
        self.partition_size = partition_size
        self.retries = retries
        self.num_cpus = num_cpus
        self.env = env
        self.report: list[dict[str, Any]] = []
        self._ray: Any = None
        self._task: Any = None
        self._started_here = False

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> RayBackend:
        """Connect to the cluster (or start a local one); idempotent."""
        if self._ray is not None:
            return self
        ray = import_ray()
        import sys

        paths = [p for p in sys.path if p and Path(p).is_dir()]
        env_vars = {"PYTHONPATH": os.pathsep.join(paths), **(self.env or {})}
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "OPENBLAS_NUM_THREADS"):
            if name in os.environ:
                env_vars.setdefault(name, os.environ[name])
        try:
            if self.address is None and not ray.is_initialized():
                ray.init(
                    num_cpus=self.num_cpus,
                    include_dashboard=False,
                    log_to_driver=False,
                    runtime_env={"env_vars": env_vars},
                    _node_ip_address="127.0.0.1",
                )
                self._started_here = True
            elif not ray.is_initialized():
                ray.init(address=self.address, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RayUnavailableError(
                f"cannot reach the Ray cluster at {self.address or 'a new local cluster'}: "
                f"{exc}. Fix: start it (ray start --head) or pass its address to --ray"
            ) from exc
        self._ray = ray
        # Worker deaths are retried by Ray itself; exceptions by map() (to report them).
        self._task = ray.remote(num_cpus=1, max_retries=self.retries)(_run_partition)
        resources = ray.cluster_resources()
        logger.info(
            "Ray cluster: %s CPUs on %d node(s)",
            resources.get("CPU", 0),
            len([n for n in ray.nodes() if n.get("Alive")]),
        )
        return self

    def clear_checkpoints(self) -> None:
        """Drop the finished partitions (a build calls this once it has succeeded)."""
        if self.checkpoint_dir is not None:
            shutil.rmtree(self.checkpoint_dir, ignore_errors=True)

    def close(self) -> None:
        """Disconnect; a local cluster started here is shut down."""
        if self._ray is not None and self._started_here:
            self._ray.shutdown()
        self._ray = None
        self._started_here = False

    def __enter__(self) -> RayBackend:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- work ------------------------------------------------------------------------------
    def _key(self, call: Callable[[Any], Any], items: Sequence[Any]) -> str | None:
        if self.checkpoint_dir is None:
            return None  # nothing is kept: do not pickle (a fitted model) once per partition
        try:
            return hashlib.sha256(pickle.dumps((call, list(items)), protocol=5)).hexdigest()
        except (pickle.PicklingError, TypeError, AttributeError):
            return None  # not checkpointable; still runs

    def _load(self, key: str | None) -> list[Any] | None:
        if key is None or self.checkpoint_dir is None:
            return None
        path = self.checkpoint_dir / f"{key}.pkl"
        if not path.is_file():
            return None
        try:
            with path.open("rb") as f:
                loaded = pickle.load(f)  # written by _save below, in the build's own cache
        except (OSError, pickle.UnpicklingError, EOFError) as exc:
            logger.warning("ignoring unreadable partition checkpoint %s: %s", path.name, exc)
            return None
        return loaded if isinstance(loaded, list) else None

    def _save(self, key: str | None, result: list[Any]) -> None:
        if key is None or self.checkpoint_dir is None:
            return
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.checkpoint_dir / f".{key}.{os.getpid()}.tmp"
        with tmp.open("wb") as f:
            pickle.dump(result, f, protocol=5)
        tmp.replace(self.checkpoint_dir / f"{key}.pkl")

    def map(
        self,
        fn: Callable[[Any], Any],
        items: Sequence[Any],
        *,
        desc: str | None = None,
        partition_size: int | None = None,
    ) -> list[Any]:
        """``[fn(x) for x in items]`` as one Ray task per partition, in order."""
        self.start()
        ray = self._ray
        size = max(1, min(partition_size or self.partition_size, self.partition_size))
        bounds = [(a, min(a + size, len(items))) for a in range(0, len(items), size)]
        results: list[list[Any] | None] = [None] * len(bounds)
        keys = [self._key(fn, items[a:b]) for a, b in bounds]
        started = time.perf_counter()
        bar = tqdm(total=len(items), desc=f"{desc or 'map'} (ray)", unit="item", leave=False)
        reused = 0
        for p, key in enumerate(keys):
            loaded = self._load(key)
            if loaded is not None and len(loaded) == bounds[p][1] - bounds[p][0]:
                results[p] = loaded
                reused += 1
                bar.update(len(loaded))
        fn_ref = ray.put(fn)
        attempts = dict.fromkeys(range(len(bounds)), 0)
        pending = {
            self._task.remote(fn_ref, list(items[a:b])): p
            for p, (a, b) in enumerate(bounds)
            if results[p] is None
        }
        failed: dict[int, str] = {}
        retried = 0
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            ref = done[0]
            p = pending.pop(ref)
            a, b = bounds[p]
            try:
                out = ray.get(ref)
            except ray.exceptions.RayError as exc:
                attempts[p] += 1
                reason = str(exc).strip().splitlines()[-1][:300] if str(exc) else repr(exc)
                if attempts[p] <= self.retries:
                    retried += 1
                    logger.warning(
                        "%s: partition %d (items %d-%d) failed (%s); retry %d of %d",
                        desc or "map", p, a, b - 1, reason, attempts[p], self.retries,
                    )  # fmt: skip
                    pending[self._task.remote(fn_ref, list(items[a:b]))] = p
                else:
                    failed[p] = reason
                continue
            results[p] = out
            self._save(keys[p], out)
            bar.update(b - a)
        bar.close()
        self.report.append(
            {
                "map": desc or "map",
                "items": len(items),
                "partitions": len(bounds),
                "reused": reused,
                "retried": retried,
                "failed": len(failed),
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
        if failed:
            lines = [
                f"partition {p} (items {bounds[p][0]}-{bounds[p][1] - 1}): {why}"
                for p, why in sorted(failed.items())
            ]
            raise PartitionError(
                f"{desc or 'map'}: {len(failed)} of {len(bounds)} partitions failed after "
                f"{self.retries} retries: " + "; ".join(lines) + ". The other partitions are "
                "kept: run the same build again to resume from them"
            )
        return [x for part in results if part is not None for x in part]


__all__ = [
    "DEFAULT_PARTITION",
    "PartitionError",
    "RayBackend",
    "RayUnavailableError",
    "import_ray",
]
