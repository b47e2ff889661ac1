"""Metering: credit every play to every credited contributor by share, exactly.

Shares are stored as floats, so each track's credits are first turned into integer
micro-shares (millionths) by largest-remainder rounding: they sum to exactly 1,000,000 on every
track, and a play therefore credits exactly 1,000,000 micro-plays. Every total in a report is an
integer count of micro-plays (or micro-units of money) underneath, so totals reconcile exactly;
the :class:`~decimal.Decimal` values shown are those integers divided by a million.

A play that cannot be attributed (a track without credits, or a contributor the store does not
know) is credited to :data:`UNATTRIBUTED`, never dropped, so rights-holder figures plus the
unattributed bucket always equal the plays counted.

Payouts follow the integrity state (:class:`PayoutHolds`). Every play keeps its share of the
pool, but only plays of screened, undisputed, unquarantined tracks that nobody flagged are
paid. Plays of quarantined, disputed or unscreened tracks are WITHHELD: their money waits in
the rights holder's withheld account and is paid once the track is released (the report is
recomputed from the current decisions). Plays flagged as artificial streaming, plays nobody
authenticated (sent anonymously to a demo server), and plays of a track whose quarantine a
rights admin confirmed, are FORFEITED at once: their money is
redistributed over every play not forfeited, paid or withheld, in proportion to what each
holder gets (pro rata over those plays, for the pro-rata model), as if the forfeited plays had
never happened. So a farm's plays dilute nobody, and a withheld track released later gets what
it would have earned without the farm. In integer micro-units, paid + withheld + unallocated
= pool and forfeited = redistributed + unallocated, where unallocated is forfeited money with
no other play to go to (carried to the next pool).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from recsys.domain import (
    ANONYMOUS_SENDER,
    AiInvolvement,
    Artist,
    EventType,
    FeedbackEvent,
    ServedSlate,
    Track,
)
from recsys.integrity.allocation import MICRO, allocate, micro_to_decimal

if TYPE_CHECKING:
    from recsys.store import Store

logger = logging.getLogger(__name__)

UNATTRIBUTED = "(unattributed)"
AI_TRACK_LEVELS = frozenset({AiInvolvement.ASSISTED, AiInvolvement.GENERATED})

PAID = "paid"
WITHHELD = "withheld"
FORFEITED = "forfeited"
STATUSES = (PAID, WITHHELD, FORFEITED)
"""What happens to a play's money: paid now, held until a decision, or never paid."""


@dataclass(frozen=True, kw_only=True)
class PayoutHolds:
    """The integrity state payouts follow: which tracks are held and which plays are flagged.

    Attributes:
        quarantined: tracks quarantined now (their plays are withheld).
        disputed: tracks whose label is under dispute (withheld).
        unscreened: tracks whose screening has not finished (withheld).
        confirmed: quarantined tracks whose quarantine a rights admin confirmed (forfeited).
        flagged_events: play events flagged as artificial streaming (forfeited).
        anonymous_events: play events no authenticated caller sent (forfeited: money follows
            what the service can attribute to a caller, never an anonymous claim).
    """

    quarantined: frozenset[str] = frozenset()
    disputed: frozenset[str] = frozenset()
    unscreened: frozenset[str] = frozenset()
    confirmed: frozenset[str] = frozenset()
    flagged_events: frozenset[str] = frozenset()
    anonymous_events: frozenset[str] = frozenset()

    def status(self, event_id: str, track_id: str) -> tuple[str, str]:
        """(status, reason) of one play; the reason is empty for a paid play.

        A flag or a confirmed quarantine forfeits; otherwise a quarantine, a dispute or
        unfinished screening withholds.
        """
        if event_id in self.flagged_events:
            return FORFEITED, "flagged"
        if event_id in self.anonymous_events:
            return FORFEITED, "anonymous"
        if track_id in self.confirmed:
            return FORFEITED, "confirmed_quarantine"
        if track_id in self.quarantined:
            return WITHHELD, "quarantined"
        if track_id in self.disputed:
            return WITHHELD, "disputed"
        if track_id in self.unscreened:
            return WITHHELD, "unscreened"
        return PAID, ""

    @classmethod
    def from_store(cls, store: Store, anonymous_events: Iterable[str] = ()) -> PayoutHolds:
        """The current state in a store (``anonymous_events``: the plays in it nobody
        authenticated, which the caller read with the events)."""
        from recsys.integrity.quarantine import confirmed_ids

        quarantined = store.quarantined_ids()
        return cls(
            quarantined=quarantined,
            disputed=store.disputed_ids(),
            unscreened=store.unscreened_ids(),
            confirmed=confirmed_ids(store.quarantine_history()) & quarantined,
            flagged_events=store.flagged_event_ids(),
            anonymous_events=frozenset(anonymous_events),
        )


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
        status: ``paid``, ``withheld`` or ``forfeited`` (see :class:`PayoutHolds`).
        hold_reason: why a play is withheld or forfeited (``quarantined``, ``disputed``,
            ``unscreened``, ``flagged``, ``anonymous``, ``confirmed_quarantine``); empty when
            paid.
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
    status: str = PAID
    hold_reason: str = ""

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
    return plays_of(event.weight)


def plays_of(weight: float) -> int:
    """Plays an event of this weight counts (see :func:`play_count`)."""
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


PlayRow = tuple[str, str, str, float, str | None, int | None]
"""A play event's metering columns: (event_id, listener_id, track_id, weight, request_id,
position)."""


def _link(
    track_id: str, request_id: str | None, position: int | None, slates: Mapping[str, ServedSlate]
) -> tuple[bool, bool]:
    """(linked, from_agent) for an event's request id and position."""
    if request_id is None or request_id not in slates:
        return False, False
    slate = slates[request_id]
    linked = any(
        item.track_id == track_id and (position is None or item.position == position)
        for item in slate.items
    )
    return linked, linked and slate.ai_features


def meter_plays(
    events: Iterable[FeedbackEvent],
    tracks: Mapping[str, Track],
    artists: Mapping[str, Artist],
    slates: Mapping[str, ServedSlate],
    holds: PayoutHolds | None = None,
) -> list[MeteredPlay]:
    """Credit every play event.

    Args:
        events: feedback events; only plays are metered.
        tracks: the catalog by track id.
        artists: artists by id (for their rights holders).
        slates: served slates by request id.
        holds: the integrity state deciding each play's status (None: every play is paid).

    Returns:
        One :class:`MeteredPlay` per play event, in event order.
    """
    plays = [e for e in events if e.event_type is EventType.PLAY]
    anonymous = {e.event_id for e in plays if e.sender == ANONYMOUS_SENDER}
    holds = holds or PayoutHolds()
    if anonymous:
        holds = replace(holds, anonymous_events=holds.anonymous_events | anonymous)
    rows = ((e.event_id, e.listener_id, e.track_id, e.weight, e.request_id, e.position)
            for e in plays)  # fmt: skip
    return meter_rows(rows, tracks, artists, slates, holds)


def meter_rows(
    rows: Iterable[PlayRow],
    tracks: Mapping[str, Track],
    artists: Mapping[str, Artist],
    slates: Mapping[str, ServedSlate],
    holds: PayoutHolds | None = None,
) -> list[MeteredPlay]:
    """:func:`meter_plays` over play events given as :data:`PlayRow` tuples (a store's events
    frame, without building a :class:`FeedbackEvent` per row)."""
    holds = holds or PayoutHolds()
    shares_cache: dict[str, dict[str, int]] = {}
    metered: list[MeteredPlay] = []
    for event_id, listener_id, track_id, weight, request_id, position in rows:
        plays = plays_of(weight)
        track = tracks.get(track_id)
        if track is None:
            shares = {UNATTRIBUTED: MICRO}
        else:
            if track_id not in shares_cache:
                shares_cache[track_id] = micro_shares(track, artists)
            shares = shares_cache[track_id]
        linked, from_agent = _link(track_id, request_id, position, slates)
        reasons: list[str] = []
        if from_agent:
            reasons.append("agent")
        if track is not None and track.provenance.ai_involvement in AI_TRACK_LEVELS:
            reasons.append("ai_track")
        status, hold_reason = holds.status(event_id, track_id)
        metered.append(
            MeteredPlay(
                event_id=event_id,
                listener_id=listener_id,
                track_id=track_id,
                plays=plays,
                request_id=request_id,
                position=position,
                linked=linked,
                ai_reasons=tuple(reasons),
                micro_credits={h: s * plays for h, s in shares.items()} if plays != 1 else shares,
                status=status,
                hold_reason=hold_reason,
            )
        )
    return metered


Entitlements = dict[tuple[str, str], int]
"""Micro-units of money per (status, rights holder)."""


@dataclass(frozen=True, kw_only=True)
class Settlement:
    """A pool split under one model, after withholding and forfeiting (micro-units).

    Attributes:
        pool: the pool.
        paid: paid per holder now, including its part of ``redistributed``.
        withheld: held per holder until the track is released or the quarantine confirmed
            (including its part of ``redistributed``).
        forfeited: what each holder's forfeited plays would have earned (not paid to them).
        redistributed: forfeited money each holder received, paid or withheld.
        unallocated: forfeited money with no other play to go to (carried to the next pool).
    """

    pool: int
    paid: dict[str, int] = field(default_factory=dict)
    withheld: dict[str, int] = field(default_factory=dict)
    forfeited: dict[str, int] = field(default_factory=dict)
    redistributed: dict[str, int] = field(default_factory=dict)
    unallocated: int = 0

    def totals(self) -> dict[str, int]:
        """Totals: paid + withheld + unallocated = pool; forfeited = redistributed +
        unallocated."""
        return {
            "pool": self.pool,
            PAID: sum(self.paid.values()),
            WITHHELD: sum(self.withheld.values()),
            FORFEITED: sum(self.forfeited.values()),
            "redistributed": sum(self.redistributed.values()),
            "unallocated": self.unallocated,
        }


def settle(
    entitled: Entitlements, pool_micro: int, by: Mapping[tuple[str, str], int] | None = None
) -> Settlement:
    """Withhold, forfeit and redistribute: the forfeited money goes to every paid and
    withheld part in proportion to ``by`` (default: the entitlements themselves), each part
    keeping its status.

    Args:
        entitled: micro-units per (status, holder).
        pool_micro: the pool.
        by: weights per (status, holder) to redistribute by; pro rata passes the credited
            micro-plays, so a part rounded down to nothing still gets its share.
    """
    weights = entitled if by is None else by
    kept = {k: v for k, v in weights.items() if k[0] != FORFEITED}
    forfeited_total = sum(v for k, v in entitled.items() if k[0] == FORFEITED)
    extra: dict[tuple[str, str], int] = {}
    unallocated = 0
    if forfeited_total:
        if any(kept.values()):
            extra = allocate(forfeited_total, kept)
        else:
            unallocated = forfeited_total
    parts: dict[str, dict[str, int]] = {s: defaultdict(int) for s in STATUSES}
    redistributed: dict[str, int] = defaultdict(int)
    for (status, holder), micro in entitled.items():
        parts[status][holder] += micro + extra.get((status, holder), 0)
    for (_, holder), micro in extra.items():
        redistributed[holder] += micro
    return Settlement(
        pool=pool_micro,
        paid=dict(parts[PAID]),
        withheld=dict(parts[WITHHELD]),
        forfeited=dict(parts[FORFEITED]),
        redistributed=dict(redistributed),
        unallocated=unallocated,
    )


def credited(plays: Sequence[MeteredPlay]) -> dict[tuple[str, str], int]:
    """Credited micro-plays per (status, holder)."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for play in plays:
        for holder, micro in play.micro_credits.items():
            totals[(play.status, holder)] += micro
    return dict(totals)


def pro_rata_entitlements(plays: Sequence[MeteredPlay], pool_micro: int) -> Entitlements:
    """Split a pool (in micro-units of money) by each (status, holder)'s share of all
    credited plays."""
    totals = credited(plays)
    return allocate(pool_micro, totals) if totals else {}


def user_centric_entitlements(plays: Sequence[MeteredPlay], pool_micro: int) -> Entitlements:
    """Split a pool equally between listeners who played anything, then each listener's
    part by the (status, holder) of what that listener played."""
    per_listener: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    for play in plays:
        for holder, micro in play.micro_credits.items():
            per_listener[play.listener_id][(play.status, holder)] += micro
    if not per_listener:
        return {}
    listener_pools = allocate(pool_micro, dict.fromkeys(per_listener, 1))
    payouts: dict[tuple[str, str], int] = defaultdict(int)
    for listener_id, keys in per_listener.items():
        for key, micro in allocate(listener_pools[listener_id], keys).items():
            payouts[key] += micro
    return dict(payouts)


def pro_rata_payouts(plays: Sequence[MeteredPlay], pool_micro: int) -> Settlement:
    """The pro-rata settlement: the pool by share of all credited plays, withheld parts set
    aside, forfeits redistributed pro rata over the plays not forfeited."""
    totals = credited(plays)
    entitled = allocate(pool_micro, totals) if totals else {}
    return settle(entitled, pool_micro, by=totals)


def user_centric_payouts(plays: Sequence[MeteredPlay], pool_micro: int) -> Settlement:
    """The user-centric settlement: each listener's equal part by what they played, withheld
    parts set aside, forfeits redistributed in proportion to the amounts not forfeited (so a
    listener whose every play was forfeited funds nobody in particular)."""
    return settle(user_centric_entitlements(plays, pool_micro), pool_micro)


__all__ = [
    "AI_TRACK_LEVELS",
    "FORFEITED",
    "PAID",
    "STATUSES",
    "UNATTRIBUTED",
    "WITHHELD",
    "Entitlements",
    "MeteredPlay",
    "PayoutHolds",
    "PlayRow",
    "Settlement",
    "credited",
    "meter_plays",
    "meter_rows",
    "micro_shares",
    "micro_to_decimal",
    "play_count",
    "plays_of",
    "pro_rata_entitlements",
    "pro_rata_payouts",
    "settle",
    "user_centric_entitlements",
    "user_centric_payouts",
]
