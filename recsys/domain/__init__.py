"""Domain values of the artist-first world: frozen, keyword-only dataclasses."""

from recsys.domain.catalog import (
    AiInvolvement,
    AiPart,
    Artist,
    ArtistKind,
    Credit,
    CreditRole,
    LabelSource,
    Provenance,
    Track,
)
from recsys.domain.consent import (
    IMITATION_SCOPES,
    ConsentAction,
    ConsentEntry,
    ConsentKey,
    ConsentScope,
    ConsentState,
)
from recsys.domain.listening import (
    POSITIVE_EVENT_WEIGHTS,
    AiPreference,
    EventType,
    FeedbackEvent,
    Listener,
)
from recsys.domain.slates import ServedSlate, SlateItem

__all__ = [
    "IMITATION_SCOPES",
    "POSITIVE_EVENT_WEIGHTS",
    "AiInvolvement",
    "AiPart",
    "AiPreference",
    "Artist",
    "ArtistKind",
    "ConsentAction",
    "ConsentEntry",
    "ConsentKey",
    "ConsentScope",
    "ConsentState",
    "Credit",
    "CreditRole",
    "EventType",
    "FeedbackEvent",
    "LabelSource",
    "Listener",
    "Provenance",
    "ServedSlate",
    "SlateItem",
    "Track",
]
