"""Metering: credit every play to every credited contributor by share, exactly.

Shares are stored as floats, so each track's credits are first turned into integer
micro-shares (millionths) by largest-remainder rounding: they sum to exactly 1,000,000 on every
track, and a play therefore credits exactly 1,000,000 micro-plays. Every total in a report is an
integer count of micro-plays (or micro-units of money) underneath, so totals reconcile exactly;
the :class:`~decimal.Decimal` values shown are those integers divided by a million.

A play that cannot be attributed (a track without credits, or a contributor the store does not
know) is credited to :data:`UNATTRIBUTED`, never dropped, so rights-holder figures plus the
unattributed bucket always equal the plays counted.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from recsys.domain import (
    AiInvolvement,
    Artist,
    EventType,
    FeedbackEvent,
    ServedSlate,
    Track,
)
from recsys.integrity.allocation import MICRO, allocate, micro_to_decimal

logger = logging.getLogger(__name__)

UNATTRIBUTED = "(unattributed)"
AI_TRACK_LEVELS = frozenset({AiInvolvement.ASSISTED, AiInvolvement.GENERATED})


@dataclass(frozen=True, kw_only=True)
class MeteredPlay:
    """One play, linked to what led to it and credited to rights holders.

    Attributes:
        event_id: the feedback event.
        listener_id: who played.
        track_id: what was played.
        plays: how many plays the event counts (its weight when a whole number ≥ 1, else 1).
        request_id: the slate or agent answer that led to the play, when known.
        position: the position in that slate, when known.
        linked: the request id names a logged slate that holds the track at that position.
        ai_reasons: why the play counts as influenced by AI features (``agent`` when the slate
            came from the discovery agent, ``ai_track`` for an AI-assisted or generated track).
        micro_credits: micro-plays per rights holder; they sum to ``plays * 1_000_000``.
    """

    event_id: str
    listener_id: str
    track_id: str
    plays: int
    request_id: str | None = None
    position: int | None = None
    linked: bool = False
    ai_reasons: tuple[str, ...] = ()
    micro_credits: Mapping[str, int]

    @property
    def ai_influenced(self) -> bool:
        """Whether AI features influenced the play."""
        return bool(self.ai_reasons)

    @property
    def attributed(self) -> bool:
        """Whether the whole play went to known rights holders."""
        return UNATTRIBUTED not in self.micro_credits


def play_count(event: FeedbackEvent) -> int:
    """Plays an event counts: its weight when that is a whole number ≥ 1 (aggregated play
    counts), else 1."""
    weight = event.weight
    if weight >= 1 and float(weight).is_integer():
        return int(weight)
    return 1


def micro_shares(track: Track, artists: Mapping[str, Artist]) -> dict[str, int]:
    """A track's credit split as integer micro-shares per rights holder (sum exactly 10**6).

    Contributors the store does not know, and tracks without credits, go to
    :data:`UNATTRIBUTED`. Shares are renormalised before rounding, so a float sum of
    0.9999999 still splits the whole play.
    """
    if not track.credits:
        return {UNATTRIBUTED: MICRO}
    weights: dict[str, float] = defaultdict(float)
    for credit in track.credits:
        artist = artists.get(credit.artist_id)
        holder = artist.rights_holder_id if artist is not None else UNATTRIBUTED
        weights[holder] += max(credit.share, 0.0)
    total = sum(weights.values())
    if total <= 0:
        return {UNATTRIBUTED: MICRO}
    return allocate(MICRO, {h: w / total for h, w in weights.items()})


def _link(event: FeedbackEvent, slates: Mapping[str, ServedSlate]) -> tuple[bool, bool]:
    """(linked, from_agent) for an event's request id and position."""
    if event.request_id is None or event.request_id not in slates:
        return False, False
    slate = slates[event.request_id]
    linked = any(
        item.track_id == event.track_id
        and (event.position is None or item.position == event.position)
        for item in slate.items
    )
    return linked, linked and slate.ai_features


def meter_plays(
    events: Iterable[FeedbackEvent],
    tracks: Mapping[str, Track],
    artists: Mapping[str, Artist],
    slates: Mapping[str, ServedSlate],
) -> list[MeteredPlay]:
    """Credit every play event.

    Args:
        events: feedback events; only plays are metered.
        tracks: the catalog by track id.
        artists: artists by id (for their rights holders).
        slates: served slates by request id.

    Returns:
        One :class:`MeteredPlay` per play event, in event order.
    """
    shares_cache: dict[str, dict[str, int]] = {}
    metered: list[MeteredPlay] = []
    for event in events:
        if event.event_type is not EventType.PLAY:
            continue
        plays = play_count(event)
        track = tracks.get(event.track_id)
        if track is None:
            shares = {UNATTRIBUTED: MICRO}
        else:
            if track.track_id not in shares_cache:
                shares_cache[track.track_id] = micro_shares(track, artists)
            shares = shares_cache[track.track_id]
        linked, from_agent = _link(event, slates)
        reasons: list[str] = []
        if from_agent:
            reasons.append("agent")
        if track is not None and track.provenance.ai_involvement in AI_TRACK_LEVELS:
            reasons.append("ai_track")
        metered.append(
            MeteredPlay(
                event_id=event.event_id,
                listener_id=event.listener_id,
                track_id=event.track_id,
                plays=plays,
                request_id=event.request_id,
                position=event.position,
                linked=linked,
                ai_reasons=tuple(reasons),
                micro_credits={h: s * plays for h, s in shares.items()},
            )
        )
    return metered


def pro_rata_payouts(plays: Sequence[MeteredPlay], pool_micro: int) -> dict[str, int]:
    """Split a pool (in micro-units of money) by each holder's share of all credited plays."""
    totals: dict[str, int] = defaultdict(int)
    for play in plays:
        for holder, micro in play.micro_credits.items():
            totals[holder] += micro
    return allocate(pool_micro, totals) if totals else {}


def user_centric_payouts(plays: Sequence[MeteredPlay], pool_micro: int) -> dict[str, int]:
    """Split a pool equally between listeners who played anything, then each listener's
    part by the holders of what that listener played."""
    per_listener: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for play in plays:
        for holder, micro in play.micro_credits.items():
            per_listener[play.listener_id][holder] += micro
    if not per_listener:
        return {}
    listener_pools = allocate(pool_micro, dict.fromkeys(per_listener, 1))
    payouts: dict[str, int] = defaultdict(int)
    for listener_id, holders in per_listener.items():
        for holder, micro in allocate(listener_pools[listener_id], holders).items():
            payouts[holder] += micro
    return dict(payouts)


__all__ = [
    "AI_TRACK_LEVELS",
    "UNATTRIBUTED",
    "MeteredPlay",
    "meter_plays",
    "micro_shares",
    "micro_to_decimal",
    "play_count",
    "pro_rata_payouts",
    "user_centric_payouts",
]
