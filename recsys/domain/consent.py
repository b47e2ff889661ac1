"""Consent: an append-only ledger of grants and revocations, and the state derived from it."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime


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
    (rights holder, scope). With no entry a scope is not granted.
    """

    entry_id: str
    rights_holder_id: str
    scope: ConsentScope
    action: ConsentAction
    actor: str
    reason: str = ""
    at: datetime


ConsentKey = tuple[str, ConsentScope]


@dataclass(frozen=True, kw_only=True)
class ConsentState:
    """Current consent, derived from the ledger.

    Attributes:
        granted: the (rights holder, scope) pairs currently granted.
        version: the number of ledger entries the state was derived from; it only grows, so
            a reader can tell cheaply whether its copy is current.
    """

    granted: frozenset[ConsentKey]
    version: int

    def allows(self, rights_holder_id: str, scope: ConsentScope) -> bool:
        """Whether ``rights_holder_id`` currently grants ``scope`` (default: no)."""
        return (rights_holder_id, scope) in self.granted

    @classmethod
    def from_ledger(cls, entries: Iterable[ConsentEntry]) -> ConsentState:
        """Replay ledger entries in order (by time, then entry id) into the current state."""
        ordered = sorted(entries, key=lambda e: (e.at, e.entry_id))
        last: dict[ConsentKey, ConsentAction] = {}
        for entry in ordered:
            last[(entry.rights_holder_id, entry.scope)] = entry.action
        granted = frozenset(k for k, a in last.items() if a is ConsentAction.GRANT)
        return cls(granted=granted, version=len(ordered))

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
    "IMITATION_SCOPES",
    "ConsentAction",
    "ConsentEntry",
    "ConsentKey",
    "ConsentScope",
    "ConsentState",
]
