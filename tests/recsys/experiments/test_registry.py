"""Hot reload: valid folders swap in atomically, invalid ones are refused and counted."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry

from recsys.experiments import ExperimentRegistry
from recsys.params import PolicyParams
from tests.recsys.experiments.conftest import experiment_dict, write_yaml

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _refusals() -> float:
    return REGISTRY.get_sample_value("liner_experiment_reload_refusals_total") or 0.0


def _boost_variants(boost: float) -> list[dict[str, object]]:
    return [
        {"name": "control", "weight": 0.5, "overrides": {"human_artist_boost": boost}},
        {"name": "treatment", "weight": 0.5, "overrides": {"human_artist_boost": boost}},
    ]


def test_reload_swaps_valid_and_refuses_invalid(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    path = write_experiment("a.yaml", variants=_boost_variants(0.2))
    registry = ExperimentRegistry(tmp_path)
    first = registry.current()
    assert first.assign("u1", now=NOW).params.human_artist_boost == 0.2

    write_experiment("a.yaml", variants=_boost_variants(0.3))
    assert registry.reload() is True
    assert registry.current().assign("u1", now=NOW).params.human_artist_boost == 0.3
    good = registry.current()

    before = _refusals()
    write_experiment("a.yaml", variants=_boost_variants(0.9))  # beyond the 0.5 bound
    assert registry.reload() is False
    assert registry.current() is good
    assert _refusals() == before + 1
    assert registry.last_error is not None and "human_artist_boost" in registry.last_error
    assert path.exists()


def test_metrics_on_a_private_registry(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    private = CollectorRegistry()
    write_experiment("a.yaml")
    registry = ExperimentRegistry(tmp_path, metrics_registry=private)
    (tmp_path / "a.yaml").write_text("traffic: [\n")
    assert registry.reload() is False
    assert private.get_sample_value("liner_experiment_reload_refusals_total") == 1.0
    assert private.get_sample_value("liner_experiments_loaded") == 1.0


def test_poll_notices_changes_only(tmp_path: Path, write_experiment: Callable[..., Path]) -> None:
    path = write_experiment("a.yaml")
    registry = ExperimentRegistry(tmp_path)
    assert registry.poll() is None
    write_experiment("a.yaml", traffic=0.5)
    os.utime(path, ns=(1, 1))  # a distinct mtime even on coarse-clock filesystems
    assert registry.poll() is True
    assert registry.current().experiments[0].traffic == 0.5
    assert registry.poll() is None


def test_no_folder_means_defaults() -> None:
    registry = ExperimentRegistry(None)
    assert registry.current().assign("u1").params == PolicyParams()
    assert registry.reload() is False


def test_readers_never_see_invalid_or_mixed_sets(tmp_path: Path) -> None:
    # Two experiments (two files) always written together with the same boost; a reader must
    # only ever see one of the valid boosts, the same in both experiments.
    valid = (0.1, 0.2, 0.3)

    def write(boost: float) -> None:
        for name, layer in (("a", "home"), ("b", "radio")):
            overrides = (
                {"human_artist_boost": boost} if name == "a" else {"mmr_lambda": 0.5 + boost}
            )
            data = experiment_dict(
                name,
                layer=layer,
                variants=[
                    {"name": "control", "weight": 0.5, "overrides": overrides},
                    {"name": "treatment", "weight": 0.5, "overrides": overrides},
                ],
            )
            write_yaml(tmp_path / f"{name}.yaml", data)

    write(0.1)
    registry = ExperimentRegistry(tmp_path)
    stop = threading.Event()
    seen: list[tuple[float, float]] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                current = registry.current()
                params = current.assign("u7", now=NOW).params
                seen.append((params.human_artist_boost, round(params.mmr_lambda - 0.5, 6)))
                stop.wait(0.0005)  # let the writer run; readers spinning on the GIL starve it
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    outcomes = []
    for round_ in range(12):
        if round_ % 3 == 2:
            (tmp_path / "a.yaml").write_text("name: [broken\n")  # invalid YAML
        else:
            write(valid[round_ % 3])
        outcomes.append(registry.reload())
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert outcomes.count(False) == 4 and outcomes.count(True) == 8
    assert seen and all(boost in valid and boost == mmr for boost, mmr in seen)


def test_watcher_thread_reloads(tmp_path: Path, write_experiment: Callable[..., Path]) -> None:
    write_experiment("a.yaml")
    registry = ExperimentRegistry(tmp_path)
    registry.start_watching(0.01)
    try:
        path = write_experiment("a.yaml", traffic=0.25)
        os.utime(path, ns=(2, 2))
        deadline = threading.Event()
        for _ in range(500):
            if registry.current().experiments[0].traffic == 0.25:
                break
            deadline.wait(0.01)
        assert registry.current().experiments[0].traffic == 0.25
    finally:
        registry.stop()
