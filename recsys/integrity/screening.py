"""Upload screens: small components that each look for one kind of abuse and return flags.

Every flag names the track, a machine-readable reason and human-readable evidence, so a rights
admin can judge the quarantine it causes. Screens see the whole catalog (a burst or an
imitation only shows against other uploads), through one :class:`ScreenContext`.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from recsys.domain import Artist, Track
from recsys.integrity.names import NameIndex
from recsys.integrity.protected import ProtectedArtists, known_artists, received_before

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Flag:
    """One screen's finding on one track.

    Attributes:
        track_id: the flagged track.
        reason: machine-readable kind (``ultra_short``, ``keyword_stuffing``, ``upload_burst``,
            ``slow_drip``, ``imitation_name``, ``near_duplicate``).
        evidence: what the screen saw, in words.
        score: the screen's measurement (seconds, similarity, upload count, ...).
    """

    track_id: str
    reason: str
    evidence: str
    score: float = 0.0


@dataclass(frozen=True, kw_only=True)
class ScreenContext:
    """What the screens look at: the catalog and, for near-duplicates, audio vectors."""

    tracks: Sequence[Track]
    artists: Mapping[str, Artist]
    track_ids: frozenset[str] | None = None
    """Only flag these tracks (new uploads); None screens the whole catalog."""

    def in_scope(self, track_id: str) -> bool:
        """Whether the screen may flag this track."""
        return self.track_ids is None or track_id in self.track_ids


class Screen(Protocol):
    """One kind of check."""

    reason: str

    def screen(self, context: ScreenContext) -> list[Flag]:
        """Flags for the tracks in scope."""
        ...


class RateWindow(BaseModel):
    """One sliding window of the upload-rate screen and its limit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hours: float = Field(gt=0)
    """Window length."""
    max_uploads: int = Field(ge=1)
    """More uploads than this from one account, or paying one rights holder, within the
    window is abuse (multiplied by ``trusted_rate_factor`` for verified rights)."""


# Limits by the kind of abuse: a farm account or payee fills the catalog with filler, fast
# (a burst) or slowly to stay under an hourly limit (a drip over days). An unverified act's
# honest pattern is an album (12-20 tracks, usually uploaded at once) and some singles in a
# week; anything more from one account or payee waits for a rights admin.
DEFAULT_RATE_WINDOWS = (
    RateWindow(hours=1, max_uploads=15),
    RateWindow(hours=24, max_uploads=25),
)
# Drips over days and weeks are judged on the receipt clock alone, against the catalog's own
# baseline (:mod:`recsys.integrity.drips`); a week-long window over claimed times rested on
# what uploaders say, and held the demo world's prolific accounts that its truth calls organic.


class DripConfig(BaseModel):
    """Limits and signals of the slow-drip screen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_days: float = Field(28.0, gt=0)
    """The long sliding window, on the receipt clock."""
    max_uploads: int = Field(30, ge=1)
    """More uploads than this in the window is a drip whatever else is true."""
    min_uploads: int = Field(8, ge=1)
    """The soft limit's floor: at most this many is never a drip (an album fits)."""
    baseline_quantile: float = Field(0.95, gt=0, le=1)
    """The quantile of protected groups' window counts the soft limit starts from ..."""
    baseline_factor: float = Field(2.0, ge=1)
    """... times this."""
    baseline_min_groups: int = Field(10, ge=1)
    """Fewer protected groups with uploads in the window than this: the floor alone."""
    trusted_factor: float = Field(10.0, ge=1)
    """The hard limit is this many times higher for accounts and payees with verified rights."""
    min_new_accounts: int = Field(3, ge=2)
    """A payee paid by this many accounts new in the window is corroborated."""
    min_gaps: int = Field(8, ge=2)
    """Receipt gaps needed to judge their regularity ..."""
    batch_gap_s: float = Field(60.0, ge=0)
    """... counting only gaps longer than this (shorter ones are one batch) ..."""
    max_gap_cv: float = Field(0.35, gt=0)
    """... and regular when their coefficient of variation is below this."""
    undeclared_share: float = Field(0.75, gt=0, le=1)
    """At least this share of a group's uploads ``UNDISCLOSED`` is corroboration."""


class ScreeningConfig(BaseModel):
    """Thresholds of the non-audio screens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_duration_s: float = Field(30.0, gt=0)
    """Tracks shorter than this (and longer than 0, which means unknown) are ultra-short."""
    max_title_words: int = Field(10, ge=3)
    """Titles with more words than this are keyword-stuffed."""
    max_title_keywords: int = Field(4, ge=1)
    """Titles with more catalog tag/genre keywords than this are keyword-stuffed."""
    max_title_separators: int = Field(3, ge=1)
    """Titles with more separators (``|``, ``,``, ``#``, ``/``) than this are keyword-stuffed."""
    rate_windows: tuple[RateWindow, ...] = DEFAULT_RATE_WINDOWS
    """Sliding windows of the upload-rate screen, each per uploader account and per payee
    (rights holder of the credited artists). Upload time is the claimed ``uploaded_at``, never
    later than the service received the track, and the receipt time when none is claimed."""
    drip: DripConfig = Field(default_factory=DripConfig)
    """The slow-drip screen over weeks, on the receipt clock (:mod:`recsys.integrity.drips`)."""
    receipt_window_hours: float = Field(24.0, gt=0)
    """One more window on the service's own receipt clock only, so claimed times spread over
    months cannot hide a bulk upload ..."""
    receipt_max_uploads: int = Field(100, ge=1)
    """... of more than this many tracks (a whole catalog arrives at once only from rights
    holders the service can verify)."""
    trusted_rate_factor: float = Field(10.0, ge=1, le=100)
    """Limits are this many times higher for an account whose uploads credit verified or
    agreement artists only, and for a payee with a verified artist: a label releasing albums
    is not a drip, within these bounds."""
    imitation_threshold: float = Field(0.88, gt=0, le=1)
    """Name similarity at or above which an unverified artist imitates a protected one."""
    imitation_min_length: int = Field(4, ge=1)
    """Name keys shorter than this are never compared (too many innocent collisions)."""
    imitation_fuzzy_min_length: int = Field(6, ge=1)
    """Name keys shorter than this only match exactly (one letter off a five-letter name is
    another name; disguises of short names fold to the exact key)."""
    known_artist_share: float = Field(0.02, ge=0, le=1)
    """The most played artists are name targets too: this share of artists ..."""
    known_artist_min: int = Field(10, ge=0)
    """... and at least this many (most played is a target, never an exemption)."""
    agreement_min_verified: int = Field(2, ge=1)
    """A rights holder with this many verified artists has an agreement: its artists are
    protected."""
    established_margin_hours: float = Field(24.0 * 7, ge=0)
    """A listener is established for an artist when the service received it this long before
    the artist, or before the play."""
    established_min_listeners: int = Field(10, ge=1)
    """Artists with this many established listeners are protected."""
    namesake_play_share: float = Field(0.25, ge=0)
    """A look-alike whose established-listener plays reach this share of the protected
    artist's is a namesake, not a parasite."""


class UltraShortScreen:
    """Flags tracks shorter than a minimum duration (streaming-farm filler)."""

    reason = "ultra_short"

    def __init__(self, min_duration_s: float = 30.0) -> None:
        self.min_ms = int(min_duration_s * 1000)

    def screen(self, context: ScreenContext) -> list[Flag]:
        return [
            Flag(
                track_id=t.track_id,
                reason=self.reason,
                evidence=f"duration {t.duration_ms / 1000:.1f} s < {self.min_ms / 1000:.0f} s",
                score=t.duration_ms / 1000,
            )
            for t in context.tracks
            if context.in_scope(t.track_id) and 0 < t.duration_ms < self.min_ms
        ]


_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_YEAR = re.compile(r"^(19|20)\d\d$")
# Search terms stuffed into titles on every streaming service, whatever the catalog's tags.
SEARCH_TERMS = frozenset(
    [
        "best",
        "beats",
        "free",
        "hits",
        "lofi",
        "lyrics",
        "mix",
        "music",
        "new",
        "official",
        "playlist",
        "remix",
        "songs",
        "spotify",
        "tiktok",
        "top",
        "trending",
        "viral",
    ]
)
_SEPARATORS = re.compile(r"[|,#/;•]")


class KeywordStuffingScreen:
    """Flags titles stuffed with search keywords: too long, too many keywords (catalog tag
    and genre words, common search terms, years), too many separators, or a word repeated three
    times or more."""

    reason = "keyword_stuffing"

    def __init__(self, max_words: int = 10, max_keywords: int = 4, max_separators: int = 3):
        self.max_words = max_words
        self.max_keywords = max_keywords
        self.max_separators = max_separators

    def screen(self, context: ScreenContext) -> list[Flag]:
        vocabulary = {
            w.casefold()
            for t in context.tracks
            for text in (*t.tags, t.genre)
            for w in _WORD.findall(text)
            if len(w) > 2
        }
        flags = []
        for track in context.tracks:
            if not context.in_scope(track.track_id):
                continue
            words = [w.casefold() for w in _WORD.findall(track.title)]
            keywords = sorted(
                {w for w in words if w in vocabulary or w in SEARCH_TERMS or _YEAR.match(w)}
            )
            separators = len(_SEPARATORS.findall(track.title))
            repeated = [w for w, n in Counter(words).items() if n >= 3]
            problems = []
            if len(words) > self.max_words:
                problems.append(f"{len(words)} words > {self.max_words}")
            if len(keywords) > self.max_keywords:
                problems.append(f"{len(keywords)} keywords ({', '.join(keywords[:8])})")
            if separators > self.max_separators:
                problems.append(f"{separators} separators > {self.max_separators}")
            if repeated:
                problems.append(f"repeated {', '.join(repeated)}")
            if problems:
                flags.append(
                    Flag(
                        track_id=track.track_id,
                        reason=self.reason,
                        evidence=f"title {track.title!r}: " + "; ".join(problems),
                        score=float(max(len(words), len(keywords), separators)),
                    )
                )
        return flags


def upload_time(track: Track, history_until: datetime | None = None) -> datetime | None:
    """When a track counts as uploaded for rate screens: the claimed ``uploaded_at``, but
    never later than the service received it (a claimed future cannot spread a drip), and
    the receipt time when nothing is claimed (undated uploads are screened like any other),
    except in the store's first load (``history_until``): an undated catalog the service
    started from arrived at once, which says nothing about its upload rate."""
    claimed, received = track.uploaded_at, track.received_at
    if claimed is not None and claimed.tzinfo is None:
        claimed = claimed.replace(tzinfo=UTC)
    if claimed is None:
        if received is not None and history_until is not None and received <= history_until:
            return None
        return received
    return claimed if received is None else min(claimed, received)


def flag_strongest(
    flagged: dict[str, Flag],
    members: Iterable[Track],
    context: ScreenContext,
    *,
    reason: str,
    evidence: str,
    score: float,
) -> None:
    """Flag every in-scope member in ``flagged`` unless it already holds a flag at least as
    strong (a track in several windows keeps its worst one)."""
    for member in members:
        old = flagged.get(member.track_id)
        if context.in_scope(member.track_id) and (old is None or old.score < score):
            flagged[member.track_id] = Flag(
                track_id=member.track_id, reason=reason, evidence=evidence, score=score
            )


def _window_label(hours: float) -> str:
    if hours >= 48 and hours % 24 == 0:
        return f"{hours / 24:.0f} d"
    return f"{hours:g} h"


class UploadBurstScreen:
    """Flags every upload inside a sliding window where one account, or one payee (the rights
    holders of the credited artists), uploaded too many tracks: fast bursts and slow drips.

    Each window has its own limit; limits are ``trusted_factor`` times higher for accounts
    whose uploads credit ``trusted_artist_ids`` only (verified, agreement or established
    listeners: evidence an uploader cannot make) and for payees with such an artist.
    Windows run over :func:`upload_time`; one more window runs over the receipt clock alone.

    Args:
        windows: (hours, limit) windows.
        trusted_artist_ids: artists with verified rights (verified or agreement).
        trusted_factor: the multiplier of their limits.
        receipt_window: a window over ``received_at`` only, or None.
        history_until: uploads received at or before this (the store's first load: a catalog
            arriving at once) are left out of the receipt window.
    """

    reason = "upload_burst"

    def __init__(
        self,
        windows: Sequence[RateWindow] = DEFAULT_RATE_WINDOWS,
        *,
        trusted_artist_ids: Collection[str] = frozenset(),
        trusted_factor: float = 10.0,
        receipt_window: RateWindow | None = None,
        history_until: datetime | None = None,
    ) -> None:
        self.windows = tuple(windows)
        self.history_until = history_until
        self.trusted = frozenset(trusted_artist_ids)
        self.trusted_factor = trusted_factor
        self.receipt_window = receipt_window

    def screen(self, context: ScreenContext) -> list[Flag]:
        groups: dict[tuple[str, str], list[Track]] = defaultdict(list)
        trusted_groups: set[tuple[str, str]] = set()
        untrusted_accounts: set[str] = set()
        for t in context.tracks:
            holders = {
                a.rights_holder_id for aid in t.artist_ids if (a := context.artists.get(aid))
            }
            if t.uploader_id:
                groups[("account", t.uploader_id)].append(t)
                if not t.artist_ids or any(a not in self.trusted for a in t.artist_ids):
                    untrusted_accounts.add(t.uploader_id)
            for holder in holders:
                groups[("payee", holder)].append(t)
        for aid in self.trusted:
            if (artist := context.artists.get(aid)) is not None:
                trusted_groups.add(("payee", artist.rights_holder_id))
        trusted_groups |= {
            key for key in groups if key[0] == "account" and key[1] not in untrusted_accounts
        }
        flagged: dict[str, Flag] = {}
        for key, uploads in groups.items():
            factor = self.trusted_factor if key in trusted_groups else 1.0
            for window in self.windows:
                self._slide(key, uploads, window, factor, self._upload_time, "", context, flagged)
            if self.receipt_window is not None:
                self._slide(
                    key,
                    uploads,
                    self.receipt_window,
                    factor,
                    self._received,
                    " received",
                    context,
                    flagged,
                )
        return list(flagged.values())

    def _upload_time(self, track: Track) -> datetime | None:
        return upload_time(track, self.history_until)

    def _received(self, track: Track) -> datetime | None:
        at, until = track.received_at, self.history_until
        return None if at is None or (until is not None and at <= until) else at

    def _slide(
        self,
        key: tuple[str, str],
        uploads: list[Track],
        window: RateWindow,
        factor: float,
        when: Callable[[Track], datetime | None],
        verb: str,
        context: ScreenContext,
        flagged: dict[str, Flag],
    ) -> None:
        """Flag the uploads of every window position over the limit."""
        dated = sorted(
            ((at, t) for t in uploads if (at := when(t)) is not None),
            key=lambda p: (p[0], p[1].track_id),
        )
        if not dated:
            return
        limit = int(window.max_uploads * factor)
        span = timedelta(hours=window.hours)
        start = 0
        for end, (at, _) in enumerate(dated):
            while dated[start][0] <= at - span:
                start += 1
            count = end - start + 1
            if count <= limit:
                continue
            kind, who = key
            accounts = sorted({t.uploader_id for _, t in dated[start : end + 1] if t.uploader_id})
            via = f" (accounts {', '.join(accounts[:5])})" if kind == "payee" else ""
            subject = (
                f"by account {who}" if kind == "account" else f"paying rights holder {who}{via}"
            )
            evidence = (
                f"{count} uploads {subject}{verb} within {_window_label(window.hours)} "
                f"(limit {limit}; {dated[start][0]:%Y-%m-%d %H:%M} to {at:%Y-%m-%d %H:%M})"
            )
            flag_strongest(
                flagged, (m for _, m in dated[start : end + 1]), context,
                reason=self.reason, evidence=evidence, score=float(count),
            )  # fmt: skip


class ImitationNameScreen:
    """Flags tracks whose credited artist is an unverified name imitating a protected artist.

    Names are compared through :func:`~recsys.integrity.names.name_keys` (confusable
    skeletons, decorations stripped) in a :class:`~recsys.integrity.names.NameIndex` of the
    targets. Protected artists (verified, agreement, established listeners; see
    :mod:`recsys.integrity.protected`) are never suspects; the most played ones are targets
    but are screened themselves. Without ``protected`` the verified artists are the targets.

    Spared: artists of the target's own rights holder (the payee is the target's), and
    namesakes: an artist the service received in an earlier batch than the target (prior use,
    by receipt time, never a claimed ``created_at``; inside one batch nothing came first), or
    whose established-listener plays reach ``namesake_play_share`` of the target's.
    """

    reason = "imitation_name"

    def __init__(
        self,
        threshold: float = 0.88,
        min_length: int = 4,
        *,
        protected: ProtectedArtists | None = None,
        namesake_play_share: float = 0.25,
        fuzzy_min_length: int = 6,
    ) -> None:
        self.threshold = threshold
        self.min_length = min_length
        self.protected = protected
        self.namesake_play_share = namesake_play_share
        self.fuzzy_min_length = fuzzy_min_length

    def _namesake(self, suspect: Artist, target: Artist) -> bool:
        """Whether ``suspect`` is an innocent namesake of ``target``."""
        prior = self.protected.prior_use if self.protected is not None else received_before
        if prior(suspect, target):
            return True
        plays = self.protected.established_plays if self.protected is not None else {}
        target_plays = plays.get(target.artist_id, 0.0)
        own = plays.get(suspect.artist_id, 0.0)
        return target_plays > 0 and own >= self.namesake_play_share * target_plays

    def imitations(
        self, artists: Mapping[str, Artist], suspects: Collection[str] | None = None
    ) -> dict[str, tuple[Artist, float]]:
        """Unverified artist id → (the protected artist it imitates, similarity).

        Args:
            artists: every artist.
            suspects: only judge these artists (those of new uploads); None judges all.
        """
        if self.protected is None:
            targets = frozenset(a.artist_id for a in artists.values() if a.verified)
            exempt = targets
        else:
            targets, exempt = self.protected.targets, self.protected.exempt
        index = NameIndex(
            ((a, artists[a].name) for a in sorted(targets) if a in artists),
            threshold=self.threshold,
            min_length=self.min_length,
            fuzzy_min_length=self.fuzzy_min_length,
        )
        found: dict[str, tuple[Artist, float]] = {}
        for suspect in artists.values():
            if suspect.verified or suspect.artist_id in exempt:
                continue
            if suspects is not None and suspect.artist_id not in suspects:
                continue
            for match in index.matches(suspect.name):
                target = artists[match.id]
                if target.artist_id == suspect.artist_id:
                    continue
                if target.rights_holder_id == suspect.rights_holder_id:
                    continue
                if self._namesake(suspect, target):
                    continue
                found[suspect.artist_id] = (target, match.similarity)
                break
        return found

    def screen(self, context: ScreenContext) -> list[Flag]:
        suspects = (
            None
            if context.track_ids is None
            else {a for t in context.tracks if context.in_scope(t.track_id) for a in t.artist_ids}
        )
        imitators = self.imitations(context.artists, suspects)
        flags = []
        for track in context.tracks:
            if not context.in_scope(track.track_id):
                continue
            for artist_id in track.artist_ids:
                if artist_id not in imitators:
                    continue
                target, sim = imitators[artist_id]
                name = context.artists[artist_id].name
                why = self.protected.why(target.artist_id) if self.protected else "verified"
                flags.append(
                    Flag(
                        track_id=track.track_id,
                        reason=self.reason,
                        evidence=(
                            f"artist {name!r} ({artist_id}) imitates {target.name!r} "
                            f"({target.artist_id}; {why}), name similarity {sim:.2f}"
                        ),
                        score=sim,
                    )
                )
                break
        return flags


def default_screens(
    config: ScreeningConfig | None = None, protected: ProtectedArtists | None = None
) -> list[Screen]:
    """The metadata screens with the configured thresholds (near-duplicates need audio and
    are added by :func:`recsys.integrity.quarantine.screen_store`).

    Args:
        config: thresholds.
        protected: who is protected (see :func:`recsys.integrity.protected.protected_artists`);
            None means the verified artists.
    """
    cfg = config or ScreeningConfig()
    trusted = protected.exempt if protected is not None else frozenset()
    return [
        UltraShortScreen(cfg.min_duration_s),
        KeywordStuffingScreen(
            cfg.max_title_words, cfg.max_title_keywords, cfg.max_title_separators
        ),
        UploadBurstScreen(
            cfg.rate_windows,
            trusted_artist_ids=trusted,
            trusted_factor=cfg.trusted_rate_factor,
            receipt_window=RateWindow(
                hours=cfg.receipt_window_hours, max_uploads=cfg.receipt_max_uploads
            ),
            history_until=protected.first_load_until if protected is not None else None,
        ),
        ImitationNameScreen(
            cfg.imitation_threshold,
            cfg.imitation_min_length,
            protected=protected,
            namesake_play_share=cfg.namesake_play_share,
            fuzzy_min_length=cfg.imitation_fuzzy_min_length,
        ),
    ]


def run_screens(screens: Sequence[Screen], context: ScreenContext) -> dict[str, list[Flag]]:
    """Run every screen; flags grouped by track id (a track may have several)."""
    by_track: dict[str, list[Flag]] = defaultdict(list)
    for screen in screens:
        flags = screen.screen(context)
        logger.info("screen %s flagged %d tracks", screen.reason, len(flags))
        for flag in flags:
            by_track[flag.track_id].append(flag)
    return dict(by_track)


__all__ = [
    "DEFAULT_RATE_WINDOWS",
    "SEARCH_TERMS",
    "DripConfig",
    "Flag",
    "ImitationNameScreen",
    "KeywordStuffingScreen",
    "RateWindow",
    "Screen",
    "ScreenContext",
    "ScreeningConfig",
    "UltraShortScreen",
    "UploadBurstScreen",
    "default_screens",
    "flag_strongest",
    "known_artists",
    "run_screens",
    "upload_time",
]
