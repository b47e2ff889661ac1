"""Who is worth protecting from impersonation, on evidence an uploader cannot make.

An uploader controls its own data: names, claimed times, and the plays of accounts it creates.
So protection rests on what it cannot control:

- **verified** artists (the distributor verified their identity);
- artists of a rights holder with an **agreement**: a holder with at least
  ``agreement_min_verified`` verified artists (a label or distributor the service has verified
  acts from). An unverified artist may name such a holder, but then that holder is the payee:
  the uploader earns nothing from the name. (Consent ledger actors in data files are claims,
  so they do not count as agreements.)
- artists with **established listeners**: listeners the service received at least
  ``established_margin_hours`` before the artist itself (its receipt time, not a claimed
  ``created_at``) or before their play (the event's receipt time, when the store records it),
  and the listeners of the store's first load for the artists of that load (the catalog the
  service started from is its history; the first batch is the first run of receipt stamps,
  which the store keeps a millisecond apart between batches). Accounts created with a later
  upload, or after it, never make an artist established, however many plays they send. Plays
  flagged as artificial streaming never count.

Protected artists are never screened as imitators. The most played artists (by every unflagged
play) are also **targets**: their names are compared with new uploads, but playing an artist
up never exempts it from being screened itself, and the namesake rule counts established plays
only. First claim between look-alikes and duplicates goes to verified rights, then to what the
service received first (:func:`claim_order`), never to a claimed time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from recsys.domain import Artist, Track
from recsys.store.codec import from_micros, to_micros
from recsys.store.sqlite import BATCH_GAP_US

if TYPE_CHECKING:
    from recsys.integrity.screening import ScreeningConfig
    from recsys.store import Store

_LATEST = datetime.max.replace(tzinfo=None)


@dataclass(frozen=True, kw_only=True)
class ProtectedArtists:
    """The artists worth protecting, by the evidence for each.

    Attributes:
        verified: verified artists.
        agreement: artists of rights holders with an agreement (several verified artists).
        established: artists with at least ``established_min_listeners`` established
            listeners.
        popular: the most played artists by every unflagged play (targets, not exempt).
        established_plays: plays from established listeners per artist (the namesake rule).
        first_load_until: the end of the store's first load on the receipt clock.
    """

    verified: frozenset[str] = frozenset()
    agreement: frozenset[str] = frozenset()
    established: frozenset[str] = frozenset()
    popular: frozenset[str] = frozenset()
    established_plays: Mapping[str, float] = field(default_factory=dict)
    first_load_until: datetime | None = None
    """The last receipt stamp of the store's first load (None: nothing stored yet)."""
    batch_starts: tuple[int, ...] = ()
    """Start of each write batch on the receipt clock (microseconds, ascending)."""

    def prior_use(self, a: Artist, b: Artist) -> bool:
        """Whether the service received artist ``a`` in an earlier batch than ``b``. Inside
        one batch nothing came first: its order is the uploader's file."""
        if a.received_at is None or b.received_at is None:
            return False
        if not self.batch_starts:
            return a.received_at < b.received_at
        at = np.array([to_micros(a.received_at), to_micros(b.received_at)], dtype=np.int64)
        batch_a, batch_b = np.searchsorted(np.asarray(self.batch_starts), at, side="right")
        return bool(batch_a < batch_b)

    @property
    def exempt(self) -> frozenset[str]:
        """Artists never screened as imitators: protected by evidence an uploader cannot
        make."""
        return self.verified | self.agreement | self.established

    @property
    def targets(self) -> frozenset[str]:
        """Artists whose names new uploads are compared with."""
        return self.exempt | self.popular

    def why(self, artist_id: str) -> str:
        """The evidence that makes an artist a target, in words."""
        reasons = [
            label
            for label, ids in (
                ("verified", self.verified),
                ("rights-holder agreement", self.agreement),
                ("established listeners", self.established),
                ("most played", self.popular),
            )
            if artist_id in ids
        ]
        return ", ".join(reasons) or "not protected"


def agreement_artists(artists: Mapping[str, Artist], min_verified: int) -> frozenset[str]:
    """Artists whose rights holder has at least ``min_verified`` verified artists."""
    verified_by_holder: dict[str, int] = {}
    for a in artists.values():
        if a.verified:
            verified_by_holder[a.rights_holder_id] = (
                verified_by_holder.get(a.rights_holder_id, 0) + 1
            )
    holders = {h for h, n in verified_by_holder.items() if n >= min_verified}
    return frozenset(a.artist_id for a in artists.values() if a.rights_holder_id in holders)


def _primary_artists(tracks: Sequence[Track]) -> pd.Series:
    return pd.Series(
        {t.track_id: t.primary_artist_id for t in tracks if t.primary_artist_id is not None},
        dtype=object,
    )


def _plays(events: pd.DataFrame, exclude_event_ids: Collection[str]) -> pd.DataFrame:
    if events.empty:
        return events
    plays = events[events["event_type"] == "play"]
    if exclude_event_ids:
        plays = plays[~plays["event_id"].isin(list(exclude_event_ids))]
    return plays


def plays_by_artist(
    events: pd.DataFrame, tracks: Sequence[Track], exclude_event_ids: Collection[str] = ()
) -> dict[str, float]:
    """Play events per primary artist, without the excluded (flagged) events."""
    plays = _plays(events, exclude_event_ids)
    if plays.empty:
        return {}
    artist = plays["track_id"].map(_primary_artists(tracks)).dropna()
    return {str(a): float(n) for a, n in artist.value_counts().items()}


def _times(by_id: Mapping[str, datetime | None]) -> pd.Series:
    """A UTC time per id, for a vectorised ``Series.map``."""
    return pd.Series(
        pd.to_datetime(list(by_id.values()), utc=True),
        index=list(by_id.keys()),
        dtype="datetime64[us, UTC]",
    )


def established_listener_plays(
    events: pd.DataFrame,
    tracks: Sequence[Track],
    artists: Mapping[str, Artist],
    listener_received: Mapping[str, datetime | None],
    margin: timedelta,
    exclude_event_ids: Collection[str] = (),
    first_load_until: datetime | None = None,
) -> tuple[dict[str, float], dict[str, int]]:
    """Plays and distinct listeners per primary artist, counting established listeners only.

    A listener is established for an artist when the service received the listener at least
    ``margin`` before the artist, or before the play (the event's ``received_at``, when the
    events carry one), or when both the listener and the artist came with the first load
    (received at or before ``first_load_until``). Listeners without a receipt time are not
    established.

    Returns:
        (plays per artist, distinct established listeners per artist).
    """
    plays = _plays(events, exclude_event_ids)
    if plays.empty:
        return {}, {}
    frame = pd.DataFrame(
        {
            "listener_id": plays["listener_id"].to_numpy(),
            "artist_id": plays["track_id"].map(_primary_artists(tracks)).to_numpy(),
        }
    )
    joined = frame["listener_id"].map(_times(dict(listener_received)))
    artist_at = frame["artist_id"].map(
        _times({a.artist_id: a.received_at for a in artists.values()})
    )
    established = (joined + margin <= artist_at).fillna(False)
    if first_load_until is not None:
        until = pd.Timestamp(first_load_until)
        established |= ((joined <= until) & (artist_at <= until)).fillna(False)
    if "received_at" in plays.columns:
        play_at = pd.to_datetime(pd.Series(plays["received_at"].to_numpy()), utc=True)
        established |= (joined + margin <= play_at).fillna(False)
    kept = frame[established.to_numpy(dtype=bool) & frame["artist_id"].notna().to_numpy()]
    counts = kept["artist_id"].value_counts()
    listeners = kept.groupby("artist_id")["listener_id"].nunique()
    return (
        {str(a): float(n) for a, n in counts.items()},
        {str(a): int(n) for a, n in listeners.items()},
    )


def receipt_batches(stamps: Iterable[datetime | None], gap_us: int = BATCH_GAP_US) -> np.ndarray:
    """Start of each write batch on the receipt clock (microseconds, ascending): a batch is a
    run of stamps with no gap of ``gap_us`` (the store keeps batches at least that far
    apart). Rows of one batch arrived together: their order inside it is the file's."""
    micros = np.unique(np.fromiter((to_micros(s) for s in stamps if s is not None), dtype=np.int64))
    if not len(micros):
        return micros
    return micros[np.concatenate([[0], np.flatnonzero(np.diff(micros) >= gap_us) + 1])]


def first_load_end(
    stamps: Iterable[datetime | None], gap_us: int = BATCH_GAP_US
) -> datetime | None:
    """The last stamp of the store's first batch (None when nothing is stamped)."""
    micros = np.unique(np.fromiter((to_micros(s) for s in stamps if s is not None), dtype=np.int64))
    if not len(micros):
        return None
    gaps = np.flatnonzero(np.diff(micros) >= gap_us)
    return from_micros(int(micros[gaps[0]] if len(gaps) else micros[-1]))


def known_artists(
    plays_by_artist: Mapping[str, float], n_artists: int, config: ScreeningConfig
) -> frozenset[str]:
    """The most played artists: ``known_artist_share`` of all artists, at least
    ``known_artist_min`` (ties broken by id)."""
    count = max(config.known_artist_min, round(config.known_artist_share * n_artists))
    ranked = sorted(plays_by_artist, key=lambda a: (-plays_by_artist[a], a))
    return frozenset(a for a in ranked[:count] if plays_by_artist[a] > 0)


def protected_artists(
    store: Store,
    tracks: Sequence[Track],
    artists: Mapping[str, Artist],
    config: ScreeningConfig,
) -> ProtectedArtists:
    """The protected artists of a store's catalog (see the module docstring).

    Example:
        >>> config = ScreeningConfig()  # doctest: +SKIP
        >>> protected = protected_artists(store, tracks, artists, config)  # doctest: +SKIP
        >>> protected.why("a_00042")  # doctest: +SKIP
        'verified, most played'
    """
    events = store.read_frame("events")
    flagged = store.flagged_event_ids()
    received = {u.listener_id: u.received_at for u in store.iter_listeners()}
    margin = timedelta(hours=config.established_margin_hours)
    stamps = [
        *received.values(),
        *(a.received_at for a in artists.values()),
        *(t.received_at for t in tracks),
    ]
    first_load = first_load_end(stamps)
    est_plays, est_listeners = established_listener_plays(
        events, tracks, artists, received, margin, flagged, first_load
    )
    established = frozenset(
        a for a, n in est_listeners.items() if n >= config.established_min_listeners
    )
    return ProtectedArtists(
        verified=frozenset(a.artist_id for a in artists.values() if a.verified),
        agreement=agreement_artists(artists, config.agreement_min_verified),
        established=established,
        popular=known_artists(plays_by_artist(events, tracks, flagged), len(artists), config),
        established_plays=est_plays,
        first_load_until=first_load,
        batch_starts=tuple(int(x) for x in receipt_batches(stamps)),
    )


def claim_order(track: Track, artists: Mapping[str, Artist]) -> tuple[bool, datetime, str]:
    """Sort key for first claim between copies of one work: a verified primary artist first,
    then what the service received first (``received_at``), then id. Claimed upload times
    never count.

    Example:
        >>> original = min(pair, key=lambda t: claim_order(t, artists))  # doctest: +SKIP
    """
    artist = artists.get(track.primary_artist_id or "")
    verified = artist is not None and artist.verified
    at = track.received_at
    when = at.replace(tzinfo=None) if at is not None else _LATEST
    return (not verified, when, track.track_id)


def received_before(a: Artist, b: Artist) -> bool:
    """Whether the service received artist ``a`` before ``b`` (False when either is unknown)."""
    return a.received_at is not None and b.received_at is not None and a.received_at < b.received_at


__all__ = [
    "ProtectedArtists",
    "agreement_artists",
    "claim_order",
    "established_listener_plays",
    "first_load_end",
    "known_artists",
    "plays_by_artist",
    "protected_artists",
    "receipt_batches",
    "received_before",
]
