"""What `liner agent` costs when a `liner serve` answers for it, against loading the pipeline.

On a small demo world (400 tracks, 80 listeners, no audio; built in a temporary directory,
or ``--world DIR`` holding ``liner.db`` and ``artifacts/`` from an earlier run), one
`liner serve` is started and warmed, then, each in a fresh process, interleaved:

* ``remote``: `liner agent QUESTION --listener ID --json --service HOST:PORT` (one Converse
  call; the process imports gRPC, the messages and the JSON rendering only);
* ``local``: the same with ``--local --artifacts --db`` (loads the pipeline, the text model
  and the agent's vocabulary before answering);
* ``import_remote`` / ``import_local``: a bare interpreter importing what each path imports.

Figures: medians (s) of each, ``local_over_remote`` (the ratio of medians of the whole
command), and ``remote_import_share`` (the remote path's import time over its whole command).
The machine is shared, so the ratio, not the seconds, is the figure to compare between runs.

Example:
    python -m benchmarks.agent_cli --quick
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.report import parser, write_result

BIN = Path(sys.executable).with_name("liner")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OPENBLAS_NUM_THREADS": "1"}
QUESTIONS = ("rainy day jazz, no AI", "upbeat rock for a run, human artists only",
             "calm ambient for reading", "something like my favourites but newer")  # fmt: skip
IMPORTS = {
    "import_remote": "import agent.cli, agent.remote, grpc, recsys.api.answers, "
    "recsys.service.client",
    "import_local": "import agent.cli, agent.pipeline_backend, agent.discovery, "
    "recsys.pipeline, recsys.store, recsys.service.convert",
}


def _run(*args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=ENV, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - start


def _world(root: Path) -> None:
    if (root / "artifacts").exists():
        return
    liner = str(BIN)
    _run(liner, "demo-data", "--out", str(root / "data"), "--tracks", "400", "--listeners", "80",
         "--seed", "11", "--no-audio")  # fmt: skip
    _run(liner, "ingest", str(root / "data"), "--db", str(root / "liner.db"))
    _run(liner, "build", "--db", str(root / "liner.db"), "--out", str(root / "artifacts"))


def _serve(root: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [str(BIN), "serve", "--artifacts", str(root / "artifacts"), "--db", str(root / "liner.db"),
         "--port", "0", "--metrics-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=ENV,
    )  # fmt: skip
    assert process.stdout is not None
    port = 0
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if m := re.search(r"listening on [\w.]+:(\d+)", line):
            port = int(m.group(1))
        if port and "serving artifacts" in line:
            return process, f"127.0.0.1:{port}"
        if not line and process.poll() is not None:
            break
    process.kill()
    raise RuntimeError("liner serve did not start")


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--world", type=Path, default=None, help="reuse/build the world here")
    args = p.parse_args()
    rounds = 2 if args.quick else 4
    with tempfile.TemporaryDirectory() as tmp:
        root = args.world or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        _world(root)
        process, target = _serve(root)
        try:
            ask = [str(BIN), "agent", "--listener", "u_00001", "--json"]
            _run(*ask, "warm-up", "--service", target)
            times: dict[str, list[float]] = {"remote": [], "local": [], **{k: [] for k in IMPORTS}}
            for r in range(rounds):
                question = QUESTIONS[r % len(QUESTIONS)]
                times["remote"].append(_run(*ask, question, "--service", target))
                local = ["--local", "--artifacts", str(root / "artifacts")]
                local += ["--db", str(root / "liner.db")]
                times["local"].append(_run(*ask, question, *local))
                for name, code in IMPORTS.items():
                    times[name].append(_run(sys.executable, "-c", code))
                times["remote"].append(_run(*ask, question, "--service", target))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    med = {k: round(statistics.median(v), 3) for k, v in times.items()}
    figures: dict[str, Any] = {
        "world": "demo 400 tracks / 80 listeners, no audio",
        "runs": {k: len(v) for k, v in times.items()},
        "median_s": med,
        "local_over_remote": round(med["local"] / med["remote"], 1),
        "import_local_over_remote": round(med["import_local"] / med["import_remote"], 1),
        "remote_import_share": round(med["import_remote"] / med["remote"], 2),
        "load_average": os.getloadavg()[0],
    }
    print(json.dumps(times))
    write_result("agent_cli_quick" if args.quick else "agent_cli", figures)


if __name__ == "__main__":
    main()
