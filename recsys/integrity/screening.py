"""Upload screens: small components that each look for one kind of abuse and return flags.

Every flag names the track, a machine-readable reason and human-readable evidence, so a rights
admin can judge the quarantine it causes. Screens see the whole catalog (a burst or an
imitation only shows against other uploads), through one :class:`ScreenContext`.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from recsys.domain import Artist, Track
from recsys.integrity.names import name_similarity, normalise_name, ratio_upper_bound

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Flag:
    """One screen's finding on one track.

    Attributes:
        track_id: the flagged track.
        reason: machine-readable kind (``ultra_short``, ``keyword_stuffing``, ``upload_burst``,
            ``imitation_name``, ``near_duplicate``).
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
    burst_window_minutes: float = Field(60.0, gt=0)
    """Length of the sliding window for upload bursts."""
    burst_max_uploads: int = Field(15, ge=2)
    """More uploads than this from one account within the window is a burst."""
    imitation_threshold: float = Field(0.88, gt=0, le=1)
    """Normalised name similarity at or above which an unverified artist imitates a known one."""
    known_artist_share: float = Field(0.02, ge=0, le=1)
    """Known artists (the ones worth imitating) are this share of artists, most played first."""
    known_artist_min: int = Field(10, ge=0)
    """... and at least this many."""
    namesake_play_share: float = Field(0.25, ge=0)
    """A look-alike with at least this share of the known artist's plays is a namesake."""
    imitation_min_length: int = Field(4, ge=1)
    """Normalised names shorter than this are never compared (too many innocent collisions)."""


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


class UploadBurstScreen:
    """Flags every upload inside a window where one account uploaded too many tracks."""

    reason = "upload_burst"

    def __init__(self, window_minutes: float = 60.0, max_uploads: int = 15) -> None:
        self.window = timedelta(minutes=window_minutes)
        self.max_uploads = max_uploads

    def screen(self, context: ScreenContext) -> list[Flag]:
        by_account: dict[str, list[Track]] = defaultdict(list)
        for t in context.tracks:
            if t.uploader_id and t.uploaded_at is not None:
                by_account[t.uploader_id].append(t)
        flagged: dict[str, Flag] = {}
        for account, uploads in by_account.items():
            uploads.sort(key=lambda t: (t.uploaded_at, t.track_id))
            start = 0
            for end, track in enumerate(uploads):
                assert track.uploaded_at is not None
                while uploads[start].uploaded_at < track.uploaded_at - self.window:  # type: ignore[operator]
                    start += 1
                count = end - start + 1
                if count <= self.max_uploads:
                    continue
                evidence = (
                    f"{count} uploads by account {account} within "
                    f"{self.window.total_seconds() / 60:.0f} min "
                    f"({uploads[start].uploaded_at:%Y-%m-%d %H:%M} to "
                    f"{track.uploaded_at:%Y-%m-%d %H:%M})"
                )
                for member in uploads[start : end + 1]:
                    if context.in_scope(member.track_id):
                        flagged[member.track_id] = Flag(
                            track_id=member.track_id,
                            reason=self.reason,
                            evidence=evidence,
                            score=float(count),
                        )
        return list(flagged.values())


class ImitationNameScreen:
    """Flags tracks whose credited artist is an unverified name imitating a known artist.

    Known artists are an explicit id set (the most played ones, see
    :func:`known_artists`), or the verified ones when none is given. The same normalised key
    under another unverified artist is an imitation, as is a similarity at or above the
    threshold. Artists of the same rights holder never imitate each other, and namesakes are
    spared: an artist that appeared before the known one (prior use), or whose own plays reach
    ``namesake_play_share`` of the known artist's (an established act, not a parasite).
    """

    reason = "imitation_name"

    def __init__(
        self,
        threshold: float = 0.88,
        min_length: int = 4,
        known_artist_ids: frozenset[str] | None = None,
        plays_by_artist: Mapping[str, float] | None = None,
        namesake_play_share: float = 0.25,
    ) -> None:
        self.threshold = threshold
        self.min_length = min_length
        self.known_artist_ids = known_artist_ids
        self.plays = plays_by_artist or {}
        self.namesake_play_share = namesake_play_share

    def _namesake(self, suspect: Artist, target: Artist) -> bool:
        """Whether ``suspect`` is an innocent namesake of ``target``."""
        s_at, t_at = suspect.created_at, target.created_at
        if s_at is not None and t_at is not None and s_at < t_at:
            return True
        target_plays = self.plays.get(target.artist_id, 0.0)
        own = self.plays.get(suspect.artist_id, 0.0)
        return target_plays > 0 and own >= self.namesake_play_share * target_plays

    def imitations(self, artists: Mapping[str, Artist]) -> dict[str, tuple[Artist, float]]:
        """Unverified artist id → (the known artist it imitates, similarity)."""
        known_ids = self.known_artist_ids
        known = [
            a
            for a in artists.values()
            if (a.artist_id in known_ids if known_ids is not None else a.verified)
        ]
        keys = {a.artist_id: normalise_name(a.name) for a in artists.values()}
        found: dict[str, tuple[Artist, float]] = {}
        for suspect in artists.values():
            key = keys[suspect.artist_id]
            if suspect.verified or len(key) < self.min_length:
                continue
            if known_ids is not None and suspect.artist_id in known_ids:
                continue
            best: tuple[Artist, float] | None = None
            for target in known:
                other = keys[target.artist_id]
                if target.artist_id == suspect.artist_id or len(other) < self.min_length:
                    continue
                if target.rights_holder_id == suspect.rights_holder_id:
                    continue
                if ratio_upper_bound(len(key), len(other)) < self.threshold:
                    continue
                sim = name_similarity(suspect.name, target.name)
                if sim < self.threshold or self._namesake(suspect, target):
                    continue
                if best is None or sim > best[1]:
                    best = (target, sim)
            if best is not None:
                found[suspect.artist_id] = best
        return found

    def screen(self, context: ScreenContext) -> list[Flag]:
        imitators = self.imitations(context.artists)
        flags = []
        for track in context.tracks:
            if not context.in_scope(track.track_id):
                continue
            for artist_id in track.artist_ids:
                if artist_id not in imitators:
                    continue
                target, sim = imitators[artist_id]
                name = context.artists[artist_id].name
                flags.append(
                    Flag(
                        track_id=track.track_id,
                        reason=self.reason,
                        evidence=(
                            f"artist {name!r} ({artist_id}) imitates {target.name!r} "
                            f"({target.artist_id}), name similarity {sim:.2f}"
                        ),
                        score=sim,
                    )
                )
                break
        return flags


def known_artists(
    plays_by_artist: Mapping[str, float], n_artists: int, config: ScreeningConfig
) -> frozenset[str]:
    """The most played artists: ``known_artist_share`` of all artists, at least
    ``known_artist_min`` (ties broken by id)."""
    count = max(config.known_artist_min, round(config.known_artist_share * n_artists))
    ranked = sorted(plays_by_artist, key=lambda a: (-plays_by_artist[a], a))
    return frozenset(a for a in ranked[:count] if plays_by_artist[a] > 0)


def default_screens(
    config: ScreeningConfig | None = None,
    known_artist_ids: frozenset[str] | None = None,
    plays_by_artist: Mapping[str, float] | None = None,
) -> list[Screen]:
    """The metadata screens with the configured thresholds (near-duplicates need audio and
    are added by :func:`recsys.integrity.quarantine.screen_store`).

    Args:
        config: thresholds.
        known_artist_ids: artists worth imitating; None means the verified ones.
        plays_by_artist: plays per artist, to spare established namesakes.
    """
    cfg = config or ScreeningConfig()
    return [
        UltraShortScreen(cfg.min_duration_s),
        KeywordStuffingScreen(
            cfg.max_title_words, cfg.max_title_keywords, cfg.max_title_separators
        ),
        UploadBurstScreen(cfg.burst_window_minutes, cfg.burst_max_uploads),
        ImitationNameScreen(
            cfg.imitation_threshold,
            cfg.imitation_min_length,
            known_artist_ids,
            plays_by_artist,
            cfg.namesake_play_share,
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
    "SEARCH_TERMS",
    "Flag",
    "ImitationNameScreen",
    "KeywordStuffingScreen",
    "Screen",
    "ScreenContext",
    "ScreeningConfig",
    "UltraShortScreen",
    "UploadBurstScreen",
    "default_screens",
    "known_artists",
    "run_screens",
]
