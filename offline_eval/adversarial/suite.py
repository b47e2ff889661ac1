"""Generate an adversarial suite (or reuse the one already in the folder).

Tune on one seed, report on another: a detector may be tuned on the suite of seed A; the
benchmark reports on seed B, whose suite holds other recordings in other roles, other names,
other edit parameters (drawn from ranges) and other times. Nothing from seed A's truth may
reach the detector scored on seed B.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offline_eval.adversarial.config import SuiteConfig
from offline_eval.adversarial.planner import plan_suite
from offline_eval.adversarial.sources import SourcePiece, find_sources
from offline_eval.adversarial.writer import suite_manifest, write_suite
from offline_eval.errors import DatasetError

logger = logging.getLogger(__name__)

TUNE_SEED = 1
"""The seed detectors may be tuned on."""
REPORT_SEED = 2
"""The held-out seed the benchmark reports on (never tune on it)."""


@dataclass(frozen=True, kw_only=True)
class Suite:
    """A generated suite on disk.

    Attributes:
        root: the suite folder.
        folders: the data folders, in ingest order (``catalog``, then ``uploads``).
        truth: ``truth.csv``.
        manifest: ``suite.json`` (seed, configuration, counts per attack kind).
        seconds: time spent generating (0 when reused).
    """

    root: Path
    folders: tuple[Path, ...]
    truth: Path
    manifest: dict[str, Any]
    seconds: float


def _reusable(root: Path, expected: dict[str, Any]) -> dict[str, Any] | None:
    path = root / "suite.json"
    if not path.is_file():
        return None
    try:
        found: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    same = all(found.get(k) == v for k, v in expected.items())
    return found if same else None


def generate_suite(
    out: str | Path,
    *,
    seed: int,
    config: SuiteConfig | None = None,
    pieces: Sequence[SourcePiece] | None = None,
    reuse: bool = True,
) -> Suite:
    """Write the suite of ``seed`` into ``out`` (reusing a complete identical one there).

    Args:
        out: the suite folder (created).
        seed: everything random is drawn from it.
        config: counts and kinds (default: the full suite).
        pieces: the real recordings to cut (default: :func:`find_sources`).
        reuse: keep a suite already in ``out`` with the same seed, configuration and sources.

    Raises:
        DatasetError: too few recordings installed, or an audio tool is missing.

    Example:
        >>> suite = generate_suite("var/adversarial/7", seed=7, config=SuiteConfig.quick())
        >>> # liner ingest var/adversarial/7/catalog && liner ingest var/adversarial/7/uploads
    """
    cfg = config or SuiteConfig()
    if cfg.min_track_s > cfg.max_track_s:
        raise DatasetError("min_track_s is above max_track_s; swap them")
    root = Path(out)
    found = list(pieces) if pieces is not None else find_sources(min_seconds=cfg.min_track_s)
    plan = plan_suite(seed, cfg, found)
    expected = suite_manifest(plan)
    start = time.perf_counter()
    manifest = _reusable(root, expected) if reuse else None
    if manifest is None:
        root.mkdir(parents=True, exist_ok=True)
        manifest = write_suite(plan, root)
        logger.info("wrote suite of seed %d: %d tracks", seed, manifest["tracks"])
    return Suite(
        root=root,
        folders=(root / "catalog", root / "uploads"),
        truth=root / "truth.csv",
        manifest=manifest,
        seconds=time.perf_counter() - start if manifest is not None else 0.0,
    )


__all__ = ["REPORT_SEED", "TUNE_SEED", "Suite", "generate_suite"]
