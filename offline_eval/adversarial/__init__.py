"""Adversarial upload suites on real recordings, to score the integrity screens.

Independent of the demo world (nothing here imports ``recsys.demo``), so the screens are
never scored on the generator they were developed against. See :func:`generate_suite`.

Example:
    >>> from offline_eval.adversarial import SuiteConfig, generate_suite
    >>> suite = generate_suite("var/adv", seed=2, config=SuiteConfig.quick())  # doctest: +SKIP
"""

from offline_eval.adversarial.config import SuiteConfig
from offline_eval.adversarial.confusables import CONFUSABLE_KINDS, DECORATIONS
from offline_eval.adversarial.edits import EDIT_KINDS, Edit
from offline_eval.adversarial.sources import DEBIAN_PACKAGES, SourcePiece, find_sources
from offline_eval.adversarial.suite import REPORT_SEED, TUNE_SEED, Suite, generate_suite
from offline_eval.adversarial.writer import TRUTH_COLUMNS

__all__ = [
    "CONFUSABLE_KINDS",
    "DEBIAN_PACKAGES",
    "DECORATIONS",
    "EDIT_KINDS",
    "REPORT_SEED",
    "TRUTH_COLUMNS",
    "TUNE_SEED",
    "Edit",
    "SourcePiece",
    "Suite",
    "SuiteConfig",
    "find_sources",
    "generate_suite",
]
