"""Served slates: what the service showed, so plays can be credited and models retrained."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, kw_only=True)
class SlateItem:
    """One served item.

    Attributes:
        track_id: the track.
        position: 0-based position in the slate.
        score: the final score after the policy stage.
        features: the feature values the reranker saw, by name.
        propensity: probability of this item at this position when the slate was sampled.
        sources: candidate sources that proposed the item.
    """

    track_id: str
    position: int
    score: float
    features: dict[str, float] = field(default_factory=dict)
    propensity: float | None = None
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ServedSlate:
    """A slate as served, keyed by its request id.

    Attributes:
        request_id: unique id, echoed by feedback events.
        listener_id: who it was served to.
        surface: where (home, radio, search, agent).
        variant: the experiment assignments, ``experiment:variant`` joined by ``,``.
        served_at: when.
        items: the items in order.
        ai_features: whether AI features (the discovery agent) produced the slate.
    """

    request_id: str
    listener_id: str
    surface: str = "home"
    variant: str = ""
    served_at: datetime
    items: tuple[SlateItem, ...] = ()
    ai_features: bool = False


__all__ = ["ServedSlate", "SlateItem"]
