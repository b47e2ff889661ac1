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
    DEFAULT_CLOCK_SKEW,
    IMITATION_SCOPES,
    ConsentAction,
    ConsentEntry,
    ConsentKey,
    ConsentScope,
    ConsentState,
    future_dated,
)
from recsys.domain.listening import (
    ANONYMOUS_SENDER,
    POSITIVE_EVENT_WEIGHTS,
    AiPreference,
    EventType,
    FeedbackEvent,
    Listener,
)
from recsys.domain.slates import ServedSlate, SlateItem

__all__ = [
    "ANONYMOUS_SENDER",
    "DEFAULT_CLOCK_SKEW",
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
    "future_dated",
]
