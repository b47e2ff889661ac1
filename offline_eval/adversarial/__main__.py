"""``python -m offline_eval.adversarial OUT [--seed N] [--quick]``: write a suite.

Then ``liner ingest OUT/catalog``, ``liner ingest OUT/uploads`` and
``liner report integrity --truth OUT/truth.csv`` score the screens on it (or run
``python -m benchmarks.integrity``, which does all of it in a temporary store).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from offline_eval.adversarial.config import SuiteConfig
from offline_eval.adversarial.suite import REPORT_SEED, generate_suite
from offline_eval.errors import EvalError


def main(argv: list[str] | None = None) -> int:
    """Write the suite; print its manifest (seed, counts per attack kind) as JSON."""
    p = argparse.ArgumentParser(prog="python -m offline_eval.adversarial", description=__doc__)
    p.add_argument("out", type=Path, help="suite folder (created)")
    p.add_argument(
        "--seed", type=int, default=REPORT_SEED, help="tune on one seed, report on another"
    )
    p.add_argument("--quick", action="store_true", help="a small suite (about a hundred clips)")
    p.add_argument("--force", action="store_true", help="regenerate even if the suite is there")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = SuiteConfig.quick() if args.quick else SuiteConfig()
    try:
        suite = generate_suite(args.out, seed=args.seed, config=config, reuse=not args.force)
    except EvalError as exc:
        p.exit(2, f"error: {exc}\n")
    print(json.dumps(suite.manifest, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
