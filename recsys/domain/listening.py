"""Listeners and the feedback events they produce."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class AiPreference(enum.StrEnum):
    """A listener's stance on AI music.

    ``OPT_OUT``: never recommend AI-generated tracks (the AI cap is zero).
    ``ALLOW``: AI tracks may appear within the variant's cap.
    """

    ALLOW = "allow"
    OPT_OUT = "opt_out"


@dataclass(frozen=True, kw_only=True)
class Listener:
    """A listener account.

    Attributes:
        listener_id: stable id.
        ai_preference: whether AI-generated tracks may be recommended to them.
        blocked_artist_ids: artists the listener never wants to hear.
        created_at: sign-up time, as the data file claims.
        received_at: when the service itself first stored this listener (its own clock, set
            by the store on first write, never from input); None until stored.
    """

    listener_id: str
    ai_preference: AiPreference = AiPreference.ALLOW
    blocked_artist_ids: tuple[str, ...] = ()
    created_at: datetime | None = None
    received_at: datetime | None = field(default=None, compare=False)


class EventType(enum.StrEnum):
    """What a listener did with a track."""

    PLAY = "play"
    SKIP = "skip"
    LIKE = "like"
    SAVE = "save"
    DISLIKE = "dislike"


# Events that count as positive implicit feedback, with their default weight.
POSITIVE_EVENT_WEIGHTS: dict[EventType, float] = {
    EventType.PLAY: 1.0,
    EventType.LIKE: 3.0,
    EventType.SAVE: 4.0,
}


@dataclass(frozen=True, kw_only=True)
class FeedbackEvent:
    """One feedback event; idempotent by ``event_id``.

    Attributes:
        event_id: unique id; writing the same id twice stores it once.
        listener_id: who.
        track_id: which track.
        event_type: play, skip, like, save or dislike.
        at: when.
        ms_played: how long the track played, when known.
        weight: strength of the signal (e.g. a play count in aggregated datasets).
        request_id: the served slate (or agent answer) that led to the event, when known.
        position: 0-based position in that slate, when known.
        sender: who wrote the event, as the service authenticated it: ``feedback:<token
            fingerprint>`` (the app backend), ``listener:<id>`` (a listener token),
            ``anonymous`` (a demo server), ``ingest:<folder name>`` (bulk ingest);
            ``unknown`` for events stored before senders were recorded.
        received_at: when the store first wrote the event, by the service's own clock; set by
            the store (a value on a new event is ignored), None before it is stored or for
            events stored before receipt times were recorded. ``at`` is the sender's claim.
    """

    event_id: str
    listener_id: str
    track_id: str
    event_type: EventType = EventType.PLAY
    at: datetime
    ms_played: int | None = None
    weight: float = 1.0
    request_id: str | None = None
    position: int | None = None
    sender: str = "unknown"
    received_at: datetime | None = field(default=None, compare=False)


ANONYMOUS_SENDER = "anonymous"
"""The sender of an event nobody authenticated (a demo server's ``--allow-anonymous-events``):
such plays are counted, never paid."""


__all__ = [
    "ANONYMOUS_SENDER",
    "POSITIVE_EVENT_WEIGHTS",
    "AiPreference",
    "EventType",
    "FeedbackEvent",
    "Listener",
]
