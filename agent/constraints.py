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

from agent.ai_rule_model import model_for, refine_level

TRANSLATIONS: tuple[tuple[str, str], ...] = (
    # A few words of the languages the demo sees, onto the English the rules and the (English)
    # text model read. Longer phrases first.
    (
        r"\b(?:künstliche[rn]?\s+intelligenz|inteligencia\s+artificial|intelligence\s+artificielle|"
        r"intelligenza\s+artificiale)\b",
        "AI",
    ),
    (r"\b(?:ki|ia|a1|a\.i)\b", "AI"),
    (r"\b(?:ohne|sin|sans|senza)\b", "without"),
    (r"\bni\b", "nor"),
    (
        r"\b(?:voces|voz|voix|stimmen?|gesang|cantantes?|chanteur(?:s|euses?)?|"
        r"sänger(?:in|innen)?|chant)\b",
        "vocals",
    ),
    (r"\b(?:kein(?:e[nmr]?)?|pas\s+d[e']\s*|nada\s+de)\s*", "no "),
    (
        r"\b(?:hecha?s?|hechos|faite?s?|gemacht|fatta)\s+(?:por|par|von|da)\s+"
        r"(?:des\s+|los\s+|las\s+)?(?:humanos|humains|menschen|personas|gens|umani)\b",
        "made by humans",
    ),
    (
        r"\b(?:echte[n]?\s+musiker(?:n|innen)?|vrais\s+musiciens|músicos\s+(?:reales|de\s+verdad)|"
        r"musiciens\s+(?:réels|humains)|músicos\s+humanos)\b",
        "real musicians",
    ),
    (r"\b(?:moins\s+de|menos\s+de|unter|weniger\s+als)\b", "under"),
    (r"\b(?:plus\s+de|más\s+de|über|mehr\s+als)\b", "over"),
    (
        r"\b(?:lent(?:e|s|es)?|lentas?|lentos?|langsame?[nr]?|ruhige?[nr]?|tranquil[oa]s?|calme)\b",
        "slow",
    ),
    (r"\b(?:schnelle?[nr]?|rápid[oa]s?|rapides?)\b", "fast"),
    (r"\b(?:los|las|les\s+années|die)\s+([1-9]0)(?:er|s)?\b", r"the \g<1>s"),
    (
        r"\b(?:artistas?\s+nuev[oa]s|nuev[oa]s\s+artistas|nouveaux\s+artistes|"
        r"neue[n]?\s+künstler(?:innen)?)\b",
        "new artists",
    ),
)


def normalise(text: str) -> str:
    """``text`` with the few foreign words and spellings the rules know mapped to English."""
    text = re.sub(r"\ba\.i\.?", "AI", text, flags=re.I)  # its dots are not clause ends
    text = re.sub(r"\bno{2,}\b", "no", text, flags=re.I)  # "noooo AI"
    for pattern, english in TRANSLATIONS:
        text = re.sub(pattern, english, text, flags=re.I)
    return text


AI_WORDS = re.compile(
    r"\b(?:a\.?i\.?(?=[\s,.;:!?'\-)]|$)|ai|artificial[\s-]+intelligence|machine[\s-]*(?:made|"
    r"generated|learning|composed|created)|computer[\s-]*(?:made|generated|composed|created)|"
    r"synthetic(?:ally)?|robots?|robotic|bots?|algorithm(?:s|ic|ically)?|generative|gen[\s-]?ai|"
    r"suno|udio|llm|neural|(?<!drum\s)(?<!drum-)machines?|computers?|vocal\s*synth\w*|"
    r"voice\s*synth\w*|vocaloid|auto[\s-]?generated|software|prompts?|prompt[\s-]\w+|"
    r"clon(?:e|ed|es|ing)|deep[\s-]?fakes?|synthesi[sz]ed|virtual\s+(?:singers?|artists?|idols?|"
    r"vocalists?|performers?)|(?:music|song)\s+generators?|(?<=\ba\s)generators?|"
    r"text[\s-]to[\s-](?:music|songs?|audio))\b",
    re.I,
)
GENERATED_WORDS = re.compile(
    r"\b(?:generated|made|created|composed|produced|written|sung|performed)\s+(?:by|with|using)"
    r"\s+(?:an?\s+)?(?:a\.?i\.?|ai|artificial|machines?|computers?|algorithms?|robots?|bots?|"
    r"software|programs?|models?|neural|llms?)\b|"
    r"\b(?:a\.?i\.?|ai|machine|computer|algorithm\w*|bot|robot)[\s-]*(?:generated|made|created|"
    r"composed|written|produced)\b|\bgen[\s-]?ai\b|\b(?:ai|a\.i\.?)\s+gen\b|\bgenerative\b|\bsuno\b|\budio\b|"
    r"\bauto[\s-]?generated\b|\bprompt[\s-]*(?:made|generated|based|written)\b|"
    r"\b(?:music|song)\s+generators?\b|\btext[\s-]to[\s-](?:music|songs?|audio)\b|"
    r"\b(?:a\.?i\.?|ai|computer|machine|bot|robot|algorithm|software|generator|model)s?\s+"
    r"(?:wrote|made|composed|generated|created|produced)\b|"
    r"\bgenerated\s+(?:music|songs?|tracks?|stuff|content|audio|ones|tunes)\b|"
    r"\b(?:fully|entirely|completely)\s+(?:a\.?i\.?|ai)\b",
    re.I,
)
VOCAL_WORDS = re.compile(
    r"\b(?:vocals?|voices?|singers?|singing|vox|vocalists?|sung|rappers?|rapping|rapped|mcs?|"
    r"emcees?|vocaloids?)\b",
    re.I,
)
NEGATION = re.compile(
    r"\b(?:no|not|non|nothing|none|never|without|w/o|zero|exclude[sd]?|excluding|avoid(?:ing)?|"
    r"ain'?t|rather\s+than|instead\s+of|tired\s+of|sick\s+of|done\s+with|enough\s+(?:of|with)|"
    r"nor|neither|can'?t\s+stand|filter(?:ed)?\s+out|cut\s+out|get\s+rid\s+of|ditch|"
    r"skip(?:ping)?|ban(?:ned)?|block(?:ed)?|remove|drop|omit|minus|except|hate|dislike|"
    r"don'?t|do\s+not|doesn'?t|does\s+not|isn'?t|aren'?t|rather\s+not|keep\s+\w+\s+out|"
    r"steer\s+clear|stay\s+away|spare\s+me|free\s+(?:of|from)|nix|no\s+more|less|sans|"
    r"leave\s+(?:\w+\s+)?out|anything\s+but|other\s+than|nah|kill|hold\s+the|"
    r"count\s+me\s+out)\b|"
    r"[\s-]free\b|\banti[\s-]",
    re.I,
)
ALLOWING = re.compile(
    r"\b(?:fine|ok|okay|allowed|acceptable|welcome|alright|all\s+right|good\s+with|"
    r"(?:don'?t|do\s+not)\s+mind|no\s+problem|happy\s+with|love|enjoy|include|can\s+use|"
    r"may\s+use|is\s+good|are\s+good|permitted|tolerable|i'?m\s+open|whatever|"
    r"either\s+way|or\s+not|or\s+humans?|nothing\s+against|no\s+(?:problem|issue)s?\s+with|"
    r"(?:don'?t|do\s+not|not)\s+(?:hate|against|opposed)|not\s+against|anything\s+goes|"
    r"(?:don'?t|do\s+not)\s+care|doesn'?t\s+matter|can\s+(?:master|mix|help)|"
    r"(?:not|never)\s+(?:bothered|fussed)|unbothered|no\s+preference|"
    r"(?:doesn'?t|does\s+not|don'?t|do\s+not|won'?t|will\s+not)\s+(?:bother|bug|trouble)|"
    r"fine\s+by\s+me)\b",
    re.I,
)
PEJORATIVE = re.compile(
    r"\b(?:junk|slop|garbage|crap|trash|rubbish|bullshit|nonsense|fake|cheating|creeps?|sad|"
    r"soulless|hard\s+no|a\s+no|no\s+thanks|nope|pass|deal[\s-]?breakers?|turn[\s-]?offs?|"
    r"no[\s-]go|off[\s-]putting|creepy|gross|cringe|ick)\b",
    re.I,
)
"""Words that, next to an AI mention, say the listener does not want it ("AI slop")."""
REFUSAL = re.compile(
    r"^\s*(?:no|nope|no\s+thanks?|nah|hard\s+no|pass|hard\s+pass|not\s+for\s+me|"
    r"(?:absolutely|definitely|certainly|hell)\s+(?:not|no)|no\s+way|never|not\s+at\s+all)\b",
    re.I,
)
NEGATED_ALLOWING = re.compile(
    r"\b(?:don'?t|do\s+not|not|never|no|isn'?t|aren'?t|without)\s+(?:\w+\s+)?"
    r"(?:include|fine|ok|okay|allowed|acceptable|welcome|love|enjoy|permitted)\b",
    re.I,
)
HEDGE = re.compile(
    r"\b(?:maybe|perhaps|probably|possibly|i\s+think|i\s+guess|i\s+suppose|i\s+reckon|kinda|"
    r"kind\s+of|sort\s+of|sorta|not\s+sure|unsure|idk|if\s+possible|ideally)\b",
    re.I,
)
"""A refusal said with a hedge ("maybe leave out the AI ones?") asks for the lighter rule
(no AI-generated tracks) unless it names its scope."""
WHOLE_SCOPE = re.compile(
    r"\b(?:any|anything|at\s+all|whatsoever|of\s+any\s+kind|in\s+any\s+(?:way|form)|"
    r"involve(?:d|ment)?|not\s+even|zero|absolutely|entirely|completely|totally|touched|"
    r"anywhere|all\s+(?:the\s+)?ai)\b",
    re.I,
)
"""Words that stretch a "no AI" over every kind of involvement ("no AI at all", "not even
AI-assisted", "zero AI whatsoever")."""
BY_CONTRAST = re.compile(
    r"\bby\s+(?:an?\s+)?(?:real\s+|actual\s+)?(?:person|people|humans?|musicians|artists|bands)"
    r"[\s,]*(?:rather\s+than|instead\s+of|and\s+not|not)\s+(?:by\s+)?(?:an?\s+)?"
    r"(?:ai|machines?|computers?|bots?|robots?|algorithms?|software)\b",
    re.I,
)
"""Authorship with its contrast ("by people, not machines"): the "not" is about who made the
track, so it asks for no AI-generated tracks, not for no AI involvement at all."""
POSTPOSED_NEGATION = re.compile(
    r"[\s-]*(?:[\w-]+\s+){0,2}(?:not|nope|never|no)\s*(?:ok(?:ay)?|fine|allowed|good|welcome|"
    r"please|thanks|wanted|pls)?\s*$",
    re.I,
)
"""A negation after the mention at the clause's end ("AI vocals not", "AI vocals not okay")."""
SCOPE_SPLIT = re.compile(
    r"[,;.!?]|(?<!anything\s)(?<!everything\s)(?<!all\s)\b(?:but|though|although|however|while|"
    r"whereas|yet|except\s+that|as\s+long\s+as|"
    r"so\s+long\s+as|provided|and\s+also|plus)\b",
    re.I,
)
HUMAN = re.compile(
    r"\b(?:(?:made|written|performed|played|created|composed|sung|recorded|produced)\s+by\s+"
    r"(?:real\s+)?(?:humans?|people|persons|musicians|artists|bands)|"
    r"human[\s-]*(?:made|created|composed|performed|written|artists?|musicians?|only|beings?|"
    r"creators?|composers?|songwriters?|writers?|"
    r"producers?|performers?|singers?|players?|bands?|stuff|music|songs|tracks|work)|organic\s+(?:musicians|artists|music)|"
    r"(?:made|written|performed|played|created|composed|sung)\s+by\s+(?:an?\s+)?"
    r"(?:real\s+)?(?:person|human(?:\s+being)?)|"
    r"humans?\s+only|only\s+(?:real\s+)?humans?|keep\s+(?:it|this|things)\s+human|"
    r"human\s+artistry|100\s*%\s*human|(?:fully|entirely|purely|all)\s+human\b|real\s+(?:musicians|artists|people|ppl|folks|humans|bands|"
    r"singers|instruments)|flesh[\s-]and[\s-]blood|by\s+(?:real\s+)?(?:humans|people)|"
    r"actual\s+(?:humans|people|"
    r"musicians|artists|bands|singers|persons)|living\s+(?:musicians|artists)|organic(?:ally)?\s+made)\b",
    re.I,
)
ASSISTED = re.compile(
    r"\bassist(?:ed|ance)?\b|\b(?:production|mixing|mastering|master|mix|produce|helped)\b", re.I
)
WANT = re.compile(
    r"\b(?:give\s+me|gimme|play|show\s+me|find\s+me|i\s+want|best|curious|explore|surprise\s+me|"
    r"recommend|cool|great|interesting|happy\s+to)\b",
    re.I,
)
"""A clause that asks for what it mentions ("give me some AI-generated ambient")."""
HUMAN_VOCALS = re.compile(
    r"\b(?:real|human|actual|natural)\s+(?:singers?|vocalists?|voices?|vocals|singing)\b|"
    r"\b(?:singing|vocals?|voices?|singers?|rappers?|vocalists?|mcs?)\s+(?:has|have|must|should|"
    r"needs?)\s+(?:to\s+)?be\s+(?:real|human|an?\s+(?:real\s+)?(?:person|human))\b",
    re.I,
)
TOPIC = re.compile(r"\b(?:about|themed?|called|titled|named|lyrics|mentions?)\b", re.I)
HINT = re.compile(
    r"\b(?:people|persons?|humans?|real|actual|organic|living|handmade|hand|fake|"
    r"clon\w*|deep[\s-]?fakes?|"
    r"machines?|computers?|bots?|robots?|synth|auto\w*|artificial|generated|software|"
    r"models?|prompts?|algorithms?)\b",
    re.I,
)
"""Words that make a clause worth comparing with the AI and authorship examples."""

AI_PROTOTYPES = (
    "no AI music",
    "without artificial intelligence",
    "nothing made by a computer",
    "no machine-made songs",
    "no music composed by algorithms",
    "no robot music",
    "keep AI out of my playlist",
    "no auto-generated songs",
    "nothing a bot made",
    "no fake computer music",
)
HUMAN_PROTOTYPES = (
    "only music made by human beings",
    "songs made by real people",
    "real musicians only",
    "organic musicians",
    "played by real humans",
    "handmade music by people",
)
NEUTRAL_PROTOTYPES = (
    "chill jazz for reading",
    "upbeat indie for a run",
    "songs like my favourite band",
    "something new to discover",
    "slow music to sleep",
    "songs from the eighties",
    "no rap please",
    "no country music",
    "anything but reggaeton",
    "skip that band",
    "a playlist for a dinner party",
    "real bangers only",
    "electronic music with synths",
    "songs about robots and the future",
    "music for people in love",
    "songs that touch the soul",
)
VOICE_PROTOTYPES = (
    "no fake voices",
    "no cloned vocals",
    "no computer generated singing",
    "no synthetic singers",
    "the singer must be a real person",
)
"""Requests that refuse machine-made vocals only."""
WANT_AI_PROTOTYPES = (
    "play some AI generated music",
    "show me songs made by AI",
    "I like AI music",
    "AI is fine with me",
    "I am curious about music made by computers",
)
AVOID_AI_PROTOTYPES = (
    "I do not want AI music",
    "AI music is bad",
    "skip the AI songs",
    "AI music makes me uncomfortable",
    "I'm not sure about AI, leave it out",
)
SEMANTIC_THRESHOLD = 0.55
SEMANTIC_MARGIN = 0.05
"""A clause counts as "no AI" or "human-only" when it is at least this close (cosine,
all-MiniLM-L6-v2) to one of that intent's examples and closer by the margin than to every
neutral example."""


@dataclass(frozen=True, kw_only=True)
class AiIntent:
    """What a request says about AI involvement and human authorship.

    Attributes:
        no_ai_generated: drop fully AI-generated tracks.
        no_ai_any: only tracks labelled ``NONE`` (no AI involvement at all).
        no_ai_vocals: drop tracks whose vocals AI made or helped with (and AI-generated ones).
        human_only: only tracks by human artists with no AI generation.
        allows_assisted: the listener said AI assistance is fine (narrows a "no AI" nearby).
        assumed: AI was mentioned without a clear stance, so AI-generated tracks are left out
            (artist-first: an unclear request leans to excluding them) and the summary says so.
    """

    no_ai_generated: bool = False
    no_ai_any: bool = False
    no_ai_vocals: bool = False
    human_only: bool = False
    allows_assisted: bool = False
    assumed: bool = False


def _level(no_generated: bool, no_any: bool, no_vocals: bool) -> str:
    """The strictest AI rule of a set of flags (a level of :data:`agent.ai_rule_model.LEVELS`)."""
    return "any" if no_any else "vocals" if no_vocals else "generated" if no_generated else "none"


def clauses(text: str) -> list[str]:
    """The request split where a negation's scope ends (punctuation, "but", "though", ...)."""
    return [c.strip() for c in SCOPE_SPLIT.split(text) if c and c.strip()]


def _allows(clause: str) -> bool:
    """ "AI is fine", "I don't mind AI": an allowance, even with a "don't" in it."""
    return bool(ALLOWING.search(clause)) and not NEGATED_ALLOWING.search(clause)


def _negated(clause: str, mention: re.Match[str], following: str = "") -> bool:
    """Whether the AI mention in ``clause`` is refused (and not allowed again): a negation
    before it, "-free"/"out" after it, a pejorative ("AI slop"), or a refusal as the next
    clause ("AI? no thanks")."""
    if _allows(clause):
        return False
    before = clause[: mention.start()]
    after = clause[mention.end() :]
    return bool(
        NEGATION.search(before)
        or re.match(r"[\s-]*(?:free\b|out\b|less\b)", after, re.I)
        or (
            re.search(r"\b(?:keep|leave)\b", before, re.I)
            and re.search(r"\b(?:out|away|off)\b", after, re.I)
        )
        or re.search(r"\b(?:is|are)\s+(?:not\s+)?(?:banned|forbidden|off[\s-]limits)\b", after)
        or re.search(r"\b(?:skip|drop|remove|exclude|ban|avoid)\b", after, re.I)
        or POSTPOSED_NEGATION.match(after)
        or PEJORATIVE.search(clause)
        or REFUSAL.match(following)
    )


def _human_negated(clause: str, mention: re.Match[str]) -> bool:
    """ "no human-only filter needed", "not only human": the authorship ask is negated."""
    before = re.sub(r"\b(?:nothing|anything)\s+but\b", " ", clause[: mention.start()], flags=re.I)
    return bool(
        re.search(r"\bnot\s+(?:only\s+)?human", clause, re.I)
        or (NEGATION.search(before) and not AI_WORDS.search(before))
    )


def _nearest(
    embed: Callable[[Sequence[str]], np.ndarray],
    texts: Sequence[str],
    groups: Sequence[Sequence[str]],
) -> np.ndarray:
    """``len(texts) × len(groups)``: each text's best cosine to each group's examples."""
    flat = [p for g in groups for p in g]
    vectors = embed([*texts, *flat])
    sims = vectors[: len(texts)] @ vectors[len(texts) :].T
    out = np.zeros((len(texts), len(groups)))
    at = 0
    for j, g in enumerate(groups):
        out[:, j] = sims[:, at : at + len(g)].max(axis=1)
        at += len(g)
    return out


def ai_intent(text: str, embed: Callable[[Sequence[str]], np.ndarray] | None = None) -> AiIntent:
    """Parse what ``text`` says about AI and human authorship, clause by clause.

    The lexicon decides where it is clear (a negated AI word, an allowance, a human-authorship
    phrase). ``embed`` (unit-norm sentence vectors) lets the text model decide the rest: a
    clause with no lexicon match but an authorship hint ("stuff real people made") is compared
    with "no AI", "human-only" and neutral examples; a clause that mentions AI with no clear
    stance is compared with "wants AI" and "avoids AI" examples, and unless it clearly wants
    AI, AI-generated tracks are left out (``assumed``). Without ``embed`` such a clause is
    also read as excluding AI-generated tracks, unless it asks for the AI it names.
    """
    no_generated = no_any = no_vocals = human = allows_assisted = assumed = False
    unexplained: list[str] = []
    unclear: list[str] = []
    parts = clauses(normalise(text))
    hedged = bool(HEDGE.search(normalise(text)))
    authorship = bool(BY_CONTRAST.search(normalise(text)))
    for i, clause in enumerate(parts):
        following = parts[i + 1] if i + 1 < len(parts) else ""
        h = HUMAN.search(clause)
        if h and not _human_negated(clause, h):
            if VOCAL_WORDS.search(clause):
                no_vocals = True  # "only humans on the vocals": the vocals, not the whole track
            else:
                human = True
        vocals = HUMAN_VOCALS.search(clause)
        if vocals and not NEGATION.search(clause[: vocals.start()]):
            no_vocals = True
        mention = AI_WORDS.search(clause)
        if mention is None:
            if not (h or vocals):
                unexplained.append(clause)
            continue
        if not _negated(clause, mention, following):
            if TOPIC.search(clause[: mention.start()]):
                continue  # "songs about robots": subject matter, not who made the track
            if _allows(clause) or (_allows(following) and not AI_WORDS.search(following)):
                # "AI is fine", or "AI or human, I don't mind" (the allowance comes next)
                allows_assisted = allows_assisted or bool(ASSISTED.search(clause))
            elif not h:
                unclear.append(clause)
            continue
        if VOCAL_WORDS.search(clause):
            no_vocals = True
        elif (
            GENERATED_WORDS.search(clause)
            or authorship
            or (hedged and not WHOLE_SCOPE.search(clause))
        ):
            no_generated = True
        else:
            no_any = True
    candidates = [
        c for c in unexplained if (NEGATION.search(c) or HINT.search(c)) and len(c.split()) >= 2
    ]
    if embed is not None and candidates:
        groups = (AI_PROTOTYPES, HUMAN_PROTOTYPES, VOICE_PROTOTYPES, NEUTRAL_PROTOTYPES)
        sims = _nearest(embed, candidates, groups)
        for clause, (ai_s, human_s, voice_s, neutral_s) in zip(candidates, sims, strict=True):
            best = max(ai_s, human_s, voice_s)
            if best < SEMANTIC_THRESHOLD or best < neutral_s + SEMANTIC_MARGIN:
                continue
            if voice_s == best:
                # "no vocals" is about instrumentals; a vocals rule needs a word about who or
                # what sings ("fake", "real", "cloned").
                no_vocals = no_vocals or bool(HINT.search(clause) or AI_WORDS.search(clause))
            elif human_s == best:
                human = True
            elif GENERATED_WORDS.search(clause):
                no_generated = True  # "don't include generated music": who made it
            else:
                no_any = True
    if unclear and not (no_any or no_generated or no_vocals or human):
        if embed is not None:
            sims = _nearest(embed, unclear, (WANT_AI_PROTOTYPES, AVOID_AI_PROTOTYPES))
            # The text model alone must be clearly sure the listener wants AI: an unclear
            # mention leans to leaving AI-generated tracks out (artist-first).
            wants = [bool(w >= a + 2 * SEMANTIC_MARGIN) for w, a in sims]
        else:
            wants = [bool(WANT.search(c)) for c in unclear]
        wants = [w or bool(WANT.search(c)) for w, c in zip(wants, unclear, strict=True)]
        if not all(wants):
            no_generated = assumed = True
    if allows_assisted and no_any:
        # "no AI, but AI-assisted production is fine": the "no" was about generation.
        no_any, no_generated = False, True
    if embed is not None and (model := model_for(embed)) is not None:
        # The learned reading of the whole request may make the rule stricter or more
        # precise ("no algorithmically generated music"), never looser than a refusal.
        rule = _level(no_generated or no_any or no_vocals or human, no_any, no_vocals)
        probabilities = model.probabilities(embed([normalise(text).strip()]))[0]
        level = refine_level(rule, probabilities, allows_assisted=allows_assisted)
        if level != rule:
            no_generated = True
            no_any, no_vocals = level == "any", level == "vocals"
    return AiIntent(
        no_ai_generated=no_generated or no_any or no_vocals or human,
        no_ai_any=no_any,
        no_ai_vocals=no_vocals,
        human_only=human,
        allows_assisted=allows_assisted,
        assumed=assumed,
    )


# -- artists the request blocks ---------------------------------------------------------------
ARTIST_CUE = re.compile(
    r"\b(?:no|not|without|nothing|never|ni|nor|skip(?:ping)?|block|ban|avoid(?:ing)?|"
    r"exclude|excluding|except|minus|drop|remove|hate|anything\s+but|everything\s+but|"
    r"all\s+but|other\s+than|apart\s+from|besides|sick\s+of|tired\s+of|done\s+with|"
    r"enough\s+of|leave\s+out|can'?t\s+stand|cannot\s+stand|"
    r"(?:don'?t|do\s+not|never)\s+(?:play|want(?:\s+to\s+hear)?|give\s+me|include|"
    r"need|show\s+me))\s+"
    r"(?:(?:any(?:thing)?|more|even|songs?|tracks?|music|stuff|ones?|the\s+ones?)\s+)*"
    r"(?:(by|from|featuring|feat\.?|ft\.?|with)\s+)?",
    re.I,
)
"""Words after which a name is an artist the listener does not want ("no Drake", "nothing by
X", "anything but X", "skip X", "sick of X"); a captured ``by``/``featuring`` makes it
certain that what follows is an artist."""
KEEP_OUT = re.compile(r"\bkeep\s+(?=\S+(?:\s+\S+){0,3}\s+(?:out|away)\b)", re.I)
""""keep X out of it": the name follows "keep"."""
NAME_TOKEN = re.compile(r"[^\W_][\w'’.&+-]*", re.UNICODE)
NAME_END = re.compile(r"[,;!?:()\[\]\"]|\.(?:\s|$)|\s-\s")
"""Punctuation that ends a name (a dot inside a token, as in "Nova.ai", does not)."""
NAME_STOP = frozenset(
    (
        "please", "pls", "plz", "thanks", "thx", "itself", "himself", "herself", "themselves",
        "from", "out", "away", "in", "on", "for", "just", "only", "anymore", "again", "today",
        "tonight", "s'il", "bitte", "por", "lieber", "because", "since", "then", "give",
        "i'm", "i", "im", "either", "at", "to", "so", "too", "very", "really",
    )
)  # fmt: skip
"""Words that end the words of a name ("no Drake please", "not Slayer itself")."""
_CUE_WORDS = frozenset({"no", "not", "nor", "ni", "without", "nothing", "never"})
NOT_NAMES = frozenset(
    (
        "i", "i'm", "im", "me", "my", "you", "your", "it", "this", "that", "these", "those", "the",
        "a", "an", "any", "anything", "more", "please", "thanks", "just", "only", "even", "one",
        "ones", "songs", "song", "tracks", "track", "music", "stuff", "vocals", "vocal", "voices",
        "human", "humans", "people", "real", "sure", "way", "whatever", "all", "none", "everything",
        "something", "nothing", "anyone", "anybody", "too", "very", "so",
    )
)  # fmt: skip
"""Capitalised words that are not artist names on their own."""


@dataclass(frozen=True)
class ArtistMention:
    """The words after an exclusion cue that may name an artist.

    Attributes:
        words: up to six words, ending at punctuation or a word like "please".
        certain: the cue said "by" / "featuring", so an artist is meant.
    """

    words: tuple[str, ...]
    certain: bool


def artist_mentions(text: str) -> list[ArtistMention]:
    """The places in ``text`` where the listener may exclude an artist by name, in order
    (resolved against the catalog by :func:`agent.request.parse_request`; words that are
    AI, authorship or vocals terms never count as names)."""
    text = normalise(text)
    out: list[ArtistMention] = []
    starts = [(m.end(), bool(m.group(1))) for m in ARTIST_CUE.finditer(text)]
    starts += [(m.end(), False) for m in KEEP_OUT.finditer(text)]
    for start, certain in sorted(starts):
        end = NAME_END.search(text, start)
        span = text[start : end.start() if end else len(text)]
        words: list[str] = []
        for tok in NAME_TOKEN.findall(span):
            if tok.casefold() in NAME_STOP or len(words) == 6 or tok.casefold() in _CUE_WORDS:
                break
            words.append(tok.rstrip(".'’"))
        words = [w for w in words if w]
        if words and not _rule_words(words[0]):
            out.append(ArtistMention(words=tuple(words), certain=certain))
    return out


def _rule_words(word: str) -> bool:
    """AI, authorship and vocals terms: rules, never artist names."""
    return bool(AI_WORDS.match(word) or VOCAL_WORDS.match(word) or HUMAN.match(word))


def name_like(words: Sequence[str]) -> bool:
    """Whether words read as a proper name: each capitalised (or a digit, or a joining
    "and"/"&"/"of"/"the" inside), not a function word alone, no AI or vocals term."""
    if not words or any(_rule_words(w) for w in words):
        return False
    if len(words) == 1 and words[0].casefold() in NOT_NAMES:
        return False
    joins = {"and", "&", "of", "the", "y", "et", "und", "x"}
    return (words[0][:1].isupper() or words[0][:1].isdigit()) and all(
        w[:1].isupper() or w[:1].isdigit() or (0 < i < len(words) - 1 and w.casefold() in joins)
        for i, w in enumerate(words)
    )


NUMBER = r"\b(\d{2,3}(?:\.\d+)?)(?:\s*-?\s*ish)?"
DASH = r"\s*(?:-|–|—|to|and|~)\s*"
_BPM = r"\s*(?:bpm|beats(?:\s+per\s+minute)?|b\.p\.m\.?)"
_UNIT = rf"(?:{_BPM}|(?!\s*(?:%|k\b|s\b|'s|min|minutes|songs|tracks|year)))"
"""After a word that can only be about tempo ("faster than 95", "tempo under 110"), the unit
is optional."""
TEMPO_RANGE = re.compile(rf"(?:between\s+|from\s+)?{NUMBER}{DASH}{NUMBER}{_BPM}", re.I)
TEMPO_WORD_RANGE = re.compile(
    rf"\b(?:tempo|bpm|pace)\s+(?:of\s+|at\s+|is\s+)?(?:between\s+|from\s+)?{NUMBER}{DASH}{NUMBER}\b",
    re.I,
)
TEMPO_MAX = re.compile(
    rf"(?:≤|<=?|under|below|at\s+most|max(?:imum)?|no\s+(?:faster|more|higher|quicker)\s+than|"
    rf"not\s+(?:faster|more|higher)\s+than|slower\s+than|up\s+to|less\s+than|lower\s+than|"
    rf"tops|sub[\s-]?)\s*(?:of\s+)?{NUMBER}{_BPM}|{NUMBER}{_BPM}\s+(?:or\s+(?:less|slower|lower|below|under)|"
    rf"max(?:imum)?|at\s+most|tops)|"
    rf"(?:(?:no|not)\s+(?:faster|quicker)\s+than|slower\s+than|"
    rf"tempo\s+(?:under|below|of\s+at\s+most|up\s+to|less\s+than))\s*{NUMBER}{_UNIT}",
    re.I,
)
TEMPO_MIN = re.compile(
    rf"(?:≥|>=?|over|above|at\s+least|min(?:imum)?|no\s+(?:slower|less|lower)\s+than|"
    rf"faster\s+than|more\s+than|higher\s+than|upwards\s+of)\s*(?:of\s+)?{NUMBER}{_BPM}|"
    rf"{NUMBER}\s*\+{_BPM}|"
    rf"{NUMBER}{_BPM}\s+(?:or\s+(?:more|faster|higher|above|over)|min(?:imum)?|at\s+least|"
    rf"and\s+(?:up|above|over))|"
    rf"(?:(?:no|not)\s+slower\s+than|faster\s+than|"
    rf"tempo\s+(?:over|above|of\s+at\s+least|more\s+than))\s*{NUMBER}{_UNIT}",
    re.I,
)
TEMPO_POINT = re.compile(rf"(?:around|about|roughly|near|~|at)?\s*{NUMBER}{_BPM}", re.I)
TEMPO_WORD_POINT = re.compile(
    rf"\b(?:tempo|pace)\s+(?:of\s+|at\s+|is\s+)?(?:around\s+|about\s+|~\s*)?{NUMBER}\b|"
    rf"\b(?:slow|fast|quick|upbeat|chill),?\s+(?:around|about|roughly|~)\s*{NUMBER}\b",
    re.I,
)


def _first_group(m: re.Match[str]) -> float:
    return float(next(g for g in m.groups() if g is not None))


def tempo_range(text: str) -> tuple[float | None, float | None] | None:
    """Tempo bounds written as numbers ("≤ 105 BPM", "60–80 BPM", "at least 120 bpm",
    "no faster than 95", "tempo between 60 and 80", "around 90 bpm" = ±10), or None when the
    text gives no tempo figure."""
    text = normalise(text)
    for pattern in (TEMPO_RANGE, TEMPO_WORD_RANGE):
        if m := pattern.search(text):
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
        hi = _first_group(upper)
    if lower:
        lo = _first_group(lower)
    if lo is not None or hi is not None:
        return lo, hi
    if m := TEMPO_POINT.search(text) or TEMPO_WORD_POINT.search(text):
        bpm = _first_group(m)
        return bpm - 10, bpm + 10
    return None


__all__ = [
    "AI_PROTOTYPES",
    "HUMAN_PROTOTYPES",
    "NEUTRAL_PROTOTYPES",
    "VOICE_PROTOTYPES",
    "AiIntent",
    "ArtistMention",
    "ai_intent",
    "artist_mentions",
    "clauses",
    "name_like",
    "normalise",
    "tempo_range",
]
