"""Consent: an append-only ledger of grants and revocations, and the state derived from it.

The ledger's order is the order in which the store appended the entries (each entry's ``seq``,
assigned inside the write transaction), never the times the entries state: an entry's ``at``
is a claim (a client's clock, a historic import's date) kept for audit, so a grant dated in
2031 or a server clock stepping back cannot make a later revocation ineffective.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta


class ConsentScope(enum.StrEnum):
    """What a rights holder can allow or forbid.

    ``AI_TRAINING``: their audio and text may be used to fit models.
    ``AI_STYLE_REFERENCE``: AI tracks referencing their style may be recommended.
    ``VOICE_LIKENESS``: AI tracks imitating their voice may be recommended.
    """

    AI_TRAINING = "ai_training"
    AI_STYLE_REFERENCE = "ai_style_reference"
    VOICE_LIKENESS = "voice_likeness"


class ConsentAction(enum.StrEnum):
    """A ledger entry either grants or revokes a scope."""

    GRANT = "grant"
    REVOKE = "revoke"


@dataclass(frozen=True, kw_only=True)
class ConsentEntry:
    """One line of the consent ledger: who changed what, when and why.

    Entries are never edited or deleted; the current state is the last entry per
    (rights holder, scope) in ledger order (``seq``). With no entry a scope is not granted.

    Attributes:
        entry_id: unique id; appending an id twice keeps the first entry.
        rights_holder_id: whose consent.
        scope: what is granted or revoked.
        action: grant or revoke.
        actor: who made the change.
        reason: why.
        at: when the change took effect as stated by whoever supplied it (the effective time
            of a historic import, the service's clock for a gRPC change); audit only, it never
            orders the ledger.
        seq: the ledger position, assigned by the store when the entry is appended (strictly
            increasing; None until appended).
        received_at: the store's own clock when the entry was appended (None until appended,
            and for entries appended before receipt times were recorded).
    """

    entry_id: str
    rights_holder_id: str
    scope: ConsentScope
    action: ConsentAction
    actor: str
    reason: str = ""
    at: datetime
    seq: int | None = None
    received_at: datetime | None = None

    @property
    def effective_at(self) -> datetime:
        """The stated effective time (``at``): audit only."""
        return self.at


DEFAULT_CLOCK_SKEW = timedelta(minutes=5)


def future_dated(at: datetime, now: datetime, skew: timedelta = DEFAULT_CLOCK_SKEW) -> bool:
    """Whether a stated time lies in the future of ``now`` (the service clock) by more than
    ``skew``; such consent entries are refused, at ingest and over gRPC."""
    return at > now + skew


ConsentKey = tuple[str, ConsentScope]


@dataclass(frozen=True, kw_only=True)
class ConsentState:
    """Current consent, derived from the ledger.

    Attributes:
        granted: the (rights holder, scope) pairs currently granted.
        version: the ledger position the state was derived from (the largest ``seq``, plus
            one per entry not yet appended); it only grows, so a reader can tell cheaply
            whether its copy is current (compare with ``Store.consent_version()``).
    """

    granted: frozenset[ConsentKey]
    version: int

    def allows(self, rights_holder_id: str, scope: ConsentScope) -> bool:
        """Whether ``rights_holder_id`` currently grants ``scope`` (default: no)."""
        return (rights_holder_id, scope) in self.granted

    @classmethod
    def from_ledger(cls, entries: Iterable[ConsentEntry]) -> ConsentState:
        """Replay ledger entries in ledger order into the current state.

        Appended entries go by ``seq``; entries not yet appended (``seq`` None) follow them
        in the order given. The stated times (``at``) play no part: the last entry appended
        for a (rights holder, scope) is in force, whatever date it claims.
        """
        given = list(entries)
        ordered = sorted(given, key=lambda e: (e.seq is None, e.seq or 0))  # stable
        last: dict[ConsentKey, ConsentAction] = {}
        for entry in ordered:
            last[(entry.rights_holder_id, entry.scope)] = entry.action
        granted = frozenset(k for k, a in last.items() if a is ConsentAction.GRANT)
        appended = max((e.seq for e in given if e.seq is not None), default=0)
        pending = sum(e.seq is None for e in given)
        return cls(granted=granted, version=appended + pending)

    def opt_in_rates(self, holders: Iterable[str]) -> Mapping[ConsentScope, float]:
        """Share of ``holders`` granting each scope."""
        ids = list(dict.fromkeys(holders))
        if not ids:
            return dict.fromkeys(ConsentScope, 0.0)
        return {
            scope: sum((h, scope) in self.granted for h in ids) / len(ids) for scope in ConsentScope
        }


# The scope an AI track needs from each artist it references or imitates.
IMITATION_SCOPES: tuple[ConsentScope, ...] = (
    ConsentScope.AI_STYLE_REFERENCE,
    ConsentScope.VOICE_LIKENESS,
)

__all__ = [
    "DEFAULT_CLOCK_SKEW",
    "IMITATION_SCOPES",
    "ConsentAction",
    "ConsentEntry",
    "ConsentKey",
    "ConsentScope",
    "ConsentState",
    "future_dated",
]
