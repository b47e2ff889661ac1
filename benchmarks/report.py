"""The benchmark convention: print figures as one JSON object on the last line, and write
``benchmarks/results/<name>.json`` with the machine and the date."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).parent / "results"


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the shared ``--quick`` flag."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small size, about a minute")
    return p


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
    }


def write_result(name: str, figures: dict[str, Any]) -> Path:
    """Write ``results/<name>.json`` and print the figures as the last line of output."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, **figures, "machine": machine()}
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    print(json.dumps(payload, sort_keys=True))
    return path


__all__ = ["RESULTS_DIR", "machine", "parser", "write_result"]
