"""Spectro-temporal texture matching: the near-duplicate evidence that survives re-encoding.

A re-upload of someone else's track keeps the fine grain of the recording: where each note
and drum hit starts, how its energy moves between neighbouring bands, even the pattern of the
noise bursts. Two different songs of one style share the tempo, key and timbre but not that
grain. The texture of a track is the double difference of its log-mel segments, across bands
and across time (the continuous form of Haitsma and Kalker's 2002 fingerprint bits): it
cancels gain and the long-term spectrum (so timbre and loudness say nothing) and keeps the
grain.

A copy may also be sped up or slowed down by a few per cent (a slight pitch change by
resampling does both), so each candidate pair is compared at a few time-stretch ratios and
scored by the best normalised correlation. Candidates come from an inner-product index over
the unstretched textures, so the cost grows with the catalog times :data:`CANDIDATES`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np

from recsys.domain import Artist, Track
from recsys.index import FaissIndex
from recsys.integrity.neardup import NEIGHBOURS, Neighbours, holder_of

logger = logging.getLogger(__name__)

CANDIDATES = 40
STRETCH_RATIOS: tuple[float, ...] = (0.97, 0.98, 0.99, 1.0, 1.01, 1.02, 1.03)
FLOOR_DB = 40.0
_BLOCK = 128  # rows scored at once (bounds the memory of the gathered candidates)


def stretch(mel: np.ndarray, ratio: float) -> np.ndarray:
    """Segments resampled in time by ``ratio`` (``> 1`` plays faster), holding the last one."""
    frames = mel.shape[-1]
    src = np.clip(np.arange(frames, dtype=np.float64) * ratio, 0, frames - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, frames - 1)
    frac = (src - lo).astype(np.float32)
    return np.asarray(mel[..., lo] * (1 - frac) + mel[..., hi] * frac, dtype=np.float32)


def floor_mel(mel: np.ndarray) -> np.ndarray:
    """Log-mel segments with every cell raised to :data:`FLOOR_DB` below its track's loudest
    (missing rows stay missing)."""
    flat = np.nan_to_num(mel.reshape(len(mel), -1), nan=-np.inf)
    top = flat.max(axis=1, initial=-np.inf)[:, None, None]
    return np.asarray(np.maximum(mel, top - FLOOR_DB), dtype=np.float32)


def texture(mel: np.ndarray) -> np.ndarray:
    """Unit-norm texture rows of ``n × bands × segments`` log-mel segments (zero rows where
    the segments are missing or flat).

    Cells more than :data:`FLOOR_DB` below a track's loudest are set to that floor first: a
    lossy round trip adds hiss about 40 dB down, and in the quiet cells (decays, rests,
    ambient pads) that hiss, not the recording, would make the texture.
    """
    floored = np.nan_to_num(floor_mel(mel), nan=0.0)
    x = np.diff(np.diff(floored, axis=1), axis=2).reshape(len(mel), -1)
    x = x - x.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.asarray(x / np.where(norms > 1e-9, norms, np.inf), dtype=np.float32)


def texture_neighbours(
    mel: np.ndarray, tracks: Sequence[Track], artists: Mapping[str, Artist]
) -> Neighbours:
    """Per track, the best stretch-tolerant texture match among other rights holders' tracks
    and its local contrast (best minus the mean of the next ``NEIGHBOURS - 1``).

    Args:
        mel: ``n × bands × segments`` log-mel segments, row-aligned with ``tracks`` (NaN rows
            for tracks without audio: they match nothing).
        tracks: the catalog.
        artists: artists by id.
    """
    n = len(tracks)
    sims = np.full(n, -np.inf, dtype=np.float32)
    best = np.full(n, -1, dtype=np.int64)
    contrast = np.full(n, -np.inf, dtype=np.float32)
    if n < 2:
        return Neighbours(similarity=sims, row=best, contrast=contrast)
    holders = np.asarray([holder_of(t, artists) for t in tracks])
    has_audio = ~np.isnan(mel.reshape(n, -1)).all(axis=1)
    mel = floor_mel(mel)  # before stretching: interpolating hiss would blur the floor
    base = texture(mel)
    index = FaissIndex.build(base, [t.track_id for t in tracks])
    # Over-fetch: a holder's own catalog crowds the top of the list.
    _, found = index.search_rows(base, min(2 * CANDIDATES, n))
    cand = np.full((n, CANDIDATES), -1, dtype=np.int64)
    for i in np.flatnonzero(has_audio):
        rows = found[i][(found[i] >= 0) & (found[i] != i)]
        rows = rows[(holders[rows] != holders[i]) & has_audio[rows]][:CANDIDATES]
        cand[i, : rows.size] = rows
    valid = cand >= 0
    safe = np.where(valid, cand, 0)
    score = np.full(cand.shape, -np.inf, dtype=np.float32)
    for ratio in STRETCH_RATIOS:
        moved = base if ratio == 1.0 else texture(stretch(mel, ratio))
        for start in range(0, n, _BLOCK):
            part = slice(start, start + _BLOCK)
            s = np.einsum("id,ikd->ik", base[part], moved[safe[part]])
            score[part] = np.maximum(score[part], np.where(valid[part], s, -np.inf))
    order = np.argsort(-score, axis=1, kind="stable")
    score = np.take_along_axis(score, order, axis=1)
    cand = np.take_along_axis(cand, order, axis=1)
    for i in np.flatnonzero(valid.any(axis=1)):
        top = score[i][np.isfinite(score[i])][:NEIGHBOURS]
        sims[i], best[i] = top[0], cand[i, 0]
        contrast[i] = top[0] - (top[1:].mean() if top.size > 1 else 0.0)
    logger.info("texture matching over %d tracks and %d candidates each", n, CANDIDATES)
    return Neighbours(similarity=sims, row=best, contrast=contrast)


__all__ = [
    "CANDIDATES",
    "FLOOR_DB",
    "STRETCH_RATIOS",
    "floor_mel",
    "stretch",
    "texture",
    "texture_neighbours",
]
