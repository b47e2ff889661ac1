"""The request parser on hand-written paraphrases it was not written from
(``data/heldout_paraphrases.jsonl``: slang, typos, indirect and foreign phrasings, negation
traps, tempo in words), read with the project's text model. The parser was tuned on the
``tune`` rows only; the ``heldout`` rows must reach 0.95 per constraint kind, and no request
that refuses AI may let an AI-generated track through."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from agent.request import VocabularyMatcher, parse_request
from tests.agent.fakes import FakeBackend
from tests.agent.paraphrase_scoring import DATA_DIR, KINDS, accuracy, load

DATA = DATA_DIR / "heldout_paraphrases.jsonl"


FLOOR = dict.fromkeys(KINDS, 0.95)
"""Target 0.95 per kind. These rows' misses were read while the parser was changed (stop 28),
so they guard against regressions; the honest figure on unseen wording is the later batches'
(benchmarks/README.md)."""


class _ModelBackend(FakeBackend):
    """The test catalog with all-MiniLM-L6-v2 sentence vectors and no tag vocabulary (tags
    are not scored here; matching every phrase against tags would only cost time)."""

    def __init__(self) -> None:
        super().__init__()
        from recsys.embeddings.text import embed_texts, load_text_model
        from recsys.settings import default_text_model

        self._model = load_text_model(default_text_model())
        self._embed_texts = embed_texts
        self._cache: dict[str, np.ndarray] = {}

    def tag_vocabulary(self) -> Sequence[str]:
        return []

    def embed_terms(self, terms: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(terms) if t not in self._cache]
        if missing:
            self._cache.update(zip(missing, self._embed_texts(missing, self._model), strict=True))
        return np.stack([self._cache[t] for t in terms])


@pytest.fixture(scope="module")
def matcher() -> VocabularyMatcher:
    return VocabularyMatcher(_ModelBackend())


@pytest.fixture(scope="module")
def heldout_scores(
    matcher: VocabularyMatcher,
) -> tuple[dict[str, float], list[tuple[str, str, object, object]]]:
    return accuracy(load(DATA, "heldout"), matcher)


def test_the_set_is_split_and_labelled() -> None:
    rows = load(DATA)
    assert len(rows) >= 150
    assert {r["split"] for r in rows} == {"tune", "heldout"}
    assert len(load(DATA, "heldout")) >= 90


@pytest.mark.parametrize("kind", list(KINDS))
def test_accuracy_per_kind_on_heldout_phrasing(
    kind: str, heldout_scores: tuple[dict[str, float], list[tuple[str, str, object, object]]]
) -> None:
    scores, misses = heldout_scores
    assert scores[kind] >= FLOOR[kind], [m for m in misses if m[0] == kind]


def test_the_score_can_fail(matcher: VocabularyMatcher) -> None:
    """Labels flipped: the same scoring reports the parser as wrong."""
    rows = [
        {**r, "expect": {**r["expect"], "no_ai_generated": not r["expect"]["no_ai_generated"]}}
        for r in load(DATA, "tune")[:20]
    ]
    assert accuracy(rows, matcher)[0]["no_ai_generated"] < 0.5


@pytest.mark.parametrize(
    "text",
    [
        "AI? no thanks",
        "honestly AI-made music makes me sad",
        "keep the robots out",
        "sin IA, por favor",
        "nothing a computer wrote",
        "hmm, not sure about the AI stuff",
    ],
)
def test_refusals_and_unclear_mentions_exclude_ai_generated(
    text: str, matcher: VocabularyMatcher
) -> None:
    assert parse_request(text, matcher).no_ai_generated, text


@pytest.mark.parametrize(
    "text",
    ["I don't mind AI", "not against AI-assisted tracks", "give me some AI generated ambient"],
)
def test_allowances_are_not_read_as_refusals(text: str, matcher: VocabularyMatcher) -> None:
    assert not parse_request(text, matcher).no_ai_generated, text


def test_an_unclear_mention_says_so_in_the_summary(matcher: VocabularyMatcher) -> None:
    c = parse_request("eh, the AI stuff", matcher)
    assert c.ai_assumed and any("unclear" in d for d in c.describe())


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("heldout2_paraphrases", "heldout"),
        ("heldout3_paraphrases", "heldout"),
        ("heldout4_paraphrases", "heldout"),
        ("tune5_paraphrases", "tune"),
        ("tune6_paraphrases", "tune"),
    ],
)
def test_later_batches_hold_every_kind(name: str, split: str, matcher: VocabularyMatcher) -> None:
    """The later hand-written batches (blocked artists, scope, cloned voices, ways to refuse
    AI): each kind at 0.95 or better (which AI rule: 0.90 on the fourth, whose "any" vs
    "generated" labels are the closest calls), and no refusal of AI lets an AI-generated track
    through. All of them are training data of the learned AI-rule reading now
    (agent/ai_rule_model.py): these are regression guards, not held-out figures."""
    rows = load(DATA_DIR / f"{name}.jsonl", split)
    scores, misses = accuracy(rows, matcher)
    floor = FLOOR | ({"ai_level": 0.90} if name == "heldout4_paraphrases" else {})
    assert all(v >= floor[k] for k, v in scores.items()), misses
    refusing = [r for r in rows if r["expect"]["no_ai_generated"]]
    missed = [r["text"] for r in refusing if not parse_request(r["text"], matcher).no_ai_generated]
    assert not missed


HELDOUT5_FLOOR = FLOOR | {"emerging": 0.97}
"""The fifth batch (87 requests) was written before the parser change it scores and its misses
were never printed while changing it (nor in the next stop, which tuned on batches 6 and 7):
which AI rule 0.885 -> 0.931 -> 0.966, "is an AI-generated track allowed" 0.977 -> 1.0;
"emerging" stays at 0.977: the floors guard the measured values."""


def test_the_fifth_batch_holds_its_measured_figures(matcher: VocabularyMatcher) -> None:
    rows = load(DATA_DIR / "heldout5_paraphrases.jsonl", "heldout")
    scores, _ = accuracy(rows, matcher)
    low = {k: v for k, v in scores.items() if v < HELDOUT5_FLOOR[k]}
    assert not low  # the misses are not printed: this batch is not tuned on


class _DemoVocabularyBackend(_ModelBackend):
    """The same text model with the demo world's genres and tags, which batches 6-8 label
    genre/mood and exclusions in."""

    def __init__(self) -> None:
        super().__init__()
        from tests.agent.paraphrase_scoring import demo_vocabulary

        self._genres, self._tags = demo_vocabulary()

    def genre_vocabulary(self) -> Sequence[str]:
        return self._genres

    def tag_vocabulary(self) -> Sequence[str]:
        return self._tags


def _core(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Rows without their genre/mood and exclusion labels (scored on batch 8 only)."""
    return [
        {**r, "expect": {k: v for k, v in r["expect"].items() if k not in ("want", "avoid")}}  # type: ignore[attr-defined]
        for r in rows
    ]


@pytest.mark.parametrize("name", ["heldout6_paraphrases", "heldout7_paraphrases"])
def test_batches_six_and_seven_hold_every_kind(name: str, matcher: VocabularyMatcher) -> None:
    """Batches 6 and 7 were each scored once unseen (benchmarks/README.md) and then tuned on,
    and are training data of the learned AI-rule reading: regression guards at 0.95, and no
    refusal of AI in them lets an AI-generated track through."""
    rows = load(DATA_DIR / f"{name}.jsonl", "heldout")
    scores, misses = accuracy(_core(rows), matcher)
    assert all(v >= FLOOR[k] for k, v in scores.items()), misses
    refusing = [r["text"] for r in rows if r["expect"]["no_ai_generated"]]
    assert not [t for t in refusing if not parse_request(t, matcher).no_ai_generated]


HELDOUT8_FLOOR = dict.fromkeys([*KINDS, "genre_mood", "exclusions"], 0.95)
"""Batch 8 (86 requests) was written before batch 7's misses were read and scored once after
that stop's last change, its misses never printed: every kind at 0.95 or better (which AI rule
0.965, AI-generated allowed 0.988) except exclusions (0.942); after batch 9's exclusion fixes
(its misses still unprinted) exclusions 0.977, era, blocked and genre/mood 0.988."""


def test_the_eighth_batch_holds_its_measured_figures() -> None:
    demo = VocabularyMatcher(_DemoVocabularyBackend())
    rows = load(DATA_DIR / "heldout8_paraphrases.jsonl", "heldout")
    scores, _ = accuracy(rows, demo)
    assert not {k: v for k, v in scores.items() if v < HELDOUT8_FLOOR[k]}  # misses unprinted
    refusing = [r["text"] for r in rows if r["expect"]["no_ai_generated"]]
    assert len(refusing) >= 40
    let_through = [t for t in refusing if not parse_request(t, demo).no_ai_generated]
    assert not let_through, len(let_through)  # a count, not the texts: the batch stays unseen


def test_the_ninth_batch_holds_every_kind() -> None:
    """Batch 9 (140: exclusions phrased many ways, look-alikes, long requests) was scored once
    unseen (exclusions 0.636, genre/mood 0.721, blocked and tempo 0.929) and then tuned on: a
    regression guard at 0.95 per kind, and no refusal of AI in it lets an AI-generated track
    through."""
    demo = VocabularyMatcher(_DemoVocabularyBackend())
    rows = load(DATA_DIR / "heldout9_paraphrases.jsonl", "heldout")
    scores, misses = accuracy(rows, demo)
    assert all(v >= 0.95 for v in scores.values()), misses
    refusing = [r["text"] for r in rows if r["expect"]["no_ai_generated"]]
    assert not [t for t in refusing if not parse_request(t, demo).no_ai_generated]


HELDOUT10_FLOOR = dict.fromkeys([*KINDS, "genre_mood", "exclusions"], 0.95) | {
    "genre_mood": 0.87,
    "exclusions": 0.76,
}
"""Batch 10 (89) was written after batch 9's fixes and scored once, its misses never printed:
every kind at 0.95 or better but genre/mood (0.876) and exclusions (0.764, exclusion cues the
lexicon does not hold); 0.910 and 0.787 with the learned exclusion reading added after. The
floors guard the measured values."""
HELDOUT11_FLOOR = dict.fromkeys([*KINDS, "genre_mood", "exclusions"], 0.95) | {
    "blocked": 0.93,
    "genre_mood": 0.80,
    "exclusions": 0.77,
}
"""Batch 11 (62) was written after the learned exclusion reading and scored once, its misses
never printed: blocked 0.935, genre/mood 0.806, exclusions 0.774, every other kind >= 0.95."""
HELDOUT12_FLOOR = dict.fromkeys([*KINDS, "genre_mood", "exclusions", "excluded_years"], 0.95) | {
    "blocked": 0.93,
    "exclusions": 0.93,
}
"""Batch 12 (128, with refused years) was committed before the 2026-12-08 changes and scored
once after them (no_ai_generated and ai_level 0.984, blocked 0.938, exclusions 0.906, the rest
0.977-1.0); its misses were then read and fixed: every kind 1.0 but blocked and exclusions
0.938 (lowercase names the catalog lacks) and genre/mood 0.992. A regression guard."""


@pytest.mark.parametrize(
    ("name", "floor", "refusals"),
    [
        ("heldout10_paraphrases", HELDOUT10_FLOOR, 15),
        ("heldout11_paraphrases", HELDOUT11_FLOOR, 7),
        ("heldout12_paraphrases", HELDOUT12_FLOOR, 27),
    ],
)
def test_the_unseen_batches_hold_their_measured_figures(
    name: str, floor: dict[str, float], refusals: int
) -> None:
    demo = VocabularyMatcher(_DemoVocabularyBackend())
    rows = load(DATA_DIR / f"{name}.jsonl", "heldout")
    scores, _ = accuracy(rows, demo)
    assert not {k: v for k, v in scores.items() if v < floor[k]}  # misses unprinted
    refusing = [r["text"] for r in rows if r["expect"]["no_ai_generated"]]
    assert len(refusing) >= refusals
    let_through = [t for t in refusing if not parse_request(t, demo).no_ai_generated]
    assert not let_through, len(let_through)  # a count, not the texts: the batch stays unseen
