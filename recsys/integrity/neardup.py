"""Near-duplicate audio under another artist: a calibrated audio-similarity screen.

A raw cosine threshold fails on real catalogs: some styles are so uniform that genuine songs
by different artists sit as close together as a re-encoded copy sits to its source. The screen
therefore scores each track by its **local contrast**: the similarity to its nearest track of
another rights holder minus the mean similarity to the next ``NEIGHBOURS - 1`` such tracks. A
copy stands out from its neighbourhood; a song in a crowded style does not.

The threshold is not a guess: :func:`calibrate_threshold` replays the screen and puts it as
low as it can go while flagging at most ``target_fpr`` of the reference tracks. References are
the verified artists' tracks (impersonators are unverified), or the whole catalog when too few
artists are verified.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from recsys.domain import Artist, Track
from recsys.index import FaissIndex
from recsys.integrity.protected import claim_order
from recsys.integrity.screening import Flag, ScreenContext

logger = logging.getLogger(__name__)

NEIGHBOURS = 10


@dataclass(frozen=True, kw_only=True)
class Calibration:
    """A calibrated near-duplicate threshold.

    Attributes:
        threshold: local contrast at or above which a track is a near-duplicate.
        target_fpr: the false-positive rate asked for.
        reference_fpr: the share of reference tracks at or above the threshold.
        references: how many reference tracks the quantile came from.
    """

    threshold: float
    target_fpr: float
    reference_fpr: float
    references: int


@dataclass(frozen=True, kw_only=True)
class Neighbours:
    """Per query row: best similarity to another holder's track, that track's row (-1 when
    none), and the local contrast (best minus the mean of the next ones)."""

    similarity: np.ndarray
    row: np.ndarray
    contrast: np.ndarray


def holder_of(track: Track, artists: Mapping[str, Artist]) -> str:
    """The rights holder of a track's primary artist (a placeholder unique to the track when
    the artist is unknown)."""
    artist = artists.get(track.primary_artist_id or "")
    return artist.rights_holder_id if artist is not None else f"?{track.track_id}"


def other_holder_neighbours(
    vectors: np.ndarray, tracks: Sequence[Track], artists: Mapping[str, Artist]
) -> Neighbours:
    """Nearest tracks of other rights holders for every row.

    Args:
        vectors: L2-normalised rows matching ``tracks``.
        tracks: the catalog.
        artists: artists by id.
    """
    n = len(tracks)
    holders = np.asarray([holder_of(t, artists) for t in tracks])
    sims = np.full(n, -np.inf, dtype=np.float32)
    best = np.full(n, -1, dtype=np.int64)
    contrast = np.full(n, -np.inf, dtype=np.float32)
    if n < 2:
        return Neighbours(similarity=sims, row=best, contrast=contrast)
    index = FaissIndex.build(vectors, [t.track_id for t in tracks])
    # Ask for more than NEIGHBOURS: a holder's own catalog crowds the top of the list.
    k = min(4 * NEIGHBOURS, n)
    scores, found = index.search_rows(vectors, k)
    for i in range(n):
        keep = (found[i] >= 0) & (found[i] != i)
        keep &= holders[np.where(found[i] >= 0, found[i], 0)] != holders[i]
        top, rows = scores[i][keep][:NEIGHBOURS], found[i][keep][:NEIGHBOURS]
        if top.size == 0:
            continue
        sims[i], best[i] = top[0], rows[0]
        contrast[i] = top[0] - (top[1:].mean() if top.size > 1 else 0.0)
    return Neighbours(similarity=sims, row=best, contrast=contrast)


def _suspect(
    i: int, found: Neighbours, tracks: Sequence[Track], artists: Mapping[str, Artist]
) -> int:
    """The row the screen would flag for the pair (row ``i``, its best neighbour)."""
    j = int(found.row[i])
    return i if NearDuplicateScreen._is_copy(tracks[i], tracks[j], artists) else j


def calibrate_threshold(
    vectors: np.ndarray,
    tracks: Sequence[Track],
    artists: Mapping[str, Artist],
    target_fpr: float = 0.005,
    min_references: int = 50,
    neighbours: Neighbours | None = None,
) -> Calibration:
    """The lowest local-contrast threshold at which the screen flags at most ``target_fpr`` of
    the reference tracks (the verified artists' tracks; all tracks when fewer than
    ``min_references``).

    The screen is replayed at every candidate threshold: of each pair at or above it, the
    presumed copy is flagged (see :class:`NearDuplicateScreen`). Counting flagged references,
    not references with a high contrast, matters: an original that somebody re-uploaded has
    its copy as its nearest neighbour and a contrast as high as the copy's, yet the screen
    flags the copy, not the original. Counting originals as false positives would push the
    threshold above most copies.
    """
    verified = np.array(
        [(a := artists.get(t.primary_artist_id or "")) is not None and a.verified for t in tracks],
        dtype=bool,
    )
    reference = verified if int(verified.sum()) >= min_references else np.ones(len(tracks), bool)
    found = neighbours or other_holder_neighbours(vectors, tracks, artists)
    rows = np.flatnonzero(np.isfinite(found.contrast) & (found.row >= 0))
    references = int(reference.sum())
    if rows.size == 0 or references == 0:
        return Calibration(threshold=np.inf, target_fpr=target_fpr, reference_fpr=0.0, references=0)
    rows = rows[np.argsort(-found.contrast[rows], kind="stable")]
    allowed = int(np.floor(target_fpr * references))
    flagged: set[int] = set()
    threshold = np.inf
    for k, i in enumerate(rows.tolist()):
        suspect = _suspect(i, found, tracks, artists)
        if reference[suspect]:
            flagged.add(suspect)
        if len(flagged) > allowed:
            break
        # The next row may share this contrast: only move down once every tie is in.
        if k + 1 == rows.size or found.contrast[rows[k + 1]] < found.contrast[i]:
            threshold = float(found.contrast[i])
    hits = [int(i) for i in rows if found.contrast[i] >= threshold]
    suspects = {_suspect(i, found, tracks, artists) for i in hits}
    return Calibration(
        threshold=threshold,
        target_fpr=target_fpr,
        reference_fpr=sum(bool(reference[i]) for i in suspects) / references,
        references=references,
    )


class NearDuplicateScreen:
    """Flags a track whose audio nearly duplicates an earlier track by another rights holder.

    Of a near-duplicate pair the later upload is flagged (the earlier one is presumed the
    original); when only one side is by a verified artist, the other side is flagged.
    """

    reason = "near_duplicate"

    def __init__(
        self,
        vectors: np.ndarray,
        track_ids: Sequence[str],
        threshold: float,
        mel: np.ndarray | None = None,
        neighbours: Neighbours | None = None,
    ) -> None:
        """
        Args:
            vectors: similarity rows (used when ``mel`` is None).
            track_ids: the tracks of the rows.
            threshold: local contrast at or above which a track is a near-duplicate.
            mel: log-mel segments of the rows; when given, pairs are scored by texture
                matching (:mod:`recsys.integrity.texture`) instead of ``vectors``.
            neighbours: already computed neighbours of exactly ``track_ids``, reused when
                the screened catalog is the same list.
        """
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.track_ids = list(track_ids)
        self.rows = {t: i for i, t in enumerate(self.track_ids)}
        if len(self.rows) != len(self.vectors):
            raise ValueError("near-duplicate vectors and track ids differ in length")
        self.threshold = threshold
        self.mel = mel
        self.neighbours = neighbours

    def _neighbours(self, tracks: Sequence[Track], artists: Mapping[str, Artist]) -> Neighbours:
        if self.neighbours is not None and [t.track_id for t in tracks] == self.track_ids:
            return self.neighbours
        rows = [self.rows[t.track_id] for t in tracks]
        if self.mel is not None:
            from recsys.integrity.texture import texture_neighbours

            return texture_neighbours(self.mel[rows], tracks, artists)
        return other_holder_neighbours(self.vectors[rows], tracks, artists)

    def screen(self, context: ScreenContext) -> list[Flag]:
        artists = context.artists
        tracks = [t for t in context.tracks if t.track_id in self.rows]
        found = self._neighbours(tracks, artists)
        measure = "texture match" if self.mel is not None else "audio cosine"
        flags: dict[str, Flag] = {}
        for row in np.flatnonzero(found.contrast >= self.threshold):
            a, b = tracks[int(row)], tracks[int(found.row[row])]
            suspect, original = (a, b) if self._is_copy(a, b, artists) else (b, a)
            if not context.in_scope(suspect.track_id) or suspect.track_id in flags:
                continue
            by = artists.get(original.primary_artist_id or "")
            flags[suspect.track_id] = Flag(
                track_id=suspect.track_id,
                reason=self.reason,
                evidence=(
                    f"{measure} {float(found.similarity[row]):.3f} with "
                    f"{original.track_id} {original.title!r} by "
                    f"{by.name if by else original.primary_artist_id!r} stands "
                    f"{float(found.contrast[row]):.3f} above its next neighbours "
                    f"(threshold {self.threshold:.3f})"
                ),
                score=float(found.contrast[row]),
            )
        return list(flags.values())

    @staticmethod
    def _is_copy(a: Track, b: Track, artists: Mapping[str, Artist]) -> bool:
        """Whether ``a`` is the copy of the pair (a, b): first claim goes to verified rights,
        then to what the service received first, never to a claimed upload time."""
        return claim_order(a, artists) > claim_order(b, artists)


__all__ = [
    "NEIGHBOURS",
    "Calibration",
    "NearDuplicateScreen",
    "Neighbours",
    "calibrate_threshold",
    "holder_of",
    "other_holder_neighbours",
]
