"""The hard constraints in a request's words: AI involvement, human-only, tempo and era.

These decide what a listener may be shown, so they are parsed clause by clause with the
scope of each negation ("no AI vocals but AI-assisted production is fine" forbids AI vocals
and allows AI-assisted production), and the clauses that name no AI concept in the lexicon
are compared with example requests by the catalog's text model, which recognises
paraphrases no word list anticipates ("nothing a computer composed").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

AI_WORDS = re.compile(
    r"\b(?:a\.?i\.?(?=[\s,.;:!?'\-)]|$)|ai|artificial[\s-]+intelligence|machine[\s-]*(?:made|"
    r"generated|learning|composed|created)|computer[\s-]*(?:made|generated|composed|created)|"
    r"synthetic(?:ally)?|robots?|robotic|bots?|algorithm(?:s|ic|ically)?|generative|gen[\s-]?ai|"
    r"suno|udio|llm|neural|(?<!drum\s)(?<!drum-)machines?|computers?)\b",
    re.I,
)
GENERATED_WORDS = re.compile(
    r"\b(?:generated|made|created|composed|produced|written|sung|performed)\s+(?:by|with|using)"
    r"\s+(?:an?\s+)?(?:a\.?i\.?|ai|artificial|machines?|computers?|algorithms?|robots?|bots?)\b|"
    r"\b(?:a\.?i\.?|ai|machine|computer)[\s-]*(?:generated|made|created|composed)\b|"
    r"\b(?:fully|entirely|completely)\s+(?:a\.?i\.?|ai)\b",
    re.I,
)
VOCAL_WORDS = re.compile(r"\b(?:vocals?|voices?|singers?|singing|vox|vocalists?|sung)\b", re.I)
NEGATION = re.compile(
    r"\b(?:no|not|non|nothing|none|never|without|w/o|zero|exclude[sd]?|excluding|avoid(?:ing)?|"
    r"skip(?:ping)?|ban(?:ned)?|block(?:ed)?|remove|drop|omit|minus|except|hate|dislike|"
    r"don'?t|do\s+not|doesn'?t|does\s+not|isn'?t|aren'?t|rather\s+not|keep\s+\w+\s+out|"
    r"steer\s+clear|stay\s+away|spare\s+me|free\s+(?:of|from)|nix|no\s+more|less|sans|"
    r"leave\s+(?:\w+\s+)?out|anything\s+but|other\s+than)\b|"
    r"[\s-]free\b|\banti[\s-]",
    re.I,
)
ALLOWING = re.compile(
    r"\b(?:fine|ok|okay|allowed|acceptable|welcome|alright|all\s+right|good\s+with|"
    r"(?:don'?t|do\s+not)\s+mind|no\s+problem|happy\s+with|love|enjoy|include|can\s+use|"
    r"may\s+use|is\s+good|are\s+good|permitted|tolerable|i'?m\s+open|whatever|"
    r"either\s+way|or\s+not)\b",
    re.I,
)
NEGATED_ALLOWING = re.compile(
    r"\b(?:don'?t|do\s+not|not|never|no|isn'?t|aren'?t|without)\s+(?:\w+\s+)?"
    r"(?:include|fine|ok|okay|allowed|acceptable|welcome|love|enjoy|permitted)\b",
    re.I,
)
SCOPE_SPLIT = re.compile(
    r"[,;.!?]|(?<!anything\s)(?<!everything\s)(?<!all\s)\b(?:but|though|although|however|while|"
    r"whereas|yet|except\s+that|as\s+long\s+as|"
    r"so\s+long\s+as|provided|and\s+also|plus)\b",
    re.I,
)
HUMAN = re.compile(
    r"\b(?:(?:made|written|performed|played|created|composed|sung|recorded|produced)\s+by\s+"
    r"(?:real\s+)?(?:humans?|people|persons|musicians|artists|bands)|"
    r"human[\s-]*(?:made|created|composed|performed|written|artists?|musicians?|only|beings?)|"
    r"humans?\s+only|only\s+(?:real\s+)?humans?|real\s+(?:musicians|artists|people|humans|bands|"
    r"singers|instruments)|flesh[\s-]and[\s-]blood|by\s+(?:real\s+)?(?:humans|people)|"
    r"actual\s+(?:humans|people|"
    r"musicians|artists)|living\s+(?:musicians|artists)|organic(?:ally)?\s+made)\b",
    re.I,
)
ASSISTED = re.compile(r"\bassist(?:ed|ance)?\b|\b(?:production|mixing|mastering)\b", re.I)

AI_PROTOTYPES = (
    "no AI music",
    "without artificial intelligence",
    "nothing made by a computer",
    "no machine-made songs",
    "no music composed by algorithms",
    "only music made by human beings",
    "no robot music",
    "keep AI out of my playlist",
)
NEUTRAL_PROTOTYPES = (
    "chill jazz for reading",
    "upbeat indie for a run",
    "songs like my favourite band",
    "something new to discover",
    "slow music to sleep",
    "songs from the eighties",
    "no rap please",
    "a playlist for a dinner party",
)
SEMANTIC_THRESHOLD = 0.62
"""A clause counts as "no AI" when it is at least this close to an example and closer to the
"no AI" examples than to the neutral ones (cosine, all-MiniLM-L6-v2)."""


@dataclass(frozen=True, kw_only=True)
class AiIntent:
    """What a request says about AI involvement and human authorship.

    Attributes:
        no_ai_generated: drop fully AI-generated tracks.
        no_ai_any: only tracks labelled ``NONE`` (no AI involvement at all).
        no_ai_vocals: drop tracks whose vocals AI made or helped with (and AI-generated ones).
        human_only: only tracks by human artists with no AI generation.
        allows_assisted: the listener said AI assistance is fine (narrows a "no AI" nearby).
    """

    no_ai_generated: bool = False
    no_ai_any: bool = False
    no_ai_vocals: bool = False
    human_only: bool = False
    allows_assisted: bool = False


def clauses(text: str) -> list[str]:
    """The request split where a negation's scope ends (punctuation, "but", "though", ...)."""
    return [c.strip() for c in SCOPE_SPLIT.split(text) if c and c.strip()]


def _negated(clause: str, mention: re.Match[str]) -> bool:
    """Whether the AI mention in ``clause`` is negated (and not allowed again)."""
    if ALLOWING.search(clause) and not NEGATED_ALLOWING.search(clause):
        # "AI is fine", "I don't mind AI": an allowance, even with a "don't" in it.
        return False
    before = clause[: mention.start()]
    after = clause[mention.end() :]
    return bool(
        NEGATION.search(before)
        or re.match(r"[\s-]*(?:free\b|out\b)", after, re.I)
        or (re.search(r"\bkeep\b", before, re.I) and re.search(r"\bout\b", after, re.I))
        or re.search(r"\b(?:is|are)\s+(?:not\s+)?(?:banned|forbidden|off[\s-]limits)\b", after)
    )


def ai_intent(text: str, embed: Callable[[Sequence[str]], np.ndarray] | None = None) -> AiIntent:
    """Parse what ``text`` says about AI and human authorship, clause by clause.

    ``embed`` (unit-norm sentence vectors) lets clauses that name no AI concept in the
    lexicon be recognised by meaning; without it only the lexicon is used.
    """
    no_generated = no_any = no_vocals = human = allows_assisted = False
    unexplained: list[str] = []
    text = re.sub(r"\ba\.i\.?", "AI", text, flags=re.I)  # its dots are not clause ends
    for clause in clauses(text):
        if HUMAN.search(clause) and not re.search(r"\bnot\s+(?:only\s+)?human", clause, re.I):
            human = True
        mention = AI_WORDS.search(clause)
        if mention is None:
            unexplained.append(clause)
            continue
        if not _negated(clause, mention):
            if ASSISTED.search(clause) or ALLOWING.search(clause):
                allows_assisted = allows_assisted or bool(ASSISTED.search(clause))
            continue
        if VOCAL_WORDS.search(clause):
            no_vocals = True
        elif GENERATED_WORDS.search(clause):
            no_generated = True
        else:
            no_any = True
    mentioned = any(AI_WORDS.search(c) for c in clauses(text))
    # The meaning check only looks at negated clauses of a request that names no AI concept
    # in the lexicon ("nothing a computer composed"), so "music" is never read as "no AI".
    unexplained = [c for c in unexplained if NEGATION.search(c) and len(c.split()) >= 2]
    if embed is not None and unexplained and not (mentioned or human):
        vectors = embed([*unexplained, *AI_PROTOTYPES, *NEUTRAL_PROTOTYPES])
        n = len(unexplained)
        sims = vectors[:n] @ vectors[n:].T
        ai_best = sims[:, : len(AI_PROTOTYPES)].max(axis=1)
        neutral_best = sims[:, len(AI_PROTOTYPES) :].max(axis=1)
        if bool(np.any((ai_best >= SEMANTIC_THRESHOLD) & (ai_best > neutral_best))):
            no_any = True
    if allows_assisted and no_any:
        # "no AI, but AI-assisted production is fine": the "no" was about generation.
        no_any, no_generated = False, True
    return AiIntent(
        no_ai_generated=no_generated or no_any or no_vocals or human,
        no_ai_any=no_any,
        no_ai_vocals=no_vocals,
        human_only=human,
        allows_assisted=allows_assisted,
    )


NUMBER = r"(\d{2,3}(?:\.\d+)?)"
DASH = r"\s*(?:-|–|—|to|and|~)\s*"
_BPM = r"\s*(?:bpm|beats(?:\s+per\s+minute)?|b\.p\.m\.?)"
TEMPO_RANGE = re.compile(rf"(?:between\s+|from\s+)?{NUMBER}{DASH}{NUMBER}{_BPM}", re.I)
TEMPO_MAX = re.compile(
    rf"(?:≤|<=?|under|below|at\s+most|max(?:imum)?|no\s+(?:faster|more|higher|quicker)\s+than|"
    rf"not\s+(?:faster|more|higher)\s+than|slower\s+than|up\s+to|less\s+than|lower\s+than|"
    rf"tops)\s*(?:of\s+)?{NUMBER}{_BPM}|{NUMBER}{_BPM}\s+(?:or\s+(?:less|slower|lower|below|under)|"
    rf"max(?:imum)?|at\s+most|tops)",
    re.I,
)
TEMPO_MIN = re.compile(
    rf"(?:≥|>=?|over|above|at\s+least|min(?:imum)?|no\s+(?:slower|less|lower)\s+than|"
    rf"faster\s+than|more\s+than|higher\s+than|upwards\s+of)\s*(?:of\s+)?{NUMBER}{_BPM}|"
    rf"{NUMBER}{_BPM}\s+(?:or\s+(?:more|faster|higher|above|over)|min(?:imum)?|at\s+least|"
    rf"and\s+(?:up|above|over))",
    re.I,
)
TEMPO_POINT = re.compile(rf"(?:around|about|roughly|near|~|at)?\s*{NUMBER}{_BPM}", re.I)


def tempo_range(text: str) -> tuple[float | None, float | None] | None:
    """Tempo bounds written as numbers ("≤ 105 BPM", "60–80 BPM", "at least 120 bpm",
    "around 90 bpm" = ±10), or None when the text gives no BPM figure."""
    if m := TEMPO_RANGE.search(text):
        low, high = sorted((float(m.group(1)), float(m.group(2))))
        return low, high
    lo: float | None = None
    hi: float | None = None
    upper, lower = TEMPO_MAX.search(text), TEMPO_MIN.search(text)
    if upper and lower and upper.start() < lower.end() and lower.start() < upper.end():
        # "no faster than 100 bpm" holds "faster than 100 bpm": the longer reading wins.
        if len(upper.group(0)) >= len(lower.group(0)):
            lower = None
        else:
            upper = None
    if upper:
        hi = float(upper.group(1) or upper.group(2))
    if lower:
        lo = float(lower.group(1) or lower.group(2))
    if lo is not None or hi is not None:
        return lo, hi
    if m := TEMPO_POINT.search(text):
        bpm = float(m.group(1))
        return bpm - 10, bpm + 10
    return None


__all__ = [
    "AI_PROTOTYPES",
    "NEUTRAL_PROTOTYPES",
    "AiIntent",
    "ai_intent",
    "clauses",
    "tempo_range",
]
