"""Near-duplicate audio under another rights holder: landmark fingerprints matched across
holders, with a threshold calibrated on pairs known to be clean.

Every track with readable audio is fingerprinted (:mod:`recsys.integrity.fingerprint`) and
matched against the tracks of every OTHER rights holder through an inverted index
(:mod:`recsys.integrity.fingerprint_index`). Matches at or above the threshold join tracks
into clusters (several uploaders of one recording form one cluster); each track is also
matched played backwards, so a reversed copy is a copy. In each cluster the
original is the track the service can vouch for: a verified artist's track before an
unverified one's, then the one the service received first (``Track.received_at``, its own
clock), as :func:`recsys.integrity.protected.claim_order` rules every first-claim question.
An uploader-supplied time never counts, so a backdated copy cannot displace the original.
Every other holder's member of the cluster is flagged, with the whole cluster as evidence;
verified artists' tracks are never flagged (they are the clean references, see below).

The threshold comes from data known to be clean: each verified artist's track matched against
the other verified artists' tracks (different rights holders, none of them a copy of the
other). It is the lowest score that at most ``target_fpr`` of those references reach, never
below :data:`MIN_SCORE`; with fewer than ``min_references`` references the screen uses
:data:`DEFAULT_THRESHOLD`, measured on real and generated clean audio (see the module's
tests and ``benchmarks/integrity.py``).

A match is evidence only when its landmarks agree on one offset over at least
:data:`MIN_SPAN_S` seconds of the query (and :data:`MIN_VOTES` landmarks): a few seconds of
a shared drum fill or chord do not make two recordings one. When the shorter of the two
recordings is itself too short for that (a clip, a jingle, a sketch), the span is relative
to it: the landmarks must agree over :data:`SPAN_SHARE` of the shorter recording (at least
:data:`MIN_SHORT_S` of audio), the match must score :data:`SHORT_MIN_SCORE` and stand out
from the query's background by :data:`SHORT_MIN_STRENGTH`, or by the bar fitted on the clean
short references' tail when there are enough of them (:func:`short_threshold`). Where clean
short references of different holders already match each other that well, short recordings
are not matched at all: in the demo world, distinct 1.5 s clips of one synthesised genre
(same sound, key and tempo) reach strengths of 0.2-0.5, as its edited copies do (0.1-0.6),
so no bar keeps precision there. Real short clips are told apart: 3-10 s excerpts of the
suite's recordings, copied with a trim, gain, noise at 25 dB SNR or a 2 % speed change,
29/30 matched and no distinct pair. The floor :data:`MIN_SCORE` sits
between what distinct recordings reach (at most about 0.05 on real recordings, 0.08 on
generated ones that share a renderer's patches and grid) and what edited copies keep (0.25 or
more after a pitch change, a time-stretch or a 30 s excerpt; measured on the adversarial
suite's tuning seed).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recsys.domain import Artist, Track
from recsys.integrity.fingerprint import Fingerprint, reversed_fingerprint
from recsys.integrity.fingerprint_cache import fingerprint_cache_path, fingerprint_tracks
from recsys.integrity.fingerprint_index import FingerprintIndex, Match
from recsys.integrity.protected import ProtectedArtists, claim_order
from recsys.integrity.screening import Flag, ScreenContext
from recsys.store.codec import to_micros

logger = logging.getLogger(__name__)

MIN_SCORE = 0.12
DEFAULT_THRESHOLD = 0.12
MIN_VOTES = 8
MIN_SPAN_S = 8.0
SPAN_SHARE = 0.6
MIN_SHORT_S = 1.0
SHORT_MIN_STRENGTH = 0.15
SHORT_MIN_SCORE = 0.2
MATCHES_PER_TRACK = 10
BACKGROUND_RANK = 2
CLUSTER_RANKS = 3
REVERSED_SHIFTS = (0,)  # pitch hypotheses of the backwards match (log bins)


@dataclass(frozen=True, kw_only=True)
class Calibration:
    """A near-duplicate threshold and the false-match rate it implies.

    Attributes:
        threshold: match score at or above which two tracks are one recording.
        target_fpr: the false-match rate asked for, per reference track.
        reference_fpr: the share of clean reference tracks at or above the threshold.
        references: clean reference tracks scored (0: the default threshold was used).
        fpr_bound: a 95 % upper bound on the false-match rate per track (``3 / references``
            when no reference reached the threshold); 1.0 without references.
        unreadable: track id → why its audio could not be fingerprinted.
        short_threshold: the strength a match between short recordings needs, from the
            clean references' tail (:func:`short_threshold`); None: the floor
            :data:`SHORT_MIN_STRENGTH` or ``threshold``, whichever is higher.
        short_references: clean short reference tracks it was fitted on.
    """

    threshold: float
    target_fpr: float
    reference_fpr: float
    references: int
    fpr_bound: float = 1.0
    unreadable: Mapping[str, str] = field(default_factory=dict)
    short_threshold: float | None = None
    short_references: int = 0

    @property
    def short_bar(self) -> float:
        """Strength a match between short recordings needs (:func:`short_threshold`)."""
        if self.short_threshold is not None:
            return self.short_threshold
        return max(self.threshold, SHORT_MIN_STRENGTH)

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "threshold": round(self.threshold, 4),
            "short_threshold": round(self.short_bar, 4) if np.isfinite(self.short_bar) else None,
            "short_screen": "on"
            if np.isfinite(self.short_bar)
            else ("off: distinct clean short recordings match like copies"),
            "short_references": self.short_references,
            "target_fpr": self.target_fpr,
            "reference_fpr": round(self.reference_fpr, 4),
            "references": self.references,
            "fpr_bound": round(self.fpr_bound, 4),
            "unreadable": dict(self.unreadable),
        }


def holder_of(track: Track, artists: Mapping[str, Artist]) -> str:
    """The rights holder of a track's primary artist (a placeholder unique to the track when
    the artist is unknown)."""
    artist = artists.get(track.primary_artist_id or "")
    return artist.rights_holder_id if artist is not None else f"?{track.track_id}"


def _verified(track: Track, artists: Mapping[str, Artist]) -> bool:
    artist = artists.get(track.primary_artist_id or "")
    return artist is not None and artist.verified


@dataclass(frozen=True, kw_only=True)
class Edge:
    """A match between two catalog rows (``a`` queried, ``b`` found).

    Attributes:
        a: the queried row.
        b: the matched row.
        match: the match, with its evidence.
        shorter_s: length of the shorter of the two recordings (sets the span the match
            must cover, :func:`evidence`).
        reversed: the match is of ``a`` played backwards
            (:func:`~recsys.integrity.fingerprint.reversed_fingerprint`).
        strength: the match's score above ``a``'s background: the score of its
            :data:`BACKGROUND_RANK`-th best match among other holders, leaving out the tracks
            that are in the top match's own cluster (among each other's
            :data:`CLUSTER_RANKS` best, or matching each other at :data:`MIN_SCORE` or more:
            an original copied ten times has more copies than any top few). A copy stands out
            from everything else its query matches; a generic passage (a drone, a stock beat)
            matches many tracks alike, and each of them weakly.
    """

    a: int
    b: int
    match: Match
    strength: float
    shorter_s: float = float("inf")
    reversed: bool = False

    @property
    def short(self) -> bool:
        """Between recordings too short for the full :data:`MIN_SPAN_S`."""
        return required_span(self.shorter_s) < MIN_SPAN_S

    def holds(self, threshold: float, short_threshold: float | None = None) -> bool:
        """Strong enough at ``threshold`` (for short recordings: at ``short_threshold``, by
        default at least :data:`SHORT_MIN_STRENGTH`, and :data:`SHORT_MIN_SCORE`), with
        evidence."""
        short = self.short
        if short:
            bar = max(threshold, SHORT_MIN_STRENGTH if short_threshold is None else short_threshold)
        else:
            bar = threshold
        floor = SHORT_MIN_SCORE if short else 0.0
        return (
            self.strength >= bar
            and self.match.score >= floor
            and evidence(self.match, self.shorter_s)
        )


def match_upload(
    index: FingerprintIndex, fp: Fingerprint, allowed: np.ndarray | None = None
) -> tuple[list[Match], set[int]]:
    """One upload's best matches, played forwards and backwards (a reversed excerpt is a copy
    too): at most :data:`MATCHES_PER_TRACK`, best first, and the rows matched backwards. What
    the screen spends per upload (``benchmarks/fingerprint_scale.py`` times it)."""
    ms = index.match(fp, top=MATCHES_PER_TRACK, allowed=allowed)
    # Backwards at the recording's own pitch only: every extra hypothesis is another chance
    # for a short clip to line up with some other clip, and a reversed copy needs no shift.
    back = index.match(
        reversed_fingerprint(fp), top=CLUSTER_RANKS, allowed=allowed, shifts=REVERSED_SHIFTS
    )
    best = {m.row: m for m in ms}
    backwards: set[int] = set()
    for m in back:
        if m.row not in best or m.score > best[m.row].score:
            best[m.row] = m
            backwards.add(m.row)
    ranked = sorted(best.values(), key=lambda m: (-m.score, m.row))
    return ranked[:MATCHES_PER_TRACK], backwards


def match_catalog(
    index: FingerprintIndex,
    fingerprints: Sequence[Fingerprint | None],
    holders: np.ndarray,
    rows: Sequence[int] | None = None,
) -> list[Edge]:
    """Every row's best matches among other holders' rows (rows without audio match nothing).

    Args:
        index: the index of ``fingerprints`` (same row order).
        fingerprints: one per row.
        holders: rights holder per row.
        rows: only query these rows (default: all).
    """
    found: dict[int, list[Match]] = {}
    backwards: set[tuple[int, int]] = set()
    for a in range(len(fingerprints)) if rows is None else rows:
        fp = fingerprints[a]
        if fp is not None and len(fp):
            found[a], back = match_upload(index, fp, holders != holders[a])
            backwards.update((a, b) for b in back)
    near = {
        a: {m.row for k, m in enumerate(ms) if k < CLUSTER_RANKS or m.score >= MIN_SCORE}
        for a, ms in found.items()
    }
    edges: list[Edge] = []
    for a, ms in found.items():
        if not ms:
            continue
        top = ms[0].row
        # The background leaves out the top match's own cluster (other copies of the same
        # recording match it closely too), so several uploaders of one track all stand out.
        rest = [
            m for m in ms[1:] if top not in near.get(m.row, ()) and m.row not in near.get(top, ())
        ]
        background = rest[BACKGROUND_RANK - 2].score if len(rest) >= BACKGROUND_RANK - 1 else 0.0
        edges.extend(
            Edge(a=a, b=m.row, match=m, strength=m.score - background,
                 shorter_s=_shorter(fingerprints[a], fingerprints[m.row]),
                 reversed=(a, m.row) in backwards)
            for m in ms
        )  # fmt: skip
    return edges


def calibrate(
    edges: Sequence[Edge],
    verified: np.ndarray,
    target_fpr: float = 0.001,
    min_references: int = 50,
    unreadable: Mapping[str, str] | None = None,
) -> Calibration:
    """The threshold from clean pairs: verified rows matched against other holders' verified
    rows (a verified artist's track is never the copy of another's).

    Args:
        edges: matches from :func:`match_catalog` over the whole catalog.
        verified: per row, whether its artist is verified.
        target_fpr: allowed share of reference rows at or above the threshold.
        min_references: fewer verified rows with audio than this uses the default threshold.
        unreadable: reasons to carry into the calibration's report.
    """
    refs = np.flatnonzero(verified)
    best = dict.fromkeys(refs.tolist(), 0.0)
    for e in edges:
        if verified[e.a] and verified[e.b]:
            best[e.a] = max(best[e.a], e.strength)
    n = len(best)
    reasons = dict(unreadable or {})
    if n < min_references:
        return Calibration(
            threshold=DEFAULT_THRESHOLD,
            target_fpr=target_fpr,
            reference_fpr=0.0,
            references=0,
            unreadable=reasons,
        )
    short, short_n = short_threshold(edges, verified, min_references)
    scores = np.sort(np.fromiter(best.values(), dtype=np.float64))[::-1]
    allowed = int(np.floor(target_fpr * n))
    # Just above the (allowed + 1)-th highest clean score: at most `allowed` references reach it.
    threshold = max(MIN_SCORE, float(np.nextafter(scores[allowed], np.inf)))
    hits = int((scores >= threshold).sum())
    return Calibration(
        threshold=threshold,
        target_fpr=target_fpr,
        reference_fpr=hits / n,
        references=n,
        fpr_bound=min(1.0, 3.0 / n) if hits == 0 else min(1.0, (hits + 2.0 * np.sqrt(hits)) / n),
        unreadable=reasons,
        short_threshold=None if short is None else max(short, threshold),
        short_references=short_n,
    )


SHORT_EXPECTED_FALSE = 0.5
SHORT_TAIL_SHARE = 0.1
SHORT_ALIKE_SHARE = 0.01  # clean short references at the floor above which the screen is off


def short_threshold(
    edges: Sequence[Edge], verified: np.ndarray, min_references: int = 50
) -> tuple[float | None, int]:
    """The strength a match between short recordings needs, from clean data: (threshold or
    None when fewer than ``min_references`` short verified tracks, their number). Infinite
    (short recordings are not matched at all) when more than :data:`SHORT_ALIKE_SHARE` of the
    clean references, distinct recordings of different holders, already reach
    :data:`SHORT_MIN_STRENGTH`: then distinct clips of the catalog's sound (one genre's or one
    generator's few seconds) routinely look like copies of each other, and a threshold above
    them would be a guess, not a calibration. (A single clean pair at the floor used to turn
    the screen off; among 1500 demo clips with tunes of their own, 2 of 1500 reach 0.15-0.17
    while the fitted bar is 0.19.) The bar is never at or below a clean reference's strength.

    Short clips hold few landmarks, so distinct clips of one sound (a genre, a generator)
    reach strengths whose tail is long, and the largest of a few hundred clean references is
    no bound for a catalog with more tracks and more candidates per track. The tail of the
    clean references' best strengths (verified short recordings against other holders'
    verified ones, with evidence) is fitted as exponential over its top
    :data:`SHORT_TAIL_SHARE`, extrapolated to every short track and to all its candidates
    (not only the verified ones), and the threshold set where :data:`SHORT_EXPECTED_FALSE`
    false matches are expected in the whole catalog; never below :data:`SHORT_MIN_STRENGTH`.
    """
    rows = {x for e in edges if e.short for x in (e.a, e.b)}
    refs = [r for r in rows if verified[r]]
    if len(refs) < min_references:
        return None, len(refs)
    best = dict.fromkeys(refs, 0.0)
    for e in edges:
        if e.short and verified[e.a] and verified[e.b] and evidence(e.match, e.shorter_s):
            best[e.a] = max(best[e.a], e.strength)
    ranked = np.sort(np.fromiter(best.values(), dtype=np.float64))[::-1]
    if np.mean(ranked >= SHORT_MIN_STRENGTH) > SHORT_ALIKE_SHARE:
        # Distinct clean clips routinely stand out from their background as a copy must:
        # this catalog's short recordings are not told apart by their landmarks.
        return float("inf"), len(refs)
    k = max(5, int(SHORT_TAIL_SHARE * ranked.size))
    edge = float(ranked[k])
    scale = float(np.mean(ranked[:k] - edge)) or 1e-3
    # Expected exceedances: every short track, each with (all / verified) times the candidates.
    exposure = len(rows) * len(rows) / len(refs)
    threshold = edge + scale * float(np.log(k / ranked.size * exposure / SHORT_EXPECTED_FALSE))
    # Never at or below a clean reference: none of them may be held.
    return max(SHORT_MIN_STRENGTH, threshold, float(np.nextafter(ranked[0], np.inf))), len(refs)


def _shorter(a: Fingerprint | None, b: Fingerprint | None) -> float:
    lengths = [f.seconds for f in (a, b) if f is not None and f.seconds > 0]
    return min(lengths) if lengths else float("inf")


def required_span(shorter_s: float = float("inf")) -> float:
    """Seconds the agreeing landmarks must span: :data:`MIN_SPAN_S`, or :data:`SPAN_SHARE` of
    the shorter recording when that is less (never below :data:`SPAN_SHARE` ×
    :data:`MIN_SHORT_S`)."""
    return min(MIN_SPAN_S, SPAN_SHARE * max(shorter_s, MIN_SHORT_S))


def evidence(match: Match, shorter_s: float = float("inf")) -> bool:
    """Whether a match holds enough offset-consistent evidence to count: at least
    :data:`MIN_VOTES` aligned landmarks over :func:`required_span` seconds, given the length
    of the shorter of the two recordings."""
    return match.votes >= MIN_VOTES and match.span_s >= required_span(shorter_s)


def clusters(
    edges: Sequence[Edge], n: int, threshold: float, short_threshold: float | None = None
) -> list[list[int]]:
    """Connected groups of rows linked by matches that hold at ``threshold`` (and
    ``short_threshold`` between short recordings, :meth:`Edge.holds`)."""
    parent = list(range(n))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    strong = [e for e in edges if e.holds(threshold, short_threshold)]
    for e in strong:
        parent[root(e.a)] = root(e.b)
    groups: dict[int, list[int]] = {}
    for e in strong:
        groups.setdefault(root(e.a), [])
    for x in range(n):
        if root(x) in groups:
            groups[root(x)].append(x)
    return [sorted(g) for g in groups.values()]


class NearDuplicateScreen:
    """Flags every track whose recording matches an earlier or better-vouched track of another
    rights holder (see the module docstring for which side is the copy)."""

    reason = "near_duplicate"

    def __init__(
        self,
        tracks: Sequence[Track],
        edges: Sequence[Edge],
        calibration: Calibration,
        protected: ProtectedArtists | None = None,
    ) -> None:
        """
        Args:
            tracks: the catalog rows the edges refer to.
            edges: matches from :func:`match_catalog`.
            calibration: the threshold.
            protected: who is protected by evidence an uploader cannot make
                (:func:`recsys.integrity.protected.protected_artists`); it decides which of
                two copies received in one batch is the original (:meth:`first_claim`).
        """
        self.tracks = list(tracks)
        self.edges = list(edges)
        self.calibration = calibration
        self.protected = protected

    def first_claim(self, track: Track, artists: Mapping[str, Artist]) -> tuple[Any, ...]:
        """Sort key of the original among copies: :func:`claim_order` (a verified artist
        first, then the service's receipt time), except that rows of one receipt batch
        arrived together (their order is the uploader's file, not the service's
        observation): there an artist protected by evidence an uploader cannot make
        (a rights-holder agreement, established listeners' plays) comes first."""
        verified, when, track_id = claim_order(track, artists)
        p = self.protected
        if p is None or not p.batch_starts or track.received_at is None:
            return (verified, 0, False, when, track_id)
        micros = to_micros(track.received_at) or 0
        batch = int(np.searchsorted(np.asarray(p.batch_starts), micros, side="right"))
        exempt = (track.primary_artist_id or "") in p.exempt
        return (verified, batch, not exempt, when, track_id)

    def screen(self, context: ScreenContext) -> list[Flag]:
        artists = context.artists
        threshold = self.calibration.threshold
        short_bar = self.calibration.short_bar
        strong = [e for e in self.edges if e.holds(threshold, short_bar)]
        pair: dict[tuple[int, int], Edge] = {}
        for e in strong:
            key = (min(e.a, e.b), max(e.a, e.b))
            if key not in pair or e.strength > pair[key].strength:
                pair[key] = e
        flags = []
        for group in clusters(strong, len(self.tracks), threshold, short_bar):
            keys = {i: self.first_claim(self.tracks[i], artists) for i in group}
            original = min(group, key=keys.__getitem__)
            holder = holder_of(self.tracks[original], artists)
            members = ", ".join(
                self.tracks[i].track_id for i in sorted(group, key=keys.__getitem__)
            )
            for i in group:
                track = self.tracks[i]
                if holder_of(track, artists) == holder or not context.in_scope(track.track_id):
                    continue
                if _verified(track, artists):
                    # Verified artists' tracks are the clean references the threshold is
                    # calibrated on: a match between two of them is a case for a rights
                    # admin, not a presumption of copying.
                    logger.info("near-duplicate cluster %s includes verified %s", members, i)
                    continue
                e, other = self._evidence(i, original, pair)
                flags.append(
                    Flag(
                        track_id=track.track_id,
                        reason=self.reason,
                        evidence=self._describe(e, other, original, members, artists),
                        score=e.strength,
                    )
                )
        return flags

    @staticmethod
    def _evidence(i: int, original: int, pair: Mapping[tuple[int, int], Edge]) -> tuple[Edge, int]:
        """The match that ties row ``i`` to its cluster: with the original when there is one,
        else its strongest one."""
        direct = pair.get((min(i, original), max(i, original)))
        if direct is not None:
            return direct, original
        links = [(e, b if a == i else a) for (a, b), e in pair.items() if i in (a, b)]
        return max(links, key=lambda x: x[0].strength)

    def _describe(
        self, e: Edge, other: int, original: int, members: str, artists: Mapping[str, Artist]
    ) -> str:
        o = self.tracks[original]
        by = artists.get(o.primary_artist_id or "")
        m = e.match
        where = (
            f"the copy starts {m.offset_s:.2f} s into it"
            if e.b == other
            else f"it starts {m.offset_s:.2f} s into the copy"
        )
        return (
            f"audio matches {self.tracks[other].track_id}"
            f"{' played backwards' if e.reversed else ''}: {m.votes} aligned landmarks over "
            f"{m.span_s:.1f} s, {where}, time ratio {m.ratio:.2f}, pitch ratio {m.pitch:.3f}, "
            f"score {m.score:.3f} "
            f"({e.strength:.3f} above its background; threshold "
            f"{self.calibration.threshold:.3f}); original {o.track_id} {o.title!r} by "
            f"{by.name if by else o.primary_artist_id!r}; cluster: {members}"
        )


__all__ = [
    "DEFAULT_THRESHOLD",
    "MIN_SCORE",
    "MIN_SHORT_S",
    "MIN_SPAN_S",
    "MIN_VOTES",
    "SHORT_ALIKE_SHARE",
    "SHORT_EXPECTED_FALSE",
    "SHORT_MIN_SCORE",
    "SHORT_MIN_STRENGTH",
    "SPAN_SHARE",
    "Calibration",
    "Edge",
    "NearDuplicateScreen",
    "build_near_duplicate_screen",
    "calibrate",
    "clusters",
    "evidence",
    "fingerprint_cache_path",
    "holder_of",
    "match_catalog",
    "match_upload",
    "required_span",
    "short_threshold",
]


def build_near_duplicate_screen(
    tracks: Sequence[Track],
    artists: Mapping[str, Artist],
    *,
    root: Path | None = None,
    cache: Path | None = None,
    target_fpr: float = 0.001,
    protected: ProtectedArtists | None = None,
) -> NearDuplicateScreen:
    """Fingerprint the catalog (reusing ``cache``), match every track against the other
    holders' tracks, calibrate on the verified ones and return the screen.

    Args:
        tracks: the catalog.
        artists: artists by id.
        root: folder relative audio paths are resolved against.
        cache: fingerprint cache folder (:func:`fingerprint_cache_path`), or None.
        target_fpr: allowed false-match rate per clean reference track.
        protected: who is protected (:meth:`NearDuplicateScreen.first_claim`), or None.

    Example:
        >>> screen = build_near_duplicate_screen(tracks, artists)  # doctest: +SKIP
        >>> screen.calibration.summary()["threshold"]  # doctest: +SKIP
    """
    found = fingerprint_tracks(tracks, root, cache)
    index = FingerprintIndex.build([t.track_id for t in tracks], found.fingerprints)
    holders = np.asarray([holder_of(t, artists) for t in tracks])
    edges = match_catalog(index, found.fingerprints, holders)
    verified = np.asarray(
        [
            _verified(t, artists) and f is not None
            for t, f in zip(tracks, found.fingerprints, strict=True)
        ],
        dtype=bool,
    )
    calibration = calibrate(edges, verified, target_fpr, unreadable=found.unreadable)
    logger.info(
        "near-duplicate threshold %.4f (%d clean references, %.4f of them at or above it)",
        calibration.threshold,
        calibration.references,
        calibration.reference_fpr,
    )
    return NearDuplicateScreen(tracks, edges, calibration, protected)
