"""The seed metrics in Prometheus: computed from the store in the background, never by a scrape,
at most once per interval."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from recsys.domain import ConsentAction, ConsentEntry, ConsentScope
from recsys.integrity.figures import main as figures_main
from recsys.integrity.figures import seed_metrics_from_store
from recsys.service import ServiceMetrics
from recsys.store import IngestBatch, SqliteStore
from tests.recsys.service.fakes import ARTISTS, TRACKS


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _scrape(metrics: ServiceMetrics) -> str:
    return generate_latest(metrics.registry).decode()


def test_scrapes_serve_cached_figures_and_refresh_in_the_background() -> None:
    calls: list[str] = []
    go = threading.Event()

    def compute() -> dict[str, Any]:
        calls.append(threading.current_thread().name)
        go.wait(10)  # a slow pass over a large store
        return {
            "opt_in_rate": {"ai_training": 0.5, "voice_likeness": 0.25},
            "artificial_per_1000_plays": 12.5,
            "withheld_plays": 3,
        }

    metrics = ServiceMetrics()
    clock = _Clock()
    collector = metrics.watch_figures(compute, interval_s=60)
    collector._clock = clock  # a fake clock for the interval
    first = _scrape(metrics)
    assert "liner_figures_age_seconds -1.0" in first and "opt_in" not in first
    assert "opt_in" not in _scrape(metrics)  # still computing: one refresh at a time
    go.set()
    collector.wait(10)
    assert calls and calls[0] == "liner-figures"  # not the scraping thread
    second = _scrape(metrics)
    assert 'liner_consent_opt_in_rate{scope="voice_likeness"} 0.25' in second
    assert "liner_artificial_streams_per_1000_plays 12.5" in second
    assert "liner_withheld_plays 3.0" in second
    clock.now += 59
    _scrape(metrics)
    collector.wait(10)
    assert len(calls) == 1  # within the interval: no recomputation
    clock.now += 2
    _scrape(metrics)
    collector.wait(10)
    assert len(calls) == 2


def test_a_failed_refresh_keeps_the_last_figures() -> None:
    results: list[Any] = [{"plays": 7}, RuntimeError("store gone")]

    def compute() -> dict[str, Any]:
        result = results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result  # type: ignore[no-any-return]

    metrics = ServiceMetrics()
    collector = metrics.watch_figures(compute, interval_s=0.0)
    collector.refresh()
    collector.refresh()
    assert "liner_metered_plays 7.0" in _scrape(metrics)


def test_seed_metrics_from_a_store(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "liner.db")
    grant = ConsentEntry(
        entry_id="g", rights_holder_id="rh-ada", scope=ConsentScope.AI_TRAINING,
        action=ConsentAction.GRANT, actor="t", at=datetime(2024, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    store.ingest(IngestBatch(artists=ARTISTS, tracks=TRACKS, consent=[grant]))
    metrics = ServiceMetrics()
    collector = metrics.watch_figures(lambda: seed_metrics_from_store(store).to_dict(), 600)
    collector.refresh()
    text = _scrape(metrics)
    holders = len({a.rights_holder_id for a in ARTISTS})
    assert f'liner_consent_opt_in_rate{{scope="ai_training"}} {1 / holders}' in text
    assert "liner_metered_plays 0.0" in text
    store.close()


def test_the_figures_entry_point_prints_one_json_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = SqliteStore(tmp_path / "liner.db")
    store.ingest(IngestBatch(artists=ARTISTS, tracks=TRACKS))
    store.close()
    figures_main([str(tmp_path / "liner.db")])
    printed = json.loads(capsys.readouterr().out.strip())
    assert printed["plays"] == 0 and set(printed["opt_in_rate"]) == {s.value for s in ConsentScope}
