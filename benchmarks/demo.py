"""`make demo` from nothing to a served slate: wall time per phase, cold and warm.

Runs ``make demo`` with every path it writes (data folder, store, artifacts, caches) inside a
fresh temporary folder, as a fresh clone with its dependencies installed would, timestamps
each output line, and polls the web port with the call the browser page makes first
(``RecommendationService/Recommend`` over Connect JSON for ``u_00001``, after ``GET /``)
until it returns a slate. Phases are delimited by the ``== demo: <phase>`` lines the
Makefile prints:

* ``world``: ``liner demo-data`` (skipped when the folder exists);
* ``ingest``: ``liner ingest`` with screening, audio analysis included (skipped when the
  folder did not change since the last ingest into that store);
* ``build``: ``liner build`` (steps whose inputs did not change are carried over);
* ``serve``: ``liner serve`` until the first slate is served on the web port.

Then it stops the service and runs ``make demo`` again on the same folder (``warm``: what a
second ``make demo`` costs). The figures are seconds of wall time; ``cpu_s_before_serve`` is
the CPU time (user + system, every process) of the phases before ``serve``, which a shared
machine inflates less than wall time; ``load_before`` is the 1-minute load average when the
run started.

Example:
    python -m benchmarks.demo
"""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.report import parser, write_result

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("world", "ingest", "build", "serve")
RECOMMEND = "/linernotes.v1.RecommendationService/Recommend"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _slate(web_port: int) -> int:
    """Items in the slate the page's first call gets (0 when the service is not up yet)."""
    base = f"http://127.0.0.1:{web_port}"
    try:
        with urllib.request.urlopen(base + "/", timeout=5) as page:
            if page.status != 200:
                return 0
        body = json.dumps({"listenerId": "u_00001", "k": 10}).encode()
        request = urllib.request.Request(
            base + RECOMMEND, data=body, headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return len(json.loads(response.read()).get("items", []))
    except (OSError, urllib.error.URLError, ValueError):
        return 0


def run_demo(var: Path, *, timeout_s: float, log: Path) -> dict[str, Any]:
    """One ``make demo`` into ``var`` until a slate is served; seconds per phase."""
    port, web_port, metrics_port = _free_port(), _free_port(), _free_port()
    env = {**os.environ, "LINER_METRICS_PORT": str(metrics_port)}
    cmd = [
        "make",
        "--no-print-directory",
        "demo",
        f"DEMO_DIR={var / 'demo'}",
        f"DB={var / 'liner.db'}",
        f"ARTIFACTS={var / 'artifacts'}",
        f"PORT={port}",
        f"WEB_PORT={web_port}",
    ]
    marks: dict[str, float] = {}
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )

    def read() -> None:
        assert proc.stdout is not None
        with log.open("a") as out:
            for line in proc.stdout:
                now = time.perf_counter() - started
                out.write(f"{now:8.2f} {line}")
                out.flush()
                if line.startswith("== demo: "):
                    marks.setdefault(line.split()[2], now)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    items = 0
    try:
        while time.perf_counter() - started < timeout_s:
            if proc.poll() is not None:
                raise RuntimeError(f"make demo exited with {proc.returncode}; see {log}")
            if "serve" in marks:
                items = _slate(web_port)
                if items:
                    break
            time.sleep(0.5)
        total = time.perf_counter() - started
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if not items:
        raise RuntimeError(f"no slate within {timeout_s:.0f} s; see {log}")
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    ends = [*(marks.get(p) for p in PHASES[1:]), total]
    phases = {}
    for phase, end in zip(PHASES, ends, strict=True):
        if phase in marks and end is not None:
            phases[phase] = round(end - marks[phase], 1)
    return {
        "total_s": round(total, 1),
        "phases_s": phases,
        "cpu_s_before_serve": round(cpu, 1),
        "slate_items": items,
    }


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--timeout", type=float, default=1800.0, help="give up after (s)")
    p.add_argument("--keep", type=Path, default=None, help="use (and keep) this folder")
    args = p.parse_args()
    var = args.keep or Path(tempfile.mkdtemp(prefix="liner-demo-bench-"))
    var.mkdir(parents=True, exist_ok=True)
    log = var / "demo-bench.log"
    load = os.getloadavg()[0]
    cold = run_demo(var, timeout_s=args.timeout, log=log)
    warm = run_demo(var, timeout_s=args.timeout, log=log)
    figures = {
        "cold": cold,
        "warm": warm,
        "target_s": 180,
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "folder": str(var),
    }
    write_result("demo", figures)


if __name__ == "__main__":
    main()
