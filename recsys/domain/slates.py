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
        propensity: probability that the policy put this item at this position, given the
            items above it (1.0 for a deterministic slate; the product over positions
            0..k is the probability of the slate's first k+1 items; None when unknown).
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
        propensity: probability that the policy served exactly this slate, in this order
            (1.0 when deterministic; None when unknown or not recorded).
    """

    request_id: str
    listener_id: str
    surface: str = "home"
    variant: str = ""
    served_at: datetime
    items: tuple[SlateItem, ...] = ()
    ai_features: bool = False
    propensity: float | None = None


__all__ = ["ServedSlate", "SlateItem"]
