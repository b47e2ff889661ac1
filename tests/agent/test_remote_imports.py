"""`liner agent` against a running service stays light: the remote path never imports the
pipeline, the text model, FAISS, LightGBM, torch or the server (timings live in
benchmarks/agent_cli.py; this holds the imports that make them)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "faiss", "lightgbm", "sentence_transformers", "sklearn", "pandas",
         "recsys.pipeline", "recsys.store", "recsys.service.server", "agent.discovery")  # fmt: skip


def test_the_remote_path_imports_nothing_heavy() -> None:
    code = (
        "import json, sys\n"
        "from recsys.cli import main\n"
        "cmd = main.get_command(None, 'agent')\n"
        "from agent.remote import ask_service, running_service\n"
        "import grpc, recsys.api.answers, recsys.service.client, recsys.settings\n"
        "recsys.settings.LinerSettings()\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
