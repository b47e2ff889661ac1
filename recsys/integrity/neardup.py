"""Near-duplicate audio under another artist: a calibrated audio-similarity screen.

A raw cosine threshold fails on real catalogs: some styles are so uniform that genuine songs
by different artists sit as close together as a re-encoded copy sits to its source. The screen
therefore scores each track by its **local contrast**: the similarity to its nearest track of
another rights holder minus the mean similarity to the next ``NEIGHBOURS - 1`` such tracks. A
copy stands out from its neighbourhood; a song in a crowded style does not.

The threshold is not a guess: :func:`calibrate_threshold` puts it at the ``1 - target_fpr``
quantile of the contrast over reference tracks, so about ``target_fpr`` of genuine tracks
would be flagged. References are the verified artists' tracks (impersonators are unverified),
or the whole catalog when too few artists are verified.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from recsys.domain import Artist, Track
from recsys.index import FaissIndex
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


def _holder(track: Track, artists: Mapping[str, Artist]) -> str:
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
    holders = np.asarray([_holder(t, artists) for t in tracks])
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


def calibrate_threshold(
    vectors: np.ndarray,
    tracks: Sequence[Track],
    artists: Mapping[str, Artist],
    target_fpr: float = 0.005,
    min_references: int = 50,
    neighbours: Neighbours | None = None,
) -> Calibration:
    """The local-contrast threshold with about ``target_fpr`` false positives on genuine
    tracks (the verified artists' tracks; all tracks when fewer than ``min_references``)."""
    ref_rows = [
        i
        for i, t in enumerate(tracks)
        if (a := artists.get(t.primary_artist_id or "")) is not None and a.verified
    ]
    if len(ref_rows) < min_references:
        ref_rows = list(range(len(tracks)))
    found = neighbours or other_holder_neighbours(vectors, tracks, artists)
    contrast = found.contrast[ref_rows]
    contrast = contrast[np.isfinite(contrast)]
    if contrast.size == 0:
        return Calibration(threshold=np.inf, target_fpr=target_fpr, reference_fpr=0.0, references=0)
    threshold = float(np.quantile(contrast, 1.0 - target_fpr, method="higher"))
    # Strictly above the quantile sample, so at most target_fpr of references reach it.
    threshold = float(np.nextafter(np.float32(threshold), np.float32(np.inf)))
    return Calibration(
        threshold=threshold,
        target_fpr=target_fpr,
        reference_fpr=float((contrast >= threshold).mean()),
        references=int(contrast.size),
    )


class NearDuplicateScreen:
    """Flags a track whose audio nearly duplicates an earlier track by another rights holder.

    Of a near-duplicate pair the later upload is flagged (the earlier one is presumed the
    original); when only one side is by a verified artist, the other side is flagged.
    """

    reason = "near_duplicate"

    def __init__(self, vectors: np.ndarray, track_ids: Sequence[str], threshold: float) -> None:
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.rows = {t: i for i, t in enumerate(track_ids)}
        if len(self.rows) != len(self.vectors):
            raise ValueError("near-duplicate vectors and track ids differ in length")
        self.threshold = threshold

    def screen(self, context: ScreenContext) -> list[Flag]:
        artists = context.artists
        tracks = [t for t in context.tracks if t.track_id in self.rows]
        vectors = self.vectors[[self.rows[t.track_id] for t in tracks]]
        found = other_holder_neighbours(vectors, tracks, artists)
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
                    f"audio cosine {float(found.similarity[row]):.3f} with "
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
        """Whether ``a`` is the copy of the pair (a, b)."""
        va = (x := artists.get(a.primary_artist_id or "")) is not None and x.verified
        vb = (y := artists.get(b.primary_artist_id or "")) is not None and y.verified
        if va != vb:
            return vb
        ta, tb = a.uploaded_at, b.uploaded_at
        if ta is not None and tb is not None and ta != tb:
            return ta > tb
        return a.track_id > b.track_id


__all__ = [
    "NEIGHBOURS",
    "Calibration",
    "NearDuplicateScreen",
    "Neighbours",
    "calibrate_threshold",
    "other_holder_neighbours",
]
