"""`liner eval --ray` gives the local figures: listeners' slates and bootstrap resamples as
Ray tasks over partitions, on the local cluster the Ray tests share (``make test-ray``)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

if os.environ.get("LINER_RAY_TESTS") != "1":
    pytest.skip("the Ray tests run with `make test-ray`", allow_module_level=True)
pytest.importorskip("ray", reason="Ray is an optional extra: pip install '.[ray]'")

from offline_eval import distributed, run_evaluation
from offline_eval.models import PopularityRecommender, register_model
from recsys.distributed import RayBackend
from recsys.parallel import use_backend
from tests.offline_eval.conftest import checkerboard

pytestmark = pytest.mark.timeout(300)


class LockedPopularity(PopularityRecommender):
    """Holds a lock, so it cannot be pickled: it must answer in the driver."""

    def __init__(self, spec: Any) -> None:
        super().__init__(spec)
        self.lock = threading.Lock()


register_model("test-locked", lambda spec: LockedPopularity(spec), replace=True)


@pytest.fixture(scope="module")
def backend(ray_cluster: None) -> Iterator[RayBackend]:
    with RayBackend(None, num_cpus=2) as ray_backend:
        yield ray_backend


def _figures(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("runtime_s", "timings")}


def test_ray_eval_gives_the_local_figures(
    backend: RayBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(distributed, "LISTENERS_PER_TASK", 16)
    args: dict[str, Any] = {
        "eval_dataset": checkerboard(n_users=60, n_items=40),
        "models": ["popularity", "itemknn", "ease", "test-locked"],
        "split": "user-kfold",
        "folds": 2,
        "k": 5,
        "n_boot": 300,
        "progress": False,
    }
    local = run_evaluation(**args).metrics
    backend.report.clear()
    with use_backend(backend):
        remote = run_evaluation(**args).metrics
    assert _figures(remote) == _figures(local)
    maps = [(r["map"], r["partitions"]) for r in backend.report]
    # 30 test listeners in 2 tasks for each model that can be shipped; the locked one
    # answered in the driver; 300 resamples in 3 tasks of 100.
    assert maps == [("slates", 2)] * 3 + [("bootstrap", 3)]
    assert not any(r["failed"] for r in backend.report)
