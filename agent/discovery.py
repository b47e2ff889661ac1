"""The discovery agent: a turn is parse → plan → validate → execute → answer, with a trace.

Example:
    >>> agent = DiscoveryAgent(backend)
    >>> answer = agent.ask("upbeat indie for a run, human artists only", listener_id="u1")
    >>> answer.summary, [i.card["title"] for i in answer.items], answer.trace
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from agent.backend import DiscoveryBackend
from agent.bus import CandidateBus
from agent.enforce import enforce_constraints
from agent.errors import AgentError, PlanError
from agent.lookup import label_card
from agent.plan import Plan, TraceEntry, execute_plan, validate_plan
from agent.planners import Planner, RulePlanner
from agent.request import STOP_WORDS, Constraints, VocabularyMatcher, parse_request
from agent.tools import ToolContext
from recsys.domain import AiInvolvement, ServedSlate, SlateItem

logger = logging.getLogger(__name__)

NO_MATCH_SIMILARITY = 0.3
"""A request that names nothing the parser knows matches nothing when no track's text is this
close to it (cosine of the text model; unrelated words score about 0.2, a genre 0.6)."""
GENERIC_WORDS = frozenset(
    [
        "surprise",
        "anything",
        "whatever",
        "something",
        "good",
        "great",
        "nice",
        "cool",
        "random",
        "recommend",
        "recommendations",
        "favourite",
        "favorite",
        "favourites",
        "favorites",
        "again",
        "today",
        "tonight",
        "now",
    ]
)
"""Words of a request for the listener's own taste ("surprise me"), not a search."""


@dataclass(frozen=True, kw_only=True)
class AnswerItem:
    """A track in an answer: its label card (AI label, credits), reasons and score."""

    position: int
    score: float
    card: dict[str, Any]
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AgentAnswer:
    """What the agent says: a summary, labelled tracks with reasons, and the tool trace."""

    request_id: str
    session_id: str
    summary: str
    items: tuple[AnswerItem, ...]
    trace: tuple[TraceEntry, ...]
    planner: str
    constraints: Constraints
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (the `liner agent --json` output)."""
        return {
            "request_id": self.request_id,
            "session_id": self.session_id,
            "summary": self.summary,
            "planner": self.planner,
            "constraints": asdict(self.constraints),
            "items": [
                {
                    "position": i.position,
                    "score": round(i.score, 4),
                    "reasons": list(i.reasons),
                    **i.card,
                }
                for i in self.items
            ],
            "trace": [t.to_json() for t in self.trace],
            "notes": list(self.notes),
        }


@dataclass
class _Session:
    constraints: Constraints | None = None
    turns: int = 0


@dataclass
class DiscoveryAgent:
    """Answers listeners' requests in words, bound by the same rules as `Recommend`."""

    backend: DiscoveryBackend
    planner: Planner = field(default_factory=RulePlanner)
    slate_logger: Callable[[ServedSlate], None] | None = None
    max_sessions: int = 10_000
    _sessions: OrderedDict[str, _Session] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _matcher: VocabularyMatcher | None = None

    def _session(self, session_id: str) -> _Session:
        with self._lock:
            sess = self._sessions.pop(session_id, None) or _Session()
            self._sessions[session_id] = sess
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
            return sess

    def ask(
        self,
        message: str,
        *,
        listener_id: str | None = None,
        session_id: str | None = None,
        k: int = 10,
    ) -> AgentAnswer:
        """Answer one turn; follow-ups in the same session refine the previous turn."""
        if not message.strip():
            raise AgentError("the message is empty: say what you would like to hear")
        session_id = session_id or uuid.uuid4().hex
        sess = self._session(session_id)
        if self._matcher is None:
            self._matcher = VocabularyMatcher(self.backend)
        constraints = parse_request(message, self._matcher, sess.constraints)
        known = listener_id is not None and self.backend.profile(listener_id).known
        notes: list[str] = []
        if self._matches_nothing(message, constraints):
            notes.append(f"nothing in the catalog matches '{message.strip()}'")
            sess.constraints = constraints
            sess.turns += 1
            return AgentAnswer(
                request_id=uuid.uuid4().hex,
                session_id=session_id,
                summary=f"Nothing in the catalog matches '{message.strip()}'; try other words.",
                items=(),
                trace=(),
                planner="none",
                constraints=constraints,
                notes=tuple(notes),
            )
        planner_name = self.planner.name
        try:
            plan, parsed = validate_plan(self.planner.plan(message, constraints, known, k))
        except Exception as exc:  # any planner failure (even a bug) falls back, with a note
            logger.warning("planner %s failed: %s", self.planner.name, exc)
            notes.append(f"planner '{self.planner.name}' failed ({exc}); used the rule planner")
            planner_name = "rules"
            plan, parsed = validate_plan(RulePlanner().plan(message, constraints, known, k))
        answer = self._run(
            plan, parsed, listener_id, session_id, constraints, planner_name, notes, k
        )
        sess.constraints = constraints
        sess.turns += 1
        return answer

    def _matches_nothing(self, message: str, c: Constraints) -> bool:
        """The request names no genre, tag, artist or rule and no track's text is close."""
        if (
            c.prefer or c.genres or c.like or c.avoid or c.new_artists or c.human_only
            or c.no_ai_generated or c.tempo_min is not None or c.tempo_max is not None
            or c.year_min is not None or c.year_max is not None
        ):  # fmt: skip
            return False
        words = [w for w in re.findall(r"[a-z]+", message.casefold()) if len(w) > 2]
        content = [w for w in words if w not in STOP_WORDS and w not in GENERIC_WORDS]
        if not content:
            return False
        hits = self.backend.search_text(message, 1)
        return not hits or hits[0][1] < NO_MATCH_SIMILARITY

    def run_plan(
        self, plan: Plan | dict[str, Any] | str, *, listener_id: str | None = None
    ) -> AgentAnswer:
        """Validate and run a given plan (from an external planner or an MCP client).

        Raises:
            PlanError: the plan is invalid; nothing has run.
        """
        valid, parsed = validate_plan(plan)
        return self._run(
            valid, parsed, listener_id, uuid.uuid4().hex, Constraints(), "external", [], None
        )

    def _run(
        self,
        plan: Plan,
        parsed: list[Any],
        listener_id: str | None,
        session_id: str,
        constraints: Constraints,
        planner_name: str,
        notes: list[str],
        k: int | None,
    ) -> AgentAnswer:
        start = time.perf_counter()
        ctx = ToolContext(backend=self.backend, bus=CandidateBus(), listener_id=listener_id)
        trace = execute_plan(plan, parsed, ctx)
        # Whatever the plan did, the listener's constraints, blocked artists and k hold.
        enforced = enforce_constraints(ctx, constraints, ctx.bus.get(plan.answer), k)
        final = enforced.kept
        notes.extend(enforced.notes)
        no_tempo = max(
            [enforced.no_tempo] + [int((t.data or {}).get("no_tempo", 0)) for t in trace]
        )
        # Belt and braces: the tools already guard, but the answer is checked once more.
        allowed = set(self.backend.permitted([c.track_id for c in final], listener_id))
        facts = {f.track.track_id: f for f in self.backend.facts(sorted(allowed))}
        items = tuple(
            AnswerItem(
                position=i, score=c.score, card=label_card(facts[c.track_id]), reasons=c.reasons
            )
            for i, c in enumerate(x for x in final if x.track_id in facts)
        )
        request_id = uuid.uuid4().hex
        answer = AgentAnswer(
            request_id=request_id,
            session_id=session_id,
            summary=summarize(constraints, items, no_tempo=no_tempo),
            items=items,
            trace=tuple(trace),
            planner=planner_name,
            constraints=constraints,
            notes=tuple(notes),
        )
        if self.slate_logger is not None and listener_id is not None:
            self.slate_logger(
                ServedSlate(
                    request_id=request_id,
                    listener_id=listener_id,
                    surface="agent",
                    served_at=datetime.now(UTC),
                    ai_features=True,
                    items=tuple(
                        SlateItem(
                            track_id=i.card["track_id"],
                            position=i.position,
                            score=i.score,
                            sources=("agent",),
                        )
                        for i in items
                    ),
                )
            )
        logger.info(
            "agent request_id=%s session=%s planner=%s steps=%d items=%d ms=%.1f",
            request_id,
            session_id,
            planner_name,
            len(trace),
            len(items),
            (time.perf_counter() - start) * 1000,
        )
        return answer


def enforced_phrases(c: Constraints, no_tempo: int = 0) -> list[str]:
    """The hard constraints every track of the answer was checked against, in words."""
    out: list[str] = []
    if c.tempo_min is not None or c.tempo_max is not None:
        bound = (
            f"{c.tempo_min:.0f}–{c.tempo_max:.0f} BPM"
            if c.tempo_min is not None and c.tempo_max is not None
            else f"≥ {c.tempo_min:.0f} BPM"
            if c.tempo_min is not None
            else f"≤ {c.tempo_max:.0f} BPM"
        )
        out.append(f"tempo {bound} ({no_tempo} candidates with no measured tempo left out)")
    if c.year_min is not None or c.year_max is not None:
        out.append(f"released {c.year_min or '…'}–{c.year_max or '…'} (unknown years left out)")
    if c.human_only:
        out.append("human artists only")
    if c.no_ai_any:
        out.append("no AI involvement")
    elif c.no_ai_vocals:
        out.append("no AI vocals, no AI-generated tracks")
    elif c.no_ai_generated:
        out.append("no AI-generated tracks")
    if c.new_artists:
        out.append("emerging artists only")
    if c.avoid:
        out.append("excluding " + ", ".join(c.avoid))
    return out


def summarize(c: Constraints, items: tuple[AnswerItem, ...], *, no_tempo: int = 0) -> str:
    """Two or three sentences: what was found, what was enforced, how it is labelled."""
    enforced = enforced_phrases(c, no_tempo)
    rules = f" Enforced on every track: {'; '.join(enforced)}." if enforced else ""
    if not items:
        return f"I found nothing that meets every constraint; try fewer constraints.{rules}"
    asked = "; ".join(c.describe()) or "your taste"
    human = sum(all(cr["kind"] == "human" for cr in i.card["credits"]) for i in items)
    generated = sum(i.card["ai_label"]["involvement"] == AiInvolvement.GENERATED for i in items)
    assisted = sum(i.card["ai_label"]["involvement"] == AiInvolvement.ASSISTED for i in items)
    return (
        f"{len(items)} tracks for {asked}.{rules} {human} by human artists, {assisted} "
        f"AI-assisted, {generated} AI-generated; every track shows its AI label and credits."
    )


__all__ = ["AgentAnswer", "AnswerItem", "DiscoveryAgent", "PlanError", "summarize"]
