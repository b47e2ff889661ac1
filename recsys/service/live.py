"""Adapters that let long-lived service parts follow what is swapped in at runtime.

The experiments registry hot-reloads its folder, and artifact reloads swap the recommender;
these adapters read the current object on every call, so nothing holds a stale reference.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from recsys.errors import ConfigError
from recsys.experiments import ExperimentRegistry
from recsys.service.state import ServingState


class LiveExperiments:
    """Assigns listeners with whatever experiment set the registry serves now."""

    def __init__(self, registry: ExperimentRegistry) -> None:
        self.registry = registry

    @property
    def experiments(self) -> Sequence[Any]:
        """The running experiments."""
        return tuple(getattr(self.registry.current(), "experiments", ()))

    def assign(self, listener_id: str) -> Any:
        """The listener's assignment under the current set."""
        return self.registry.current().assign(listener_id)

    def reload(self) -> LiveExperiments:
        """Reload the folder now (the admin RPC); a refused folder keeps the old set serving.

        Raises:
            ConfigError: the folder is invalid; the message says why.
        """
        if not self.registry.reload():
            raise ConfigError(
                f"experiments in {self.registry.directory} were refused and the previous "
                f"config keeps serving: {self.registry.last_error}"
            )
        return self


class LiveAgent:
    """The discovery agent over whichever recommender is serving now.

    One agent is kept per loaded artifact version; the server-created sessions live in one
    session store across reloads (the service's store under `liner serve`), so a conversation
    goes on over new artifacts and on any worker or replica.
    """

    def __init__(self, state: ServingState, planner: Any = None, sessions: Any = None) -> None:
        from agent.sessions import SessionStore

        self.state = state
        self.planner = planner  # agent.planners.Planner; None plans with the rules
        self._lock = threading.Lock()
        self._version: str | None = None
        self._agent: Any = None
        # agent.sessions.SessionStore; `liner serve` passes one kept in its store, which every
        # worker and replica shares.
        self.sessions = sessions if sessions is not None else SessionStore()

    def _current(self) -> Any:
        from agent.discovery import DiscoveryAgent
        from agent.pipeline_backend import PipelineBackend

        loaded = self.state.current()
        with self._lock:
            if self._version != loaded.version or self._agent is None:
                rec = loaded.recommender
                logger_fn = getattr(getattr(rec, "slate_logger", None), "log", None)
                self._agent = DiscoveryAgent(
                    PipelineBackend(rec, loaded.artifact_dir),  # type: ignore[arg-type]
                    slate_logger=logger_fn,
                    sessions=self.sessions,
                    **({"planner": self.planner} if self.planner is not None else {}),
                )
                self._version = loaded.version
            return self._agent

    def warm(self) -> None:
        """Build the agent for the loaded artifacts now, so the first ``Converse`` after the
        service says SERVING does not pay for it (nor for the request parser's vocabulary)."""
        agent = self._current()
        if hasattr(agent, "warm"):
            agent.warm()

    def ask(
        self, message: str, *, listener_id: str | None, session_id: str | None, k: int = 10
    ) -> Any:
        """One conversation turn (see ``DiscoveryAgent.ask`` for the session rules)."""
        return self._current().ask(message, listener_id=listener_id, session_id=session_id, k=k)


__all__ = ["LiveAgent", "LiveExperiments"]
