"""The discovery agent: a turn is parse → plan → validate → execute → answer, with a trace.

Example:
    >>> agent = DiscoveryAgent(backend)
    >>> answer = agent.ask("upbeat indie for a run, human artists only", listener_id="u1")
    >>> answer.summary, [i.track.title for i in answer.items], answer.trace
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from agent.backend import DiscoveryBackend
from agent.bus import CandidateBus
from agent.enforce import enforce_constraints
from agent.errors import AgentError, PlanError
from agent.lookup import served_item
from agent.plan import Plan, TraceEntry, execute_plan, validate_plan
from agent.planners import Planner, RulePlanner
from agent.request import STOP_WORDS, Constraints, VocabularyMatcher, parse_request
from agent.sessions import Session, SessionStore
from agent.tools import ToolContext
from recsys.domain import AiInvolvement, ArtistKind, ServedSlate, SlateItem
from recsys.pipeline.api import RecommendedItem

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
class AgentAnswer:
    """What the agent says: a summary, served items (the same :class:`RecommendedItem` as a
    ``Recommend`` slate: track facts, audio facts, AI label, credits, reasons, sources), the
    tool trace and notes."""

    request_id: str
    session_id: str
    summary: str
    items: tuple[RecommendedItem, ...]
    trace: tuple[TraceEntry, ...]
    planner: str
    constraints: Constraints
    notes: tuple[str, ...] = ()
    session_ttl_s: int = 0

    def to_json(self) -> dict[str, Any]:
        """The `liner agent --json` form: the service's ``ConverseResponse`` rendered by
        :func:`recsys.api.answers.answer_json`, so local and remote answers are the same."""
        from recsys.api.answers import answer_json
        from recsys.service.convert import converse_pb

        return answer_json(
            converse_pb(self, session_id=self.session_id, request_id=self.request_id)
        )


@dataclass
class DiscoveryAgent:
    """Answers listeners' requests in words, bound by the same rules as `Recommend`."""

    backend: DiscoveryBackend
    planner: Planner = field(default_factory=RulePlanner)
    slate_logger: Callable[[ServedSlate], None] | None = None
    sessions: SessionStore = field(default_factory=SessionStore)
    _matcher: VocabularyMatcher | None = None

    def warm(self) -> None:
        """Build the request parser's vocabulary (the catalog's tags and genres, embedded by
        the text model) now, so the first question does not pay for it."""
        if self._matcher is None:
            self._matcher = VocabularyMatcher(self.backend)

    def ask(
        self,
        message: str,
        *,
        listener_id: str | None = None,
        session_id: str | None = None,
        k: int = 10,
    ) -> AgentAnswer:
        """Answer one turn; follow-ups in the same session refine the previous turn.

        ``session_id`` empty starts a conversation (the answer carries its new id); otherwise
        it must be an id this agent's :class:`SessionStore` issued for the same listener.

        Raises:
            AgentError: the message is empty.
            SessionNotFoundError: the session id was never issued or has expired.
            SessionListenerError: the session belongs to another listener.
        """
        if not message.strip():
            raise AgentError("the message is empty: say what you would like to hear")
        # Turns of one conversation run one after the other, on any process of the service.
        with self.sessions.turn(session_id, listener_id=listener_id) as (session_id, sess):
            return self._turn(message, listener_id, session_id, sess, k)

    def _turn(
        self, message: str, listener_id: str | None, session_id: str, sess: Session, k: int
    ) -> AgentAnswer:
        self.warm()
        assert self._matcher is not None
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
                session_ttl_s=self.sessions.ttl_s,
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
        return replace(answer, session_ttl_s=self.sessions.ttl_s)

    def _matches_nothing(self, message: str, c: Constraints) -> bool:
        """The request names no genre, tag, artist or rule and no track's text is close."""
        if (
            c.prefer or c.genres or c.like or c.avoid or c.new_artists or c.human_only
            or c.no_ai_generated or c.tempo_min is not None or c.tempo_max is not None
            or c.year_min is not None or c.year_max is not None or c.exclude_years
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
        return self._run(valid, parsed, listener_id, "", Constraints(), "external", [], None)

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
            served_item(
                facts[c.track_id], position=i, score=c.score, reasons=c.reasons, sources=c.sources
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
                            track_id=i.track.track_id,
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
        if c.tempo_soft:
            out.append(f"tempo {bound} where measured (from your words; unmeasured tracks kept)")
        else:
            out.append(f"tempo {bound} ({no_tempo} candidates with no measured tempo left out)")
    if c.year_min is not None or c.year_max is not None:
        out.append(f"released {c.year_min or '…'}–{c.year_max or '…'} (unknown years left out)")
    if c.exclude_years:
        spans = ", ".join(f"{a}–{b}" for a, b in c.exclude_years)
        out.append(f"nothing released {spans} (unknown years left out)")
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
    if c.blocked_names:
        out.append("nothing crediting " + ", ".join(c.blocked_names))
    return out


def summarize(c: Constraints, items: tuple[RecommendedItem, ...], *, no_tempo: int = 0) -> str:
    """Two or three sentences: what was found, what was enforced, how it is labelled."""
    enforced = enforced_phrases(c, no_tempo)
    rules = f" Enforced on every track: {'; '.join(enforced)}." if enforced else ""
    if not items:
        return f"I found nothing that meets every constraint; try fewer constraints.{rules}"
    asked = "; ".join(c.describe()) or "your taste"
    human = sum(
        bool(i.track.credits)
        and {c.artist_id for c in i.track.credits}
        <= {a.artist_id for a in i.artists if a.kind is ArtistKind.HUMAN}
        for i in items
    )
    involvement = [i.track.provenance.ai_involvement for i in items]
    generated = involvement.count(AiInvolvement.GENERATED)
    assisted = involvement.count(AiInvolvement.ASSISTED)
    return (
        f"{len(items)} tracks for {asked}.{rules} {human} by human artists, {assisted} "
        f"AI-assisted, {generated} AI-generated; every track shows its AI label and credits."
    )


__all__ = ["AgentAnswer", "DiscoveryAgent", "PlanError", "summarize"]
