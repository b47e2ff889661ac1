"""The robustness suite: a real `liner serve` on a small demo world built by the suite itself,
attacked on loopback (overload, bad reloads, a soak, protobuf fuzzing, kill -9 of a writing
server and of `liner ingest`). Each test prints its figures.

It runs only when asked: `make test-robustness` (CI runs it too), or
``LINER_ROBUSTNESS=1 pytest -s tests/robustness``; ``--soak 600`` (or ``SOAK=600`` with make)
runs the long soak of the benchmarks.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "robustness-admin-token"
FEEDBACK = "robustness-feedback-token"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak",
        type=float,
        default=float(os.environ.get("LINER_SOAK_SECONDS", "20")),
        help="Seconds of the fixed-rate soak (default 20; 600 for the benchmark run).",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("LINER_ROBUSTNESS") == "1":
        return
    skip = pytest.mark.skip(reason="the robustness suite runs with `make test-robustness`")
    for item in items:
        if "tests/robustness/" in str(item.fspath):
            item.add_marker(skip)


def liner(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    """Run a `liner` command; its stdout, or an assertion naming the failure."""
    done = subprocess.run(
        [str(Path(sys.executable).with_name("liner")), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )
    assert done.returncode == 0, f"liner {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass(frozen=True)
class World:
    """A small demo world, ingested, screened and built."""

    root: Path
    data: Path
    db: Path
    artifacts: Path


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("robust")
    data = root / "data"
    liner("demo-data", "--out", str(data), "--tracks", "400", "--listeners", "80", "--seed",
          "11", "--no-audio")  # fmt: skip
    liner("ingest", str(data), "--db", str(root / "liner.db"))
    liner("build", "--db", str(root / "liner.db"), "--out", str(root / "artifacts"))
    return World(root=root, data=data, db=root / "liner.db", artifacts=root / "artifacts")


@dataclass
class Service:
    """A running `liner serve`."""

    process: subprocess.Popen[str]
    port: int
    metrics_port: int
    db: Path
    artifacts: Path

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def rss_kib(self) -> int:
        """Resident memory of the server process."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(match.group(1)) if match else 0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_service(db: Path, artifacts: Path, *extra: str, threads: int = 4) -> Service:
    """Start `liner serve` on free ports and wait until it prints them."""
    env = {
        **os.environ,
        "LINER_ADMIN_TOKENS": f'["{ADMIN}"]',
        "LINER_FEEDBACK_TOKENS": f'["{FEEDBACK}"]',
        "LINER_MAX_WORKERS": str(threads),
        "OPENBLAS_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
    }
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("liner")), "serve", "--artifacts", str(artifacts),
         "--db", str(db), "--port", "0", "--metrics-port", "0", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    assert process.stdout is not None
    port = metrics = 0
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not (port and metrics):
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                raise AssertionError(f"liner serve exited with {process.returncode}")
            continue
        if m := re.search(r"listening on [\w.]+:(\d+)", line):
            port = int(m.group(1))
        if m := re.search(r"metrics on http://[\w.]+:(\d+)", line):
            metrics = int(m.group(1))
    assert port, "liner serve did not print its port within 180 s"
    service = Service(process, port, metrics, db, artifacts)
    from recsys.service import LinerClient

    with LinerClient(service.target, timeout=60) as client:
        deadline = time.monotonic() + 180
        while True:  # serving once a slate comes back
            try:
                client.recommend("u_00001", k=5)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    return service


@pytest.fixture
def service(world: World, tmp_path: Path) -> Iterator[Service]:
    """A service over a private copy of the world's store (tests write to it)."""
    db = copy_store(world.db, tmp_path / "liner.db")
    running = start_service(db, world.artifacts)
    try:
        yield running
    finally:
        running.stop()


def copy_store(source: Path, target: Path) -> Path:
    """A consistent copy of a SQLite store (WAL included), by SQLite's backup API."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]
