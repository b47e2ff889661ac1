"""Near-duplicate audio under another artist: a calibrated audio-similarity screen.

The threshold is not a guess: :func:`calibrate_threshold` takes, for every reference track,
its nearest neighbour's cosine similarity among tracks of OTHER rights holders, and puts the
threshold at the ``1 - target_fpr`` quantile of that distribution, so about ``target_fpr`` of
genuine tracks would be flagged. References are the verified artists' tracks (impersonators
are unverified), or the whole catalog when too few artists are verified.
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

NEIGHBOURS = 16


@dataclass(frozen=True, kw_only=True)
class Calibration:
    """A calibrated near-duplicate threshold.

    Attributes:
        threshold: cosine similarity at or above which two tracks are near-duplicates.
        target_fpr: the false-positive rate asked for.
        reference_fpr: the share of reference tracks at or above the threshold.
        references: how many reference tracks the quantile came from.
    """

    threshold: float
    target_fpr: float
    reference_fpr: float
    references: int


def _holder(track: Track, artists: Mapping[str, Artist]) -> str:
    artist = artists.get(track.primary_artist_id or "")
    return artist.rights_holder_id if artist is not None else f"?{track.track_id}"


def nearest_other_holder(
    vectors: np.ndarray,
    tracks: Sequence[Track],
    artists: Mapping[str, Artist],
    rows: Sequence[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """For each row, the best cosine similarity to a track of another rights holder.

    Args:
        vectors: L2-normalised rows matching ``tracks``.
        tracks: the catalog.
        artists: artists by id.
        rows: query rows (default all).

    Returns:
        ``(similarity, neighbour_row)`` per query row; ``-inf`` / ``-1`` when none found among
        the nearest neighbours.
    """
    query_rows = np.arange(len(tracks)) if rows is None else np.asarray(rows, dtype=np.int64)
    holders = np.asarray([_holder(t, artists) for t in tracks])
    sims = np.full(len(query_rows), -np.inf, dtype=np.float32)
    best = np.full(len(query_rows), -1, dtype=np.int64)
    if len(tracks) < 2 or len(query_rows) == 0:
        return sims, best
    index = FaissIndex.build(vectors, [t.track_id for t in tracks])
    k = min(NEIGHBOURS, len(tracks))
    scores, found = index.search_rows(vectors[query_rows], k)
    for i, row in enumerate(query_rows):
        for score, other in zip(scores[i], found[i], strict=True):
            if other >= 0 and other != row and holders[other] != holders[row]:
                sims[i], best[i] = score, other
                break
    return sims, best


def calibrate_threshold(
    vectors: np.ndarray,
    tracks: Sequence[Track],
    artists: Mapping[str, Artist],
    target_fpr: float = 0.005,
    min_references: int = 50,
) -> Calibration:
    """The similarity threshold with about ``target_fpr`` false positives on genuine tracks.

    Reference tracks are those whose primary artist is verified (all tracks when fewer than
    ``min_references``); their neighbours are searched among references only, so duplicates
    uploaded by impersonators do not shift the quantile.
    """
    ref_rows = [
        i
        for i, t in enumerate(tracks)
        if (a := artists.get(t.primary_artist_id or "")) is not None and a.verified
    ]
    if len(ref_rows) < min_references:
        ref_rows = list(range(len(tracks)))
    ref_tracks = [tracks[i] for i in ref_rows]
    sims, _ = nearest_other_holder(vectors[ref_rows], ref_tracks, artists)
    sims = sims[np.isfinite(sims)]
    if sims.size == 0:
        return Calibration(threshold=1.0, target_fpr=target_fpr, reference_fpr=0.0, references=0)
    threshold = float(np.quantile(sims, 1.0 - target_fpr, method="higher"))
    # Strictly above the quantile sample, so at most target_fpr of references reach it.
    threshold = float(np.nextafter(np.float32(threshold), np.float32(np.inf)))
    threshold = min(threshold, 1.0)
    return Calibration(
        threshold=threshold,
        target_fpr=target_fpr,
        reference_fpr=float((sims >= threshold).mean()),
        references=int(sims.size),
    )


class NearDuplicateScreen:
    """Flags a track whose audio nearly duplicates an earlier track by another rights holder.

    Of a near-duplicate pair the later upload is flagged (the earlier one is presumed the
    original); when only one side is by a verified artist, the other side is flagged.
    """

    reason = "near_duplicate"

    def __init__(self, vectors: np.ndarray, threshold: float) -> None:
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.threshold = threshold

    def screen(self, context: ScreenContext) -> list[Flag]:
        tracks, artists = context.tracks, context.artists
        if len(tracks) != len(self.vectors):
            raise ValueError("near-duplicate vectors do not match the screened tracks")
        sims, best = nearest_other_holder(self.vectors, tracks, artists)
        flags: dict[str, Flag] = {}
        for row in np.flatnonzero(sims >= self.threshold):
            a, b = tracks[int(row)], tracks[int(best[row])]
            suspect, original = (a, b) if self._is_copy(a, b, artists) else (b, a)
            if not context.in_scope(suspect.track_id) or suspect.track_id in flags:
                continue
            by = artists.get(original.primary_artist_id or "")
            flags[suspect.track_id] = Flag(
                track_id=suspect.track_id,
                reason=self.reason,
                evidence=(
                    f"audio cosine {float(sims[row]):.3f} >= {self.threshold:.3f} with "
                    f"{original.track_id} {original.title!r} by "
                    f"{by.name if by else original.primary_artist_id!r}"
                ),
                score=float(sims[row]),
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


__all__ = ["Calibration", "NearDuplicateScreen", "calibrate_threshold", "nearest_other_holder"]
