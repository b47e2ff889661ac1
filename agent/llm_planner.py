"""An optional planner that asks any OpenAI-compatible chat-completions endpoint for a plan.

The model sees the tools' JSON schemas and answers with tool calls; those calls become the
plan, which the same executor validates and runs, so the model gets no more power than the
rule planner: guardrails live inside the tools.
"""

from __future__ import annotations

import http.client
import json
import logging
import urllib.request
from dataclasses import dataclass
from typing import Any

from agent.errors import PlannerError
from agent.plan import Plan, Step
from agent.registry import openai_tools
from agent.request import Constraints

logger = logging.getLogger(__name__)

SYSTEM_PROMPT = """You plan music discovery for a listener. Call tools, in order, all at once:
gather candidates (search_tracks, similar, personal_recommendations) into named working sets,
merge them, filter_candidates by the listener's hard constraints, and finish with
rank_candidates writing the set 'ranked' with k tracks. Refer to sets by name only."""


@dataclass
class LlmPlanner:
    """Plans through ``POST {base_url}/chat/completions`` with tool calling.

    Example:
        >>> LlmPlanner(base_url="http://127.0.0.1:8000/v1", model="llama3")
    """

    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 20.0
    name: str = "llm"

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        url = self.base_url.rstrip("/") + "/chat/completions"
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(url, json.dumps(payload).encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                body: dict[str, Any] = json.loads(resp.read())
                return body
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # URLError, timeouts, a connection closed mid-answer (RemoteDisconnected), bad JSON.
            # The listener sees this in the answer's notes: say what failed, not where.
            logger.warning("LLM endpoint %s failed: %r", url, exc)
            raise PlannerError(f"the LLM endpoint failed: {type(exc).__name__}: {exc}") from exc

    def plan(self, message: str, constraints: Constraints, listener_known: bool, k: int) -> Plan:
        hint = {"k": k, "listener_has_history": listener_known, "parsed": constraints.describe()}
        body = self._post(
            {
                "model": self.model,
                "messages": [
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": f"{message}\n\nContext: {json.dumps(hint)}"},
                ],
                "tools": openai_tools(),
                "tool_choice": "required",
                "temperature": 0,
            }
        )
        try:
            calls = body["choices"][0]["message"].get("tool_calls") or []
            steps = [
                Step(
                    tool=c["function"]["name"], args=json.loads(c["function"]["arguments"] or "{}")
                )
                for c in calls
            ]
        except (KeyError, IndexError, TypeError, json.JSONDecodeError) as exc:
            raise PlannerError(f"the LLM answer is not a list of tool calls: {exc}") from exc
        if not steps:
            raise PlannerError("the LLM answered without tool calls")
        answer = steps[-1].args.get("into", "ranked")
        return Plan(steps=steps, answer=str(answer))


__all__ = ["SYSTEM_PROMPT", "LlmPlanner"]
