"""Where a request excludes something, and what: the cue ("skip", "anything but", "not in the
mood for", "X-free", "keep X out", "X is off the table"), its scope up to the clause's end, and
the items of a list in that scope ("without jazz or classical", "not pop, rock or rap").

Each item is read as a catalog tag it names word for word, a phrase kept as said (matched
to a tag by :func:`agent.request.parse_request`), a tempo rule ("nothing upbeat"), an era
("nothing before 2000") or an AI/authorship rule (left to :mod:`agent.constraints`); artists'
names are taken out before (:func:`agent.request.blocked_artists`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

AVERSION_CUES = (
    r"(?:had\s+it|had\s+(?:more\s+than\s+)?enough|been\s+burn(?:ed|t)\s+out)\s+(?:with|of|on)|"
    r"(?:i'?m|i\s+am|we'?re|we\s+are)\s+(?:good|set|all\s+set|fine)\s+(?:on|for|without)|"
    r"hold\s+off\s+on|pass\s+on|give\s+(?:it\s+)?a\s+miss\s+on|(?:could|can)\s+(?:do|live)\s+without|"
    r"(?:no|zero|little|not\s+much)\s+(?:interest|appetite|patience)\s+(?:in|for)|"
    r"not\s+interested\s+in|not\s+(?:up\s+)?for|(?:not|never)\s+(?:into|keen\s+on|big\s+on)|"
    r"(?:can|could|shall)\s+we\s+(?:not|skip|avoid|lose)(?:\s+(?:do|have|play|hear))?|"
    r"(?:don'?t|do\s+not|never)\s+(?:even\s+)?(?:think\s+(?:about|of)\s+|dare\s+|bother\s+)?"
    r"(?:play(?:ing)?|put(?:ting)?\s+on|add(?:ing)?|includ(?:e|ing)|suggest(?:ing)?|"
    r"recommend(?:ing)?|bring(?:ing)?\s+(?:up|in))|"
    r"(?:don'?t|do\s+not|never|no\s+longer)\s+(?:really\s+|much\s+|particularly\s+)?(?:like|enjoy|"
    r"dig|care\s+for|vibe\s+with|get\s+on\s+with)|"
    r"dislike|despise|loathe|detest|abhor|can'?t\s+(?:bear|take|handle|deal\s+with|do)|"
    r"cannot\s+(?:bear|take|handle|deal\s+with)|(?:bored|burn(?:ed|t)\s+out)\s+(?:of|with|by|on)|"
    r"turned\s+off\s+by|stop\s+(?:playing|recommending|suggesting|giving\s+me|sending|adding|"
    r"pushing|with)|lay\s+off|go\s+easy\s+on|cut\s+back\s+on|free\s+(?:of|from)|"
    r"(?:axe|nuke|kill)\s+the"
)
"""Aversions said before what they refuse ("had it with", "I'm good on", "hold off on",
"can we not do", "don't even think about playing"); shared with the AI rules."""
CUE = (
    r"without|w/o|minus|less|fewer|except(?:\s+for)?|excluding|"
    r"exclude|apart\s+from|other\s+than|besides|anything\s+but|everything\s+but|all\s+but|"
    r"skip(?:ping)?|avoid(?:ing)?|drop|remove|ban|block|nix|ditch|lose\s+the|cut\s+out|"
    r"filter\s+out|leave\s+out|hold\s+the|spare\s+me(?:\s+the)?|steer\s+clear\s+of|"
    r"stay\s+away\s+from|keep\s+away\s+from|sick\s+(?:and\s+tired\s+)?of|tired\s+of|"
    r"fed\s+up\s+with|done\s+with|enough\s+of|(?:i'?m|i\s+am|so)\s+over|hate|"
    r"can'?t\s+stand|cannot\s+stand|not\s+in\s+the\s+mood\s+for|not\s+feeling|"
    r"not\s+(?:a\s+(?:big\s+)?)?fan\s+of|allergic\s+to|no\s+more|rather\s+not(?:\s+hear)?|"
    r"refrain\s+from\s+(?:including|playing|adding)|"
    rf"{AVERSION_CUES}|"
    r"banish|scrap|purge|(?:get|keep)\s+rid\s+of|cross\s+off|rule\s+out|weed\s+out|"
    r"(?:don'?t|do\s+not|never)\s+(?:play|want(?:\s+to\s+hear)?|give\s+me|include|need|"
    r"show\s+me|add)|isn'?t|aren'?t|none\s+of|nothing|not|no"
)
"""Words after which the listener names what they do not want (shared with the artist cues
of :mod:`agent.constraints`)."""
PREFIX = re.compile(rf"(?<![\w-])(?:{CUE})(?![\w-])\s*", re.I)
AVERSION = re.compile(
    r"^(?:sick|tired|fed|done|enough|hate|i'?m|i\s+am|so|allergic|not\s+(?:a\s+)?(?:big\s+)?fan|"
    r"bored|burn|been|had|dislike|despise|loathe|detest|abhor|can'?t|cannot|turned)",
    re.I,
)
NEGATED_BEFORE = re.compile(r"(?:\bnot|\bnever|n't|\bno\s+longer)\s+(?:\w+\s+){0,2}$", re.I)
"""A negation right before an aversion cancels it ("I don't hate country", "never get tired of
shoegaze", "I'm not sick of synthwave")."""
NOT_CUE_AFTER = re.compile(
    r"^(?:only|just|merely|simply|but|else|beats?|compares?|matters?|tops|comes\s+close|"
    r"hits(?:\s+(?:like|harder|the\s+spot))?|touches|rivals|holds\s+a\s+candle|can\s+top|"
    r"(?:is|sounds|feels)\s+(?:better|as\s+good)|gets\s+me\s+(?:like|going)|slaps\s+like|"
    r"(?:a|an)\s+[\w-]+(?:\s+[\w-]+)?\s+without\b|"
    r"against|opposed|averse|bad|sure|that\s+i|quite|less\s+than|more\s+than|short\s+of|than|"
    r"sick|tired|fed\s+up|done\s+with|over\b)\b",
    re.I,
)
"""Words after a cue that make it no exclusion: "not only jazz but also folk", "nothing but
jazz" (only jazz), "nothing beats/hits like 90s rock", "nothing against AI", "no less than
120 bpm", "it's not a party without house" (a double negation: both wanted)."""
DOUBLE_NEGATION = re.compile(
    r"\b(?:not|no|never|isn'?t|ain'?t)\s+(?:an?\s+|the\s+|really\s+)?[\w-]+(?:\s+[\w-]+)?\s+without\s+",
    re.I,
)
"""'It's not a party without house music': the "without" there asks for what follows."""
IDIOMS = frozenset(
    {"doubt", "way", "matter", "need", "problem", "problems", "worries", "worry", "rush", "hurry",
     "offense", "offence", "idea", "clue", "thanks", "thank", "cap", "skips", "skipping",
     "filler", "fillers", "exceptions", "exception", "limits", "limit", "further", "ado",
     "pressure", "judgement", "judgment", "sweat", "biggie", "questions", "question", "wonder",
     "kidding", "joke", "lie", "as", "longer", "one", "body", "shame", "excuses", "stress",
     "strings attached", "fuss", "nonsense", "bullshit", "bs", "end", "stopping", "holds",
     "mercy", "regrets", "is", "are", "was", "be", "little", "bit", "lot", "tiny", "much",
     "second", "whether"}
)  # fmt: skip
"""A first word after "no"/"without" that makes an idiom, not an exclusion ("no doubt", "no
cap", "no skips", "without further ado", "no matter the era", "less is more")."""
DETERMINERS = frozenset(
    {"a", "an", "the", "any", "anything", "everything", "some", "more", "of", "those", "these",
     "that", "this", "too", "so", "very", "really", "all", "with", "like", "resembling",
     "kind", "sort", "type", "types", "kinds", "sorts", "even", "at", "from", "stuff", "songs",
     "song", "tracks", "track", "music", "tunes", "my", "your", "his", "her", "their", "our",
     "whatsoever", "remotely", "particularly", "especially", "overly", "super", "way",
     "hear", "hearing", "sounding", "sounds", "sound", "le", "la", "les", "el", "los", "las",
     "die", "der", "das", "den", "du", "des", "de", "del"}
)  # fmt: skip
"""Words between a cue and what it excludes ("anything remotely resembling techno", "any
tracks of the electronic persuasion")."""
CLAUSE_END = re.compile(
    r"[.;!?:()\[\]\"]|\s[-–—]\s|\b(?:but|though|although|however|while|whereas|instead|"
    r"because|just|only|rather|please|pls|plz|thanks|thank|thx|since|unless|if|then|i|i'?m|"
    r"we|you|it'?s|give|play|surprise|gimme|want|need)\b",
    re.I,
)
"""Where an exclusion's scope ends."""
LIST_SPLIT = re.compile(
    r"\s*(?:,\s*(?:(?:or|and|nor)(?![\w-]))?|(?<![\w-])(?:or|nor|and|und|oder|y|et|ou|o)(?![\w-])|"
    r"/|\s&\s)\s*",
    re.I,
)
POSTFIX_FREE = re.compile(r"(?<![\w-])([a-z][\w&'.]*)-free\b", re.I)
KEEP_OUT = re.compile(
    r"\b(?:keep|leave|take|get|cut)\s+((?:[^\s,.;!?]+\s+){0,3}?[^\s,.;!?]+)\s+"
    r"(?:out|off|away)\b",
    re.I,
)
OFF_TABLE = re.compile(
    r"(?:^|[,;.!?:]\s*|\b(?:and|but|so)\s+)((?:[\w&'-]+\s+){0,4}?[\w&'-]+)\s+"
    r"(?:is|are|'s|'re)\s+(?:both\s+|all\s+|totally\s+|completely\s+|strictly\s+)?"
    r"(?:off\s+the\s+table|off[- ]limits|out(?!\s+(?:now|there|today|yet|this|of|on))|"
    r"banned|forbidden|not\s+allowed|a\s+no(?:[- ]go)?|"
    r"a\s+hard\s+no|dead\s+to\s+me)\b",
    re.I,
)
REFUSING_TAIL = (
    r"(?:(?:(?:is|are|'s|'re)\s+|isn'?t\s+|aren'?t\s+)(?:just\s+|really\s+|simply\s+)?"
    r"(?:not\s+(?:really\s+|at\s+all\s+)?(?:my|our)\s+(?:thing|jam|style|vibe|scene|bag|taste|"
    r"cup\s+of\s+tea)|(?:not\s+)?for\s+me\b(?<!\bare\sfor\sme)(?<!\bis\sfor\sme)|"
    r"(?:a\s+)?(?:pass|hard\s+pass|dealbreaker|deal[\s-]breaker|turn[\s-]off|non[\s-]starter))|"
    r"(?:bores?|annoys?|irritates?|depresses?)\s+(?:me|us)|(?:gets?|grates?)\s+on\s+my\s+nerves|"
    r"(?:does|do)\s+nothing\s+for\s+me|(?:does|do)\s*n'?o?t\s+do\s+it\s+for\s+me|"
    r"makes?\s+my\s+(?:ears|head)\s+(?:bleed|hurt|ache)|"
    r"(?:can|could|should|may|must)\s+(?:stay|remain)\s+(?:out|away|home|behind|there|"
    r"in\s+the\s+(?:past|\d0s|bin|trash|vault))|"
    r"\?\s*(?:hard\s+)?(?:pass|nope|nah|no\s+thanks?|no\s+way|never|no(?![\w-]))|"
    r"\s(?:excluded|omitted|not\s+included|removed|filtered\s+out|left\s+out)\b|"
    r"\s*[-–—:]\s*(?:no\s+thanks?|nope|nah|(?:hard\s+)?pass|not\s+for\s+me|no)\s*(?=$|[,.;!?)]))"
)
"""What follows a thing to say the listener does not want it ("folk's not my thing", "house
bores me", "the 90s can stay in the 90s", "metal? pass"); shared with the AI rules."""
POSTFIX_REFUSAL = re.compile(
    r"(?:^|[,;.!?:]\s*|\b(?:and|but|so|honestly|frankly)\s+)((?:[\w&'-]+\s+){0,4}?[\w&-]+?)"
    rf"\s*{REFUSING_TAIL}",
    re.I,
)
LIST_HEAD = re.compile(r"(?:^|[;.!?:]\s*|\b(?:but|so)\s+)((?:[\w&'-]+(?:\s+[\w&'-]+)?,\s*)+)$")
"""The first items of a list ending in "X and Y are off the table", back to the clause start."""
FREE_WORDS = frozenset(
    {"sugar", "gluten", "caffeine", "stress", "hands", "duty", "fat", "alcohol", "ad", "ads",
     "commercial", "cruelty", "risk", "worry", "hassle", "tax", "smoke", "drama", "filler",
     "care", "scot", "toll", "rent", "fuss", "guilt", "pain", "trouble", "lactose", "spoiler"}
)  # fmt: skip
"""Words before "-free" that exclude nothing in a music request ("stress-free", "ad-free")."""


RULE_WORDS = {"ai", "artificial", "machine", "computer", "robots", "robot", "bots", "synthetic"}

NOT_CONTENT = frozenset(
    {"a", "an", "the", "any", "anything", "more", "too", "so", "very", "really", "that", "this",
     "those", "these", "some", "much", "even", "i", "i'm", "im", "me", "my", "you", "your", "it",
     "them", "we", "us", "is", "are", "be", "been", "was", "have", "has", "had", "do", "does",
     "doesn", "doesn't", "don't", "want", "wanting", "need", "made", "make", "from", "for", "with",
     "about", "sure", "thank", "thanks", "fine", "ok", "okay", "interested", "in", "on", "of",
     "at", "to", "by", "featuring", "feat", "ft", "one", "ones", "big", "problem", "issue",
     "matter", "mind", "care", "like", "bad", "good", "worries", "way", "idea", "clue", "rush",
     "hurry", "offense", "offence", "please", "pls", "plz", "thx", "just", "only", "all", "other",
     "else", "everything", "nothing", "whatever", "what", "which", "who", "if", "when", "there",
     "here", "now", "then", "again", "tonight", "today", "either", "neither", "nor", "not", "no",
     "without", "except", "but", "and", "or", "play", "give", "show", "put", "go", "get", "let",
     "generated", "created", "composed", "written", "produced", "sung", "performed", "nonsense",
     "bullshit", "crap", "junk", "garbage", "rubbish", "slop", "trash", "doubt", "worry", "apply",
     "fan", "fans", "rules", "rule", "restrictions", "filter", "where", "de", "la", "le", "les",
     "des", "du", "el", "los", "las", "die", "der", "das", "von", "y", "et", "und"}
)  # fmt: skip
"""Words that cannot start (or be) something to exclude ("not that I...", "no thank you")."""
GENERIC = frozenset(
    {"stuff", "songs", "song", "music", "tracks", "track", "tunes", "things", "thing", "ones",
     "sounds", "kind", "type", "style", "genre", "genres", "vibes", "please", "pls", "chansons",
     "musique", "canciones", "musica", "música", "lieder", "musik"}
)  # fmt: skip
"""Nouns an exclusion ends on that say nothing about what to exclude ("no sad stuff")."""
NOT_EXCLUSIONS = re.compile(
    r"\b(?:bpms?|beats?\s+(?:per|a|an|/)\s*min\w*|b\.p\.m|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred)\b|"
    r"fast|faster|slow|slower|quick|upbeat|energetic|tempo|new|emerging|artists?|bands?|"
    r"mainstream|famous|popular|known|names|unknowns?|human|humans|people|real|old|older|oldies|"
    r"modern|recent|newer|latest|released|recorded|\d+)\b"
)
"""Words an exclusion is not about: tempo, era, emerging and authorship have their own
rules."""
REFUSED_FAST = re.compile(r"\b(?:fast|faster|quick|upbeat|energetic|hectic|uptempo)\b")
REFUSED_SLOW = re.compile(r"\b(?:slow|slower|sleepy|mellow|calm|downtempo)\b")
"""An excluded tempo word is a tempo rule ("not in the mood for anything upbeat": slow)."""


def _exclusion(phrase: str) -> str | None:
    """The part of a phrase after "no"/"without" that names something to exclude, or None
    ("no sad stuff" -> "sad"; "not that I ..." and "no thank you" name nothing)."""
    words = phrase.split()
    while words and words[0] in NOT_CONTENT:
        words = words[1:]
    cut = next((i for i, w in enumerate(words) if w in NOT_CONTENT), len(words))
    words = words[:cut]
    while words and words[-1] in GENERIC:
        words = words[:-1]
    text = " ".join(words)
    if not text or NOT_EXCLUSIONS.search(text):
        return None
    return text


@dataclass(frozen=True)
class Scope:
    """An exclusion: its span in the text and the items of its list, as written."""

    start: int
    end: int
    items: tuple[str, ...]


def _starts_list_item(chunk: str) -> bool:
    """Whether a chunk after a comma or "and" still names something (not a new clause)."""
    words = chunk.split()
    return bool(words) and len(words) <= 4 and not CLAUSE_END.match(chunk)


def _items(span: str) -> list[str]:
    """The items of a list ("pop, rock or rap"); a comma or "and" continues the list only
    into a short chunk, and a comma only when an "or"/"nor"/"and" follows ("no metal, jazz
    please" excludes metal only)."""
    parts = LIST_SPLIT.split(span)
    seps = LIST_SPLIT.findall(span)
    # A later "and"/"or" that starts a cue of its own ("..., and nothing by X") ends the list.
    stop = next((j for j, part in enumerate(parts[1:]) if PREFIX.match(part.strip())), len(seps))
    out = [parts[0].strip()]
    for i, (sep, part) in enumerate(zip(seps, parts[1:], strict=True)):
        sep = sep.strip().casefold()
        later = [s.strip().casefold() for s in seps[i + 1 : stop]]
        if sep in ("/", "oder", "ou", "o") or sep.endswith(("or", "nor")):
            ok = bool(part.strip())
        elif sep.startswith(","):
            ok = _starts_list_item(part) and any(s.endswith(("or", "nor", "and")) for s in later)
        else:  # "and", "&": not into a rule of its own ("without AI and slow")
            ok = _starts_list_item(part) and not NOT_EXCLUSIONS.search(part)
        if not ok or PREFIX.match(part.strip()):
            break  # a new cue starts its own exclusion
        out.append(part.strip())
    return [p for p in out if p]


def _scope_text(text: str, start: int) -> str:
    end = CLAUSE_END.search(text, start)
    return text[start : end.start() if end else len(text)]


def _end_of(span: str, items: list[str]) -> int:
    """Where the last item of ``items`` ends in ``span`` (a comma ends the scope unless the
    list goes on)."""
    at = 0
    for item in items:
        found = span.find(item, at)
        if found >= 0:
            at = found + len(item)
    return at


def _first_content(item: str) -> str:
    words = [w for w in item.split() if w not in DETERMINERS and not w.endswith("ly")]
    return words[0] if words else ""


def exclusion_scopes(low: str) -> list[Scope]:
    """Every exclusion in ``low`` (a lower-case request), in order."""
    scopes: list[Scope] = []
    doubled = [m.end() for m in DOUBLE_NEGATION.finditer(low)]
    for m in PREFIX.finditer(low):
        cue = m.group(0).strip()
        after = low[m.end() :]
        if NOT_CUE_AFTER.match(after) or m.end() in doubled:
            continue
        if cue == "less" and re.search(r"\bcare\s*$", low[: m.start()]):
            continue  # "I couldn't care less whether ..."
        if (AVERSION.match(cue) or re.match(r"to\b", after)) and NEGATED_BEFORE.search(
            low[: m.start()]
        ):
            continue  # "I don't hate country", "I'd never say no to folk"
        span = _scope_text(low, m.end())
        items = _items(span)
        if items and _first_content(items[0]) in IDIOMS:
            continue
        # An empty first item is an artist's name already taken out ("no Drake or metal").
        scopes.append(Scope(m.start(), m.end() + _end_of(span, items), tuple(items)))
    for m in POSTFIX_FREE.finditer(low):
        if m.group(1).casefold() not in FREE_WORDS:
            scopes.append(Scope(m.start(), m.end(), (m.group(1),)))
    for m in KEEP_OUT.finditer(low):
        scopes.append(Scope(m.start(1), m.end(1), tuple(_items(m.group(1)))))
    for m in OFF_TABLE.finditer(low):
        start = m.start(1)
        if re.search(r"\b(?:and|or|nor)\b", m.group(1)) and (head := LIST_HEAD.search(low[:start])):
            start = head.start(1)  # "jazz, folk and classical are all a no": the whole list
        items = [i for i in _items(low[start : m.end(1)]) if _first_content(i)]
        scopes.append(Scope(start, m.end(1), tuple(items)))
    for m in POSTFIX_REFUSAL.finditer(low):
        if not any(s.start <= m.start(1) < s.end for s in scopes):
            # The whole refusal is blanked ("the 90s can stay in the 90s" wants no 90s).
            scopes.append(Scope(m.start(1), m.end(), tuple(_items(m.group(1)))))
    return sorted(scopes, key=lambda s: s.start)


def cue_spans(low: str) -> list[tuple[int, int]]:
    """The spans of every cue, excluding or not ("never get tired of" is no word to match a
    tag with)."""
    return [(m.start(), m.end()) for m in PREFIX.finditer(low)]


_DECADE = r"(?:\b|')(?:(?:19|20)?[0-9]0)'?s\b"
ERA = re.compile(
    r"\b(?:(before|until|pre)[- ]?|(after|since)\s+)(?:the\s+)?((?:19|20)\d\d\b|"
    + _DECADE.replace("(?:\\b|')", "")
    + r")|"
    r"(?:\b|')(?:(19|20)?([0-9])0)'?s\b"
)
"""An era inside an exclusion ("nothing from before 2000", "nothing before the 90s", "no 2020s
stuff")."""
YEAR_SPAN = re.compile(
    r"\b((?:19|20)\d\d)\s*(?:-|–|to|and|through|thru|until|till)\s*((?:19|20)\d\d)\b"
)
"""Years from one to another inside an exclusion ("nothing released between 1985 and 1995")."""


def decade_start(text: str) -> int:
    """The first year of a decade written "80s", "'80s", "1980s" or "00s"."""
    digits = re.sub(r"\D", "", text)
    if len(digits) == 4:
        return int(digits)
    return int(("20" if digits[0] in "012" else "19") + digits)


def _era_bound(era: re.Match[str]) -> int:
    """The year an era bound names: the year itself, or a decade's first year."""
    word = era.group(3)
    return int(word) if re.fullmatch(r"\d{4}", word) else decade_start(word)


@dataclass
class Exclusions:
    """What a request's exclusions say: items (the phrase as said, the catalog tag it names
    exactly or None), tempo and era rules said as exclusions, and the spans they cover."""

    items: list[tuple[str, str | None]] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)
    era_spans: list[tuple[int, int]] = field(default_factory=list)
    refuses_fast: bool = False
    refuses_slow: bool = False
    year_min: int | None = None
    year_max: int | None = None
    excluded_years: list[tuple[int, int]] = field(default_factory=list)
    """Year spans refused in the middle ("no 80s", "nothing from 1985 to 1995"), first and last
    year included."""

    def read_era(self, item: str, current_decade: int) -> None:
        """The eras an excluded item names: a bound ("before 2000", "after the 90s") or whole
        decades ("the 70s or 80s"); the current decade is a cap ("no 2020s stuff": to 2019)."""
        if era := ERA.search(item):
            if era.group(1):  # "nothing before 2000": from 2000
                self.year_min = _era_bound(era)
                return
            if era.group(2):  # "skip anything after 2010": up to 2010
                bound = _era_bound(era)
                whole_decade = not re.fullmatch(r"\d{4}", era.group(3))
                # "since 2010" refuses 2010 too; "after the 90s" refuses none of the 90s.
                self.year_max = bound + 9 if whole_decade else bound - (era.group(2) == "since")
                return
        for m in re.finditer(_DECADE, item):
            decade = decade_start(m.group(0))
            if decade >= current_decade:
                self.year_max = min(self.year_max or 9999, decade - 1)
            else:
                self.excluded_years.append((decade, decade + 9))

    def blanked(self, text: str, spans: list[tuple[int, int]] | None = None) -> str:
        """``text`` with the exclusions (and every cue) replaced by spaces, so their words are
        neither wanted nor tempo words ("skip the ambient stuff" asks for no slow tempo)."""
        chars = list(text)
        for a, b in self.spans if spans is None else spans:
            chars[a:b] = " " * (b - a)
        return "".join(chars)


def _content(item: str) -> list[str]:
    words = item.split()
    while words and (words[0] in DETERMINERS or (words[0].endswith("ly") and len(words) > 1)):
        words = words[1:]
    return words


def _exact_tag(words: list[str], exact: Callable[[str], str | None]) -> str | None:
    """The catalog tag an item names word for word (longest first, "dark ambient" before
    "ambient"), or None."""
    for n in (3, 2, 1):
        for i in range(len(words) - n + 1):
            gram = words[i : i + n]
            if any(w in NOT_CONTENT or w in GENERIC for w in gram):
                continue
            phrase = " ".join(gram)
            if hit := exact(phrase) or exact(phrase.replace(" ", "-")):
                return hit
    return None


def read_exclusions(
    low: str, exact: Callable[[str], str | None], rule: Callable[[str], bool]
) -> Exclusions:
    """The exclusions of ``low``: each item as a catalog tag (named exactly) or as said; items
    about AI or authorship (``rule``), tempo or era become those rules instead."""
    out = Exclusions(spans=cue_spans(low))
    current_decade = date.today().year // 10 * 10
    for scope in exclusion_scopes(low):
        if scope.items and all(rule(i) for i in scope.items):
            continue  # "no AI-generated tracks upbeat indie": the AI rules' own (not blanked)
        out.spans.append((scope.start, scope.end))
        clause_end = CLAUSE_END.search(low, scope.end)
        span = YEAR_SPAN.search(low, scope.start, clause_end.start() if clause_end else len(low))
        if span and span.start() <= scope.end:
            # "no music released between 1985 and 1995": the whole span, both years included.
            first, last = sorted((int(span.group(1)), int(span.group(2))))
            out.excluded_years.append((first, last))
            out.spans.append((scope.start, span.end()))
            out.era_spans.append((scope.start, span.end()))
            continue
        for item in scope.items:
            if rule(item):
                continue
            if ERA.search(item):
                out.era_spans.append((scope.start, scope.end))
                out.read_era(item, current_decade)
                continue
            words = _content(item)
            text = " ".join(words)
            if not words or words[0] in IDIOMS or words[0] in NOT_CONTENT:
                continue
            if re.search(r"\d", text):
                continue  # "nothing faster than 140 bpm": a figure, read by the tempo rules
            if NOT_EXCLUSIONS.search(text):
                out.refuses_fast |= bool(REFUSED_FAST.search(text))
                out.refuses_slow |= bool(REFUSED_SLOW.search(text))
                continue
            tag = _exact_tag(words, exact)
            phrase = _exclusion(text)
            if tag or phrase:
                out.items.append((phrase or tag or "", tag))
    return out


__all__ = [
    "AVERSION_CUES",
    "CUE",
    "ERA",
    "FREE_WORDS",
    "GENERIC",
    "NOT_CONTENT",
    "REFUSING_TAIL",
    "RULE_WORDS",
    "YEAR_SPAN",
    "Exclusions",
    "Scope",
    "cue_spans",
    "decade_start",
    "exclusion_scopes",
    "read_exclusions",
]
