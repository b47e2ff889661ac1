"""What the servicers share: the store, the serving state, metrics and optional features."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import grpc

from recsys.service.errors import DeadlineError
from recsys.service.metrics import ServiceMetrics
from recsys.service.state import ServingState
from recsys.store import Store


class MeteringReporter(Protocol):
    """Builds a metering report: ``(store, rights holder id or None[, pool])`` -> a JSON-able
    report (``MeteringReport.to_dict()``). ``pool`` (a decimal string) is passed only when the
    caller gives one."""

    def __call__(
        self, store: Store, rights_holder_id: str | None, pool: str = ..., /
    ) -> Mapping[str, Any]:
        """The report."""
        ...


class Conversation(Protocol):
    """The discovery agent as the service calls it (``agent.discovery.DiscoveryAgent``)."""

    def ask(self, message: str, *, listener_id: str | None, session_id: str | None, k: int) -> Any:
        """One turn: an answer with ``summary``, ``items``, ``trace`` and ``session_id``.

        An empty ``session_id`` starts a session bound to ``listener_id``; an id never issued
        or expired raises a ``NotFoundError``, another listener's a ``PermissionDeniedError``.
        """
        ...


@dataclass(frozen=True, kw_only=True)
class ServiceDeps:
    """Everything the servicers need, passed down explicitly.

    Attributes:
        state: loaded artifacts and experiments.
        store: catalog, ledgers and logs; None serves recommendations only (catalog, feedback
            and rights calls answer UNAVAILABLE).
        metrics: the server's metrics.
        metering: builds metering reports; None answers UNIMPLEMENTED.
        conversation: the discovery agent; None answers UNIMPLEMENTED.
        consent_skew: how far a consent change's stated time may lie ahead of the service
            clock (``LinerSettings.consent_clock_skew_s``).
    """

    state: ServingState
    store: Store | None
    metrics: ServiceMetrics
    metering: MeteringReporter | None = None
    conversation: Conversation | None = None
    consent_skew: timedelta = timedelta(minutes=5)

    def require_store(self) -> Store:
        """The store.

        Raises:
            NotServingError: the server runs without one.
        """
        from recsys.service.errors import NotServingError

        if self.store is None:
            raise NotServingError("this server has no store; start it with --db")
        return self.store


def ensure_active(context: grpc.ServicerContext) -> None:
    """Stop work for a caller that has gone (deadline passed or cancelled).

    Raises:
        DeadlineError: the call is no longer active.
    """
    if not context.is_active():
        raise DeadlineError("deadline exceeded or call cancelled; work stopped")


__all__ = ["Conversation", "MeteringReporter", "ServiceDeps", "ensure_active"]
