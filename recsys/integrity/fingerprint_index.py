"""An inverted index of landmark hashes, and the sliding-offset match against it.

Two CSR layouts of the same landmarks, all plain ``.npy`` files that
:meth:`FingerprintIndex.load` memory-maps:

- **inverted** (hash → postings): ``keys`` (sorted distinct ``uint32`` hashes), ``starts``
  (where each key's postings begin) and, per posting, the track ``rows`` and anchor ``times``;
- **forward** (track → landmarks): ``fwd_starts`` per track, and ``fwd_hashes`` /
  ``fwd_times`` sorted by hash within each track.

A match is a **consistent time offset**: a copy's landmarks sit at the original's times plus
one offset (a trim, an excerpt or leading silence), times a ratio near 1 when the copy was
sped up or slowed down. Unrelated music shares hashes too, but scattered over all offsets.
Matching runs in two stages, so its cost grows with the postings of the query's own hashes,
never with the variants of them:

1. **Candidates, exact hashes only, under each pitch hypothesis.** Every posting of the
   query's exact hashes, and of the same hashes with ``f1`` moved back by each shift of
   :data:`PITCH_SHIFTS` (stop words left out; the rarest first over all hypotheses, at most
   :data:`CANDIDATE_POSTINGS` postings, so a large catalog costs little more than a small
   one), votes for its (track, hypothesis), weighted by the hash's IDF; the
   :data:`PREFILTER` best tracks then vote per (track, hypothesis, coarse offset) cell with
   :func:`numpy.bincount` (no per-hash Python loop), two neighbouring :data:`COARSE_BIN`
   cells summed so a tempo drift is not split; the :data:`CANDIDATES` best go on, each with
   its best pitch hypothesis.
2. **Verification, candidates only.** Each candidate's own landmarks (the forward layout) are
   looked up among the query's hashes *and* their neighbouring-bin variants around the
   candidate's pitch hypothesis (a pitch or tempo change moves a landmark to a neighbouring
   bin), and vote per (ratio, offset) over the time ratios of :data:`RATIOS`. The best
   cells are re-counted with each hash value voting once, so a drone or a loop that repeats
   one hash cannot outvote a melody.

The score is the weight of the agreeing hashes over the weight of the query's hashes **in the
stretch both recordings cover** (see :class:`Match`): the fraction of the shorter side
explained. A 30 s excerpt of a long track, and a long upload that contains a copied track,
both score like a whole copy; a few seconds of chance overlap do not (the stretch counts as
at least :data:`MIN_OVERLAP_S`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recsys.errors import ArtifactError
from recsys.integrity.fingerprint import (
    BINS_PER_OCTAVE,
    FRAME_SECONDS,
    Fingerprint,
    pack,
    unpack,
)

logger = logging.getLogger(__name__)

RATIOS: tuple[float, ...] = tuple(np.round(np.arange(0.94, 1.0601, 0.01), 4))
PITCH_SHIFTS: tuple[int, ...] = (0, -1, 1, -2, 2)
"""Frequency-scale hypotheses: log bins (2.9 % each) the query's pitch may sit above the match.

A resampling-style speed change moves pitch and tempo by one ratio, a pitch shift moves pitch
alone; either way every peak moves by the same number of log bins, so ``f2 - f1`` is kept
and only ``f1`` moves. Candidates vote under each hypothesis (the query's hashes with ``f1``
moved back by the shift), verification tries the best one's neighbouring bins, so pitch
changes up to about ±7 % are matched (±2 bins, and the ±1-bin variants around them)."""
OFFSET_BIN = 12  # frames (0.19 s): the offset resolution of a verified vote
COARSE_BIN = 64  # frames (1 s): the offset resolution of a candidate vote
PREFILTER = 256  # tracks with the most exact-hash weight that go on to offset voting
CANDIDATES = 24  # tracks that go on to verification
RESCORE = 3  # best cells per candidate re-counted with one vote per hash value
MAX_POSTINGS = 20_000  # hashes more common than this are stop words: too common to vote
CANDIDATE_POSTINGS = 400_000  # postings stage 1 reads at most (its rarest hashes first)
MIN_CANDIDATE_HASHES = 256  # ... but at least this many of the query's distinct hashes
FORMAT_VERSION = 3  # 3: fingerprints floored and whitened locally
PRIOR_TRACKS = 1000.0
MIN_OVERLAP_S = 20.0  # a score is over at least this much of the query (or all of it)
HASH_SPACE = 1 << 20  # every packed hash is below this (8 + 6 + 6 bits)
_ARRAYS = ("keys", "starts", "rows", "times", "fwd_starts", "fwd_hashes", "fwd_times")


@dataclass(frozen=True, kw_only=True)
class Match:
    """One indexed track that a query matches.

    Attributes:
        track_id: the matched track.
        row: its row in the index.
        score: the weight of the query's distinct hashes that agree on one offset, over the
            weight of the query's distinct hashes anchored in the stretch the two recordings
            share at that offset and ratio (the matched track's span mapped onto the query;
            at least :data:`MIN_OVERLAP_S`, or the whole query when shorter; weights from
            :meth:`FingerprintIndex.weights`): 0-1, the fraction of the shorter recording
            that the other one explains.
        votes: distinct query hashes that agree on that offset.
        offset_s: where the query's start sits in the matched track, in seconds (negative when
            the query has extra audio, e.g. leading silence, before the shared part).
        ratio: the query's time scale relative to the match (1.03: 3 % slower).
        span_s: seconds of the query covered by the agreeing landmarks.
        pitch: the query's pitch relative to the match, from the agreeing landmarks' bin
            moves (1.04: about 4 % higher; the resolution is a log bin, 2.9 %, averaged).
    """

    track_id: str
    row: int
    score: float
    votes: int
    offset_s: float
    ratio: float
    span_s: float
    pitch: float = 1.0


def _variants(
    hashes: np.ndarray, f1_offsets: Sequence[int] = (-1, 0, 1)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hashes with the neighbouring bins a pitch or tempo change could land in: (variant,
    index of the hash it stands for, its ``f1`` offset). ``f1_offsets`` are the anchor-bin
    moves tried (a pitch-shift hypothesis and its neighbours), ``df`` and ``dt`` move ±1."""
    f1, df, dt = unpack(hashes)
    out, owner, moved = [], [], []
    base = np.arange(hashes.size)
    for a in f1_offsets:
        for b in (-1, 0, 1):
            for c in (-1, 0, 1):
                ok = (f1 + a >= 0) & (f1 + a < 256) & (np.abs(df + b) <= 31)
                ok &= (dt + c >= 1) & (dt + c <= 63)
                out.append(pack(f1[ok] + a, df[ok] + b, dt[ok] + c))
                owner.append(base[ok])
                moved.append(np.full(int(ok.sum()), a, dtype=np.int64))
    return np.concatenate(out), np.concatenate(owner), np.concatenate(moved)


def _shifted(hashes: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """The hashes with ``f1`` moved down by ``shift`` bins (where that stays in range), and
    which of them could be moved."""
    f1, df, dt = unpack(hashes)
    ok = (f1 - shift >= 0) & (f1 - shift < 256)
    return pack(f1[ok] - shift, df[ok], dt[ok]), np.flatnonzero(ok)


def _expand(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(which range, position) of every position in the ranges ``[lo, hi)``, without a loop."""
    lengths = (hi - lo).astype(np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    shift = np.repeat(lo - np.cumsum(lengths) + lengths, lengths)
    return np.repeat(np.arange(lo.size), lengths), np.arange(total, dtype=np.int64) + shift


def _distinct_weight(ids: np.ndarray, weight: np.ndarray) -> tuple[float, int]:
    """(total weight, count) of the distinct values of ``ids`` (indexes into ``weight``)."""
    seen = np.zeros(weight.size, dtype=bool)
    seen[ids] = True
    return float(weight[seen].sum()), int(np.count_nonzero(seen))


def idf(postings: np.ndarray, n_tracks: int) -> np.ndarray:
    """How much a match on a hash with ``postings`` postings says, in an index of ``n_tracks``:
    ``log((N + PRIOR_TRACKS) / (postings + 1))``, at least 0."""
    return np.maximum(np.log((n_tracks + PRIOR_TRACKS) / (postings + 1.0)), 0.0)


class FingerprintIndex:
    """Inverted index of many tracks' landmarks, with each track's landmarks kept forward too.

    Example:
        >>> index = FingerprintIndex.build(["t1", "t2"], [fp1, fp2])  # doctest: +SKIP
        >>> index.match(query_fp)[0].track_id  # doctest: +SKIP
        't2'
    """

    def __init__(
        self,
        track_ids: Sequence[str],
        *,
        keys: np.ndarray,
        starts: np.ndarray,
        rows: np.ndarray,
        times: np.ndarray,
        fwd_starts: np.ndarray,
        fwd_hashes: np.ndarray,
        fwd_times: np.ndarray,
    ) -> None:
        self.track_ids = list(track_ids)
        self.keys, self.starts, self.rows, self.times = keys, starts, rows, times
        self.fwd_starts, self.fwd_hashes, self.fwd_times = fwd_starts, fwd_hashes, fwd_times
        n = len(self.track_ids)
        if starts.size != keys.size + 1 or fwd_starts.size != n + 1 or rows.size != fwd_hashes.size:
            raise ArtifactError("fingerprint index arrays disagree in length; rebuild it")

    def __len__(self) -> int:
        return len(self.track_ids)

    @property
    def postings(self) -> int:
        return int(self.rows.size)

    @property
    def counts(self) -> np.ndarray:
        """Landmarks per track."""
        return np.diff(np.asarray(self.fwd_starts))

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
        """Index per-track hash and time arrays."""
        if not (len(track_ids) == len(hashes) == len(times)):
            raise ValueError("track ids, hashes and times differ in length")
        return cls.from_chunks(track_ids, lambda: [(list(hashes), list(times))])

    @classmethod
    def from_chunks(
        cls,
        track_ids: Sequence[str],
        chunks: Callable[[], Iterable[tuple[list[np.ndarray], list[np.ndarray]]]],
        folder: Path | None = None,
    ) -> FingerprintIndex:
        """Index tracks given as consecutive chunks of (hashes, times) arrays, in two passes
        over ``chunks()`` and without a global sort (a counting sort by hash), so a large
        index is built in the memory of its output (in ``folder``'s memory-mapped files
        when given, then :meth:`load` it from there).

        Args:
            track_ids: every track, in chunk order.
            chunks: a function returning the chunks (called twice, must give the same data).
            folder: write the arrays there as ``.npy`` files instead of keeping them in memory.
        """
        n = len(track_ids)
        per_key = np.zeros(HASH_SPACE, dtype=np.int64)
        per_track = np.zeros(n, dtype=np.int64)
        first = 0
        for hashes, _ in chunks():
            for k, h in enumerate(hashes):
                per_track[first + k] = h.size
            flat = np.concatenate([*hashes, np.zeros(0, np.uint32)])
            if flat.size and int(flat.max()) >= HASH_SPACE:
                raise ValueError("a hash is outside the packed layout; use fingerprint.pack")
            per_key += np.bincount(flat, minlength=HASH_SPACE)
            first += len(hashes)
        if first != n:
            raise ValueError(f"the chunks hold {first} tracks, not the {n} track ids")
        keys = np.flatnonzero(per_key).astype(np.uint32)
        starts = np.concatenate([[0], np.cumsum(per_key[keys])]).astype(np.int64)
        fwd_starts = np.concatenate([[0], np.cumsum(per_track)]).astype(np.int64)
        total = int(starts[-1])

        def alloc(name: str, dtype: type, size: int) -> np.ndarray:
            if folder is None:
                return np.empty(size, dtype=dtype)
            folder.mkdir(parents=True, exist_ok=True)
            return np.lib.format.open_memmap(folder / f"{name}.npy", "w+", dtype, (size,))

        rows, times = alloc("rows", np.int32, total), alloc("times", np.int32, total)
        fwd_h, fwd_t = alloc("fwd_hashes", np.uint32, total), alloc("fwd_times", np.int32, total)
        cursor = starts[:-1].copy()
        cursor_of = np.zeros(HASH_SPACE, dtype=np.int64)
        cursor_of[keys] = np.arange(keys.size)
        first = 0
        for hashes, tims in chunks():
            size = len(hashes)
            h = np.concatenate([*hashes, np.zeros(0, np.uint32)]).astype(np.uint32)
            t = np.concatenate([*tims, np.zeros(0, np.int32)]).astype(np.int32)
            r = np.repeat(np.arange(first, first + size, dtype=np.int32), per_track[first:][:size])
            # Forward: each track's landmarks by hash, then (a stable sort) as given.
            order = np.argsort(r.astype(np.int64) * HASH_SPACE + h, kind="stable")
            a, b = fwd_starts[first], fwd_starts[first + size]
            fwd_h[a:b], fwd_t[a:b] = h[order], t[order]
            # Inverted: within a key, postings stay in track order (chunks come in order).
            order = np.argsort(h, kind="stable")
            hs = h[order]
            k = cursor_of[hs]
            rank = np.arange(hs.size) - np.searchsorted(hs, hs, side="left")
            slot = cursor[k] + rank
            rows[slot], times[slot] = r[order], t[order]
            cursor += np.bincount(k, minlength=keys.size)
            first += size
        if folder is not None:
            np.save(folder / "keys.npy", keys, allow_pickle=False)
            np.save(folder / "starts.npy", starts, allow_pickle=False)
            np.save(folder / "fwd_starts.npy", fwd_starts, allow_pickle=False)
            for arr in (rows, times, fwd_h, fwd_t):
                if isinstance(arr, np.memmap):
                    arr.flush()
            cls._write_manifest(folder, track_ids, total)
            return cls.load(folder)
        return cls(
            track_ids,
            keys=keys,
            starts=starts,
            rows=rows,
            times=times,
            fwd_starts=fwd_starts,
            fwd_hashes=fwd_h,
            fwd_times=fwd_t,
        )

    @staticmethod
    def _write_manifest(folder: Path, track_ids: Sequence[str], postings: int) -> None:
        manifest = {"version": FORMAT_VERSION, "tracks": len(track_ids), "postings": postings}
        (folder / "track_ids.json").write_text(json.dumps(list(track_ids)))
        (folder / "manifest.json").write_text(json.dumps(manifest))

    def save(self, folder: Path) -> None:
        """Write the index as ``.npy`` files and a JSON manifest into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in _ARRAYS:
            np.save(folder / f"{name}.npy", np.asarray(getattr(self, name)), allow_pickle=False)
        self._write_manifest(folder, self.track_ids, self.postings)

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> FingerprintIndex:
        """Read an index written by :meth:`save` (memory-mapped unless ``mmap`` is False).

        Raises:
            ArtifactError: the folder is missing, of another format version, or inconsistent.
        """
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
            ids = json.loads((folder / "track_ids.json").read_text())
            if manifest.get("version") != FORMAT_VERSION or manifest.get("tracks") != len(ids):
                raise ArtifactError(f"fingerprint index {folder} is stale; rebuild it")
            arrays = {
                name: np.load(
                    folder / f"{name}.npy", mmap_mode="r" if mmap else None, allow_pickle=False
                )
                for name in _ARRAYS
            }
        except (OSError, ValueError) as exc:
            raise ArtifactError(f"cannot read fingerprint index {folder}: {exc}") from exc
        return cls(ids, **arrays)

    def _lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(key position, postings) of each hash; postings 0 where the index lacks it."""
        if self.keys.size == 0:
            return np.zeros(hashes.size, np.int64), np.zeros(hashes.size, np.int64)
        pos = np.minimum(np.searchsorted(self.keys, hashes), self.keys.size - 1)
        present = self.keys[pos] == hashes
        return pos, np.where(present, self.starts[pos + 1] - self.starts[pos], 0)

    def weights(self, hashes: np.ndarray) -> np.ndarray:
        """How much a match on each hash says (:func:`idf` of its postings). A hash that every
        track of a genre shares says little; the prior keeps a small index from discounting
        the hashes it holds twice."""
        return idf(self._lookup(hashes)[1].astype(np.float64), len(self))

    def candidates(
        self,
        query: Fingerprint,
        allowed: np.ndarray | None = None,
        limit: int = CANDIDATES,
        shifts: Sequence[int] = PITCH_SHIFTS,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows whose postings of the query's exact hashes agree best on one coarse offset
        under one pitch-shift hypothesis (stage 1 of :meth:`match`), best first, and the
        shift (log bins, :data:`PITCH_SHIFTS`) each row agreed best under."""
        none = np.zeros(0, np.int64)
        distinct, inverse, count = np.unique(query.hashes, return_inverse=True, return_counts=True)
        # One lookup key per (hypothesis, distinct hash): the hash moved back by the shift.
        moved = [_shifted(distinct, shift) for shift in shifts]
        key_h = np.concatenate([h for h, _ in moved])
        src = np.concatenate([ok for _, ok in moved])
        hyp = np.concatenate([np.full(ok.size, k, np.int64) for k, (_, ok) in enumerate(moved)])
        pos, postings = self._lookup(key_h)
        usable = (postings > 0) & (postings <= MAX_POSTINGS)
        if int(postings[usable].sum()) > CANDIDATE_POSTINGS:
            # The rarest hashes first, up to the budget (over every hypothesis together): they
            # say the most, and a copy keeps as large a share of its rare hashes as of its
            # common ones.
            order = np.flatnonzero(usable)[np.argsort(postings[usable], kind="stable")]
            within = np.cumsum(postings[order]) <= CANDIDATE_POSTINGS
            within[: min(MIN_CANDIDATE_HASHES * len(shifts), within.size)] = True
            usable[:] = False
            usable[order[within]] = True
        u = np.flatnonzero(usable)
        # A hash the query repeats (a loop) shares one weight among its repeats.
        share = idf(postings[u], len(self)) / count[src[u]]
        # Every occurrence of each usable key's query hash, then every posting of the key.
        occ_order = np.argsort(inverse, kind="stable")
        occ_bounds = np.searchsorted(inverse[occ_order], np.arange(distinct.size + 1))
        kj, oc = _expand(occ_bounds[src[u]], occ_bounds[src[u] + 1])
        which, at = _expand(self.starts[pos[u[kj]]], self.starts[pos[u[kj]] + 1])
        if at.size == 0:
            return none, none
        key = kj[which]
        rows = np.asarray(self.rows[at], dtype=np.int64)
        n_hyp = len(shifts)
        w = share[key]
        h = hyp[u[key]]
        per_cell = np.bincount(rows * n_hyp + h, weights=w, minlength=len(self) * n_hyp)
        per_row = per_cell.reshape(len(self), n_hyp).max(axis=1)
        if allowed is not None:
            per_row[~np.asarray(allowed, dtype=bool)] = 0.0
        top = np.flatnonzero(per_row > 0)
        if top.size > PREFILTER:
            top = top[np.argpartition(-per_row[top], PREFILTER)[:PREFILTER]]
        rank = np.full(len(self), -1, dtype=np.int64)
        rank[top] = np.arange(top.size)
        r = rank[rows]
        keep = r >= 0
        if not keep.any():
            return none, none
        q_t = query.times[occ_order[oc[which[keep]]]].astype(np.int64)
        off = (q_t - np.asarray(self.times[at[keep]], dtype=np.int64)) // COARSE_BIN
        off -= off.min()
        width = int(off.max()) + 2
        cell = (r[keep] * n_hyp + h[keep]) * width + off
        grid = np.bincount(cell, weights=w[keep], minlength=top.size * n_hyp * width)
        grid = grid.reshape(top.size, n_hyp, width)
        best = (grid[:, :, :-1] + grid[:, :, 1:]).max(axis=2)  # per (row, hypothesis)
        # Ties keep the plainer hypothesis (PITCH_SHIFTS lists no shift first).
        best_hyp = np.argmax(best, axis=1)
        score = best[np.arange(top.size), best_hyp]
        order = np.argsort(-score, kind="stable")[:limit]
        return top[order], np.asarray(shifts, dtype=np.int64)[best_hyp[order]]

    def match(
        self,
        query: Fingerprint,
        top: int = 5,
        allowed: np.ndarray | None = None,
        min_votes: int = 3,
        shifts: Sequence[int] = PITCH_SHIFTS,
    ) -> list[Match]:
        """The indexed tracks the query matches best, by aligned votes.

        Args:
            query: the query's fingerprint.
            top: at most this many matches.
            allowed: boolean mask over the index rows; other rows are never returned (e.g.
                the query itself and its rights holder's own tracks).
            min_votes: fewer aligned votes than this is no match.
            shifts: the pitch-shift hypotheses to try (:data:`PITCH_SHIFTS`).
        """
        if query.hashes.size == 0 or len(self) == 0:
            return []
        cands, best = self.candidates(query, allowed, max(CANDIDATES, top), shifts)
        if cands.size == 0:
            return []
        return self.verify(query, cands, top, min_votes, best)

    @staticmethod
    def _align(
        q_t: np.ndarray, ref_t: np.ndarray, hid: np.ndarray, weight: np.ndarray
    ) -> tuple[float, int, float, np.ndarray] | None:
        """The best (ratio, offset) of one candidate's hits: (weight of the distinct query
        hashes that agree on it, how many, the ratio, which hits agree), or None."""
        if q_t.size == 0:
            return None
        # Ratios nearest 1 first: a tie keeps the plainer explanation.
        ratios = np.asarray(sorted(RATIOS, key=lambda r: (abs(r - 1.0), r)))
        fine = np.floor((q_t[None, :] - ratios[:, None] * ref_t[None, :]) / OFFSET_BIN)
        fine = fine.astype(np.int64)
        fine -= fine.min()
        width = int(fine.max()) // 2 + 2
        w = np.tile(weight[hid], ratios.size)
        tried = []
        for shift in (0, 1):
            # A bin and its upper neighbour are summed, so an offset on a bin edge is not
            # split in two.
            cell = (fine + shift) // 2 + np.arange(ratios.size)[:, None] * width
            mass = np.bincount(cell.ravel(), weights=w)
            keep = min(RESCORE, mass.size)
            for x in np.argpartition(-mass, keep - 1)[:keep].tolist():
                if mass[x] > 0:
                    tried.append((x // width, x % width, shift))
        best: tuple[float, int, float, np.ndarray] | None = None
        best_key = (-1.0, 0)
        for ri, b, shift in tried:
            # Re-counted with one vote per hash value: a loop must not outvote a melody.
            agree = (fine[ri] + shift) // 2 == b
            mass_b, n_ids = _distinct_weight(hid[agree], weight)
            if (mass_b, -ri) > best_key:
                best_key = (mass_b, -ri)
                best = (mass_b, n_ids, float(ratios[ri]), agree)
        return best

    def verify(
        self,
        query: Fingerprint,
        rows: np.ndarray,
        top: int = 5,
        min_votes: int = 3,
        shifts: np.ndarray | None = None,
    ) -> list[Match]:
        """Score the query against the given rows with the variant hashes and every ratio of
        :data:`RATIOS` (stage 2 of :meth:`match`).

        Args:
            shifts: per row, the pitch shift (log bins the query sits above it) to verify
                around, from :meth:`candidates`; its neighbouring bins are tried too.
                Default: no shift.
        """
        rows = np.asarray(rows, dtype=np.int64)
        shift = np.zeros(rows.size, np.int64) if shifts is None else np.asarray(shifts, np.int64)
        distinct, inverse = np.unique(query.hashes, return_inverse=True)
        weight = self.weights(distinct)
        # A query hash at bin f1 stands for a match's f1 - shift: variants move f1 by -shift.
        moves = range(int(-shift.max()) - 1, int(-shift.min()) + 2) if rows.size else range(-1, 2)
        variants, owner, moved = _variants(distinct, tuple(moves))
        order = np.argsort(variants, kind="stable")
        variants, owner, moved = variants[order], owner[order], moved[order]
        # Each candidate's landmarks, looked up among the query's hashes and their variants.
        lo, hi = np.asarray(self.fwd_starts[rows]), np.asarray(self.fwd_starts[rows + 1])
        cand, at = _expand(lo, hi)
        ref_h = np.asarray(self.fwd_hashes[at])
        ref_t = np.asarray(self.fwd_times[at], dtype=np.int64)
        # Each candidate's first and last anchor: the stretch of it a query can share.
        edges = np.concatenate([[0], np.cumsum(hi - lo)])[:-1]
        filled = hi > lo
        first = np.zeros(rows.size, np.int64)
        last = np.zeros(rows.size, np.int64)
        if ref_t.size:
            first[filled] = np.minimum.reduceat(ref_t, edges[filled])
            last[filled] = np.maximum.reduceat(ref_t, edges[filled])
        a = np.searchsorted(variants, ref_h, side="left")
        b = np.searchsorted(variants, ref_h, side="right")
        j, v = _expand(a, b)
        # Only the variants around each candidate's own pitch hypothesis.
        near = np.abs(moved[v] + shift[cand[j]]) <= 1
        j, v = j[near], v[near]
        if v.size == 0:
            return []
        hid, cand, ref_t, mv = owner[v], cand[j], ref_t[j], moved[v]
        # Each hit stands for every occurrence of its query hash; time of each occurrence.
        occ_order = np.argsort(inverse, kind="stable")
        occ_lo = np.searchsorted(inverse[occ_order], hid, side="left")
        occ_hi = np.searchsorted(inverse[occ_order], hid, side="right")
        k, o = _expand(occ_lo, occ_hi)
        hid, cand, ref_t, mv = hid[k], cand[k], ref_t[k], mv[k]
        q_t = query.times[occ_order[o]].astype(np.float64)
        # Hits come grouped by candidate (the expansions keep the candidates' order).
        bounds = np.searchsorted(cand, np.arange(rows.size + 1))
        q_all = query.times.astype(np.float64)
        q_lo, q_hi = (float(q_all.min()), float(q_all.max())) if q_all.size else (0.0, 0.0)
        least = min(q_hi - q_lo, MIN_OVERLAP_S / FRAME_SECONDS)
        matches = []
        for c, row in enumerate(np.asarray(rows).tolist()):
            s, e = int(bounds[c]), int(bounds[c + 1])
            found = self._align(q_t[s:e], ref_t[s:e], hid[s:e], weight)
            if found is None or found[1] < min_votes:
                continue
            mass_c, votes, ratio, agree = found
            off = q_t[s:e][agree] - ratio * ref_t[s:e][agree]
            times = q_t[s:e][agree]
            pitch = 2.0 ** (-float(np.mean(mv[s:e][agree])) / BINS_PER_OCTAVE)
            # The stretch both recordings cover: the candidate's anchors mapped onto the
            # query's time at this offset and ratio (at least MIN_OVERLAP_S, or all of a
            # shorter query, so a sliver of overlap cannot make a few chance votes count).
            mid_off = float(np.median(off))
            start = max(ratio * first[c] + mid_off, q_lo)
            end = min(ratio * last[c] + mid_off, q_hi)
            if end - start < least:
                mid = min(max((start + end) / 2, q_lo + least / 2), q_hi - least / 2)
                start, end = mid - least / 2, mid + least / 2
            inside = (q_all >= start - OFFSET_BIN) & (q_all <= end + OFFSET_BIN)
            shared = _distinct_weight(inverse[inside], weight)[0] or float(weight.sum())
            matches.append(
                Match(
                    track_id=self.track_ids[row],
                    row=row,
                    score=min(1.0, mass_c / shared),
                    votes=votes,
                    offset_s=round(-mid_off / ratio * FRAME_SECONDS, 2),
                    ratio=ratio,
                    span_s=round(float(times.max() - times.min()) * FRAME_SECONDS, 2),
                    pitch=round(pitch, 3),
                )
            )
        matches.sort(key=lambda m: (-m.score, m.row))
        return matches[:top]


def synthetic_fingerprints(
    n_tracks: int,
    hashes_per_track: int,
    seed: int = 0,
    pool: np.ndarray | None = None,
    frames: int = 11_250,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Random per-track (hashes, times) shaped like real ones, for scale runs.

    Args:
        n_tracks: tracks to make.
        hashes_per_track: landmarks per track.
        seed: random seed.
        pool: real hashes (e.g. every landmark of a set of real recordings): anchor bins
            and (bin step, gap) pairs are drawn independently from their frequencies in it;
            None draws from the packed layout with a skew towards
            the middle bins, as music has.
        frames: the anchor times spread over this many frames (11 250: three minutes), so a
            track with few landmarks is a sparse sample of a whole track's.
    """
    rng = np.random.default_rng(seed)
    total = n_tracks * hashes_per_track
    if pool is not None and pool.size:
        # The anchor bin and the (bin step, gap) shape drawn apart from the real ones: their
        # real frequencies, over the whole hash space rather than only the pool's hashes.
        f1, _, _ = unpack(pool[rng.integers(0, pool.size, total)])
        _, df, dt = unpack(pool[rng.integers(0, pool.size, total)])
        h = pack(f1, df, dt)
    else:
        f1 = np.clip(rng.normal(70, 25, total), 0, 143).astype(np.int64)
        df = np.clip(rng.normal(0, 10, total), -31, 31).astype(np.int64)
        dt = rng.integers(1, 49, total)
        h = pack(f1, df, dt)
    t = np.sort(rng.integers(0, frames, (n_tracks, hashes_per_track)), axis=1).astype(np.int32)
    return list(h.reshape(n_tracks, hashes_per_track)), list(t)


__all__ = [
    "CANDIDATES",
    "CANDIDATE_POSTINGS",
    "COARSE_BIN",
    "MAX_POSTINGS",
    "MIN_OVERLAP_S",
    "OFFSET_BIN",
    "PITCH_SHIFTS",
    "PREFILTER",
    "RATIOS",
    "FingerprintIndex",
    "Match",
    "idf",
    "synthetic_fingerprints",
]
