"""An inverted index of landmark hashes, and the sliding-offset match against it.

Postings are kept as a CSR over the sorted distinct hashes: ``keys`` (sorted ``uint32``),
``starts`` (where each key's postings begin) and, per posting, the track row and the anchor
frame. A query looks its hashes up with :func:`numpy.searchsorted`, so the cost grows with the
postings it touches, not with the catalog; the arrays are plain ``.npy`` files that
:meth:`FingerprintIndex.load` memory-maps.

A match is a **consistent time offset**: a copy's landmarks sit at the original's times plus
one offset (a trim, an excerpt or leading silence), times a ratio near 1 when the copy was
sped up or slowed down. For the tracks with the most hash hits, every hit votes for the offset
it implies under each ratio of :data:`RATIOS`; the best (ratio, offset) bin's votes, counted
once per query landmark, divided by the query's landmark count, is the score. Unrelated music
shares hashes too, but scattered over all offsets.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recsys.errors import ArtifactError
from recsys.integrity.fingerprint import FRAME_SECONDS, Fingerprint, pack, unpack

logger = logging.getLogger(__name__)

RATIOS: tuple[float, ...] = tuple(np.round(np.arange(0.96, 1.0401, 0.01), 4))
OFFSET_BIN = 12  # frames (0.19 s): the offset resolution of a vote
CANDIDATES = 24
MAX_POSTINGS = 20_000  # hashes more common than this are stop words: too common to vote
FORMAT_VERSION = 1
PRIOR_TRACKS = 1000.0


@dataclass(frozen=True, kw_only=True)
class Match:
    """One indexed track that a query matches.

    Attributes:
        track_id: the matched track.
        row: its row in the index.
        score: the weight of the query's distinct hashes that agree on one offset, over the
            weight of all of them (0-1; see :meth:`FingerprintIndex.weights`).
        votes: distinct query hashes that agree on that offset.
        offset_s: where the query's start sits in the matched track, in seconds (negative when
            the query has extra audio, e.g. leading silence, before the shared part).
        ratio: the query's time scale relative to the match (1.03: 3 % slower).
        span_s: seconds of the query covered by the agreeing landmarks.
    """

    track_id: str
    row: int
    score: float
    votes: int
    offset_s: float
    ratio: float
    span_s: float


def _variants(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The query's hashes with the neighbouring bins a pitch or tempo change could land in,
    and for each the index of the query landmark it stands for."""
    f1, df, dt = unpack(hashes)
    out, owner = [], []
    base = np.arange(hashes.size)
    for a in (-1, 0, 1):
        for b in (-1, 0, 1):
            for c in (-1, 0, 1):
                ok = (f1 + a >= 0) & (np.abs(df + b) <= 31) & (dt + c >= 1) & (dt + c <= 63)
                out.append(pack(f1[ok] + a, df[ok] + b, dt[ok] + c))
                owner.append(base[ok])
    return np.concatenate(out), np.concatenate(owner)


class FingerprintIndex:
    """Inverted index of many tracks' landmarks.

    Example:
        >>> index = FingerprintIndex.build(["t1", "t2"], [fp1, fp2])  # doctest: +SKIP
        >>> index.match(query_fp)[0].track_id  # doctest: +SKIP
        't2'
    """

    def __init__(
        self,
        track_ids: Sequence[str],
        keys: np.ndarray,
        starts: np.ndarray,
        rows: np.ndarray,
        times: np.ndarray,
        counts: np.ndarray,
    ) -> None:
        self.track_ids = list(track_ids)
        self.keys, self.starts, self.rows, self.times = keys, starts, rows, times
        self.counts = counts
        if len(self.track_ids) != counts.size or starts.size != keys.size + 1:
            raise ArtifactError("fingerprint index arrays disagree in length; rebuild it")

    def __len__(self) -> int:
        return len(self.track_ids)

    @property
    def postings(self) -> int:
        return int(self.rows.size)

    @classmethod
    def build(
        cls, track_ids: Sequence[str], fingerprints: Sequence[Fingerprint | None]
    ) -> FingerprintIndex:
        """Index the fingerprints (None: a track without readable audio, indexed empty)."""
        hashes = [f.hashes if f is not None else np.zeros(0, np.uint32) for f in fingerprints]
        times = [f.times if f is not None else np.zeros(0, np.int32) for f in fingerprints]
        return cls.from_arrays(track_ids, hashes, times)

    @classmethod
    def from_arrays(
        cls, track_ids: Sequence[str], hashes: Sequence[np.ndarray], times: Sequence[np.ndarray]
    ) -> FingerprintIndex:
        """Index per-track hash and time arrays (e.g. synthetic ones for a scale run)."""
        if not (len(track_ids) == len(hashes) == len(times)):
            raise ValueError("track ids, hashes and times differ in length")
        counts = np.asarray([h.size for h in hashes], dtype=np.int64)
        flat_h = np.concatenate([*hashes, np.zeros(0, np.uint32)]).astype(np.uint32)
        flat_t = np.concatenate([*times, np.zeros(0, np.int32)]).astype(np.int32)
        rows = np.repeat(np.arange(len(track_ids), dtype=np.int32), counts)
        order = np.argsort(flat_h, kind="stable")
        sorted_h = flat_h[order]
        keys, first = np.unique(sorted_h, return_index=True)
        starts = np.append(first, sorted_h.size).astype(np.int64)
        return cls(track_ids, keys, starts, rows[order], flat_t[order], counts.astype(np.int32))

    def save(self, folder: Path) -> None:
        """Write the index as ``.npy`` files and a JSON manifest into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("keys", "starts", "rows", "times", "counts"):
            np.save(folder / f"{name}.npy", getattr(self, name), allow_pickle=False)
        manifest = {"version": FORMAT_VERSION, "tracks": len(self), "postings": self.postings}
        (folder / "track_ids.json").write_text(json.dumps(self.track_ids))
        (folder / "manifest.json").write_text(json.dumps(manifest))

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> FingerprintIndex:
        """Read an index written by :meth:`save` (memory-mapped unless ``mmap`` is False).

        Raises:
            ArtifactError: the folder is missing, of another format version, or inconsistent.
        """
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
            ids = json.loads((folder / "track_ids.json").read_text())
            arrays = {
                name: np.load(
                    folder / f"{name}.npy", mmap_mode="r" if mmap else None, allow_pickle=False
                )
                for name in ("keys", "starts", "rows", "times", "counts")
            }
        except (OSError, ValueError) as exc:
            raise ArtifactError(f"cannot read fingerprint index {folder}: {exc}") from exc
        if manifest.get("version") != FORMAT_VERSION or manifest.get("tracks") != len(ids):
            raise ArtifactError(f"fingerprint index {folder} is stale; rebuild it")
        return cls(ids, **arrays)

    def weights(self, hashes: np.ndarray) -> np.ndarray:
        """How much a match on each hash says: ``log((N + PRIOR_TRACKS) / (postings + 1))``
        over the N indexed tracks, at least 0. A hash that every track of a genre shares says
        little; the prior keeps a small index from discounting the hashes it holds twice."""
        pos = np.minimum(np.searchsorted(self.keys, hashes), max(self.keys.size - 1, 0))
        present = self.keys[pos] == hashes if self.keys.size else np.zeros(hashes.size, bool)
        df = np.where(present, self.starts[pos + 1] - self.starts[pos], 0)
        return np.maximum(np.log((len(self) + PRIOR_TRACKS) / (df + 1.0)), 0.0)

    def _hits(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query landmark, track row, track frame) of every posting the query's variants hit."""
        variants, owner = _variants(hashes)
        pos = np.searchsorted(self.keys, variants)
        pos = np.minimum(pos, max(self.keys.size - 1, 0))
        found = self.keys[pos] == variants if self.keys.size else np.zeros(0, bool)
        pos, owner = pos[found], owner[found]
        lo, hi = self.starts[pos], self.starts[pos + 1]
        common = hi - lo > MAX_POSTINGS
        lo, hi, owner = lo[~common], hi[~common], owner[~common]
        lengths = hi - lo
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        # Posting positions of every (variant, posting) pair without a Python loop.
        shift = np.repeat(lo - np.cumsum(lengths) + lengths, lengths)
        idx = np.arange(total, dtype=np.int64) + shift
        return np.repeat(owner, lengths), self.rows[idx].astype(np.int64), self.times[idx]

    def match(
        self,
        query: Fingerprint,
        top: int = 5,
        allowed: np.ndarray | None = None,
        min_votes: int = 3,
    ) -> list[Match]:
        """The indexed tracks the query matches best, by aligned votes.

        Args:
            query: the query's fingerprint.
            top: at most this many matches.
            allowed: boolean mask over the index rows; other rows are never returned (e.g.
                the query itself and its rights holder's own tracks).
            min_votes: fewer aligned votes than this is no match.
        """
        distinct, inverse = np.unique(query.hashes, return_inverse=True)
        if distinct.size == 0 or len(self) == 0:
            return []
        weight = self.weights(distinct)
        q_idx, rows, ref_t = self._hits(query.hashes)
        if allowed is not None:
            keep = np.asarray(allowed, dtype=bool)[rows]
            q_idx, rows, ref_t = q_idx[keep], rows[keep], ref_t[keep]
        if rows.size == 0:
            return []
        # A hash value votes once per (track, offset): a drone or a loop repeats one hash
        # many times, and must not outvote a melody.
        hid = inverse[q_idx].astype(np.int64)
        stride = distinct.size + 1
        pairs = np.unique(rows * stride + hid)
        per_track = np.bincount(pairs // stride, weights=weight[pairs % stride])
        cands = np.argsort(-per_track, kind="stable")[:CANDIDATES]
        cands = cands[per_track[cands] > 0]
        keep = np.isin(rows, cands)
        hid, rows, ref_t = hid[keep], rows[keep], ref_t[keep].astype(np.float64)
        q_t = query.times[q_idx[keep]].astype(np.float64)
        best: dict[int, tuple[float, int, float, int, int]] = {}
        # Ratios nearest 1 first: a tie keeps the plainer explanation.
        for ratio in sorted(RATIOS, key=lambda r: (abs(r - 1.0), r)):
            offset = np.floor((q_t - ratio * ref_t) / OFFSET_BIN).astype(np.int64)
            # A bin and its upper neighbour are summed, so an offset on a bin edge is not
            # split in two.
            for shift in (0, 1):
                bins = (offset + shift) // 2 + (1 << 23)
                uniq = np.unique((rows * (1 << 24) + bins) * stride + hid)
                cells, at = np.unique(uniq // stride, return_inverse=True)
                mass = np.bincount(at, weights=weight[uniq % stride])
                votes = np.bincount(at)
                for k in np.argsort(-mass)[: 2 * CANDIDATES]:
                    row = int(cells[k] >> 24)
                    if mass[k] <= best.get(row, (0.0,))[0]:
                        continue
                    b = int(cells[k] & ((1 << 24) - 1)) - (1 << 23)
                    best[row] = (float(mass[k]), int(votes[k]), float(ratio), b, shift)
        total = float(weight.sum())
        matches = []
        for row, (mass_r, votes_r, ratio, b, shift) in best.items():
            if votes_r < min_votes:
                continue
            sel = rows == row
            off = q_t[sel] - ratio * ref_t[sel]
            agree = (np.floor(off / OFFSET_BIN).astype(np.int64) + shift) // 2 == b
            times = q_t[sel][agree]
            matches.append(
                Match(
                    track_id=self.track_ids[row],
                    row=row,
                    score=mass_r / total,
                    votes=votes_r,
                    offset_s=round(-float(np.median(off[agree])) / ratio * FRAME_SECONDS, 2),
                    ratio=ratio,
                    span_s=round(float(times.max() - times.min()) * FRAME_SECONDS, 2),
                )
            )
        matches.sort(key=lambda m: (-m.score, m.row))
        return matches[:top]


def synthetic_fingerprints(
    n_tracks: int, hashes_per_track: int, seed: int = 0
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Random per-track (hashes, times) shaped like real ones, for scale runs.

    Hashes are drawn from the real layout (anchor bin, bin step, frame gap) with a skew
    towards the middle bins, as music has; times are increasing anchor frames.
    """
    rng = np.random.default_rng(seed)
    total = n_tracks * hashes_per_track
    f1 = np.clip(rng.normal(70, 25, total), 0, 143).astype(np.int64)
    df = np.clip(rng.normal(0, 10, total), -31, 31).astype(np.int64)
    dt = rng.integers(1, 49, total)
    h = pack(f1, df, dt).reshape(n_tracks, hashes_per_track)
    steps = rng.integers(0, 3, (n_tracks, hashes_per_track)).astype(np.int32)
    t = np.cumsum(steps, axis=1, dtype=np.int32)
    return list(h), list(t)


__all__ = [
    "CANDIDATES",
    "MAX_POSTINGS",
    "OFFSET_BIN",
    "RATIOS",
    "FingerprintIndex",
    "Match",
    "synthetic_fingerprints",
]
