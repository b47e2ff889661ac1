"""Landmark audio fingerprints (spectral peak pairs, after Wang 2003 and audfprint).

A recording is reduced to the peaks of its log-frequency spectrogram: the loudest points of
each time-frequency neighbourhood. Peaks survive gain, EQ, noise at 20 dB SNR and lossy
re-encoding, because all of those change levels but rarely which point is the local
maximum. Pairs of nearby peaks become hashes ``(f1, f2 - f1, dt)`` with the anchor's time:

- frequencies sit on a **log axis** (:data:`BINS_PER_OCTAVE` bins per octave), so a pitch
  change (or a resampling-style speed change, which moves pitch and tempo together) moves
  every peak by the same number of bins: ``f2 - f1`` does not change and only ``f1`` moves,
  by one bin per 2.9 %; the matcher tries a few such shifts
  (:data:`recsys.integrity.fingerprint_index.PITCH_SHIFTS`) and the neighbouring bins;
- the time gap ``dt`` is stored exactly and a tempo change of a few per cent stretches it by
  a fraction of a frame (the query tries ``dt ± 1``);
- a trim, an excerpt or leading silence only moves every anchor time by one offset, which
  the matcher (:mod:`recsys.integrity.fingerprint_index`) finds by voting;
- everything that decides which cells are peaks is **local**: the floor, the whitening of
  each band and the peak budget look only :data:`LOCAL_FRAMES` (3 s) or half a second
  around a frame, so a 3 s excerpt keeps the peaks the whole recording has there. (Whole-
  recording normalisation made a short excerpt's peaks differ from its source's: 20 of 30
  excerpts of 3-10 s were matched before, 30 of 30 after.)

Decoding goes through :func:`recsys.integrity.audio.decode_audio`; at most
:data:`MAX_SECONDS` of a file are analysed.

Why not Chromaprint (``fpcalc``): its fingerprint is a sequence of chroma-derived bits
compared by bit errors at one alignment. It survives re-encoding and noise, but a pitch
change moves energy between its chroma bands and a tempo change makes the alignment drift,
and it needs an external binary; landmarks need only numpy and scipy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recsys.integrity.audio import AudioDecodeError, decode_audio

logger = logging.getLogger(__name__)

SAMPLE_RATE = 8_000
N_FFT = 1024
HOP = 128
FRAME_SECONDS = HOP / SAMPLE_RATE
BINS_PER_OCTAVE = 24
F_MIN = 110.0
N_BINS = 6 * BINS_PER_OCTAVE  # 110 Hz .. 7 kHz, capped at Nyquist below
MAX_SECONDS = 600.0
PEAKS_PER_SECOND = 24.0
PEAK_TIME_RADIUS = 6  # frames either side a peak must dominate
PEAK_FREQ_RADIUS = 3  # log bins either side
FANOUT = 4
MAX_DT = 48  # frames (0.77 s)
MAX_DF = 31  # log bins either side (about 1.3 octaves)
FLOOR_DB = 50.0  # below the loudest cell nearby: dither and hiss make no peaks
SILENCE_DB = 80.0  # below the loudest cell of the recording: silence
SILENT_DB = -90.0  # digital silence (the spectrogram's epsilon is -100 dB)
PEAKS_PER_FRAME = 6
LOCAL_FRAMES = 188  # frames (3 s) either side: the stretch that floors and whitens a frame
WHITEN = 1.0

_DT_BITS, _DF_BITS = 6, 6
_DF_OFFSET = 1 << (_DF_BITS - 1)


@dataclass(frozen=True, kw_only=True)
class Fingerprint:
    """One recording's landmarks.

    Attributes:
        hashes: ``uint32`` landmark hashes, one per peak pair.
        times: anchor frame of each hash (``FRAME_SECONDS`` each).
        seconds: length of the analysed audio.
        note: what the encoder had to do about the file (e.g. analysed only the first
            :data:`MAX_SECONDS`), empty when nothing.
    """

    hashes: np.ndarray
    times: np.ndarray
    seconds: float
    note: str = ""

    def __len__(self) -> int:
        return int(self.hashes.size)


def pack(f1: np.ndarray, df: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """Landmark hashes of anchor bin ``f1``, bin step ``df`` (signed) and frame gap ``dt``."""
    f1 = np.asarray(f1, dtype=np.int64)
    df = np.asarray(df, dtype=np.int64) + _DF_OFFSET
    dt = np.asarray(dt, dtype=np.int64)
    return ((f1 << (_DF_BITS + _DT_BITS)) | (df << _DT_BITS) | dt).astype(np.uint32)


def unpack(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(f1, df, dt) of packed hashes (the inverse of :func:`pack`)."""
    h = np.asarray(hashes, dtype=np.int64)
    dt = h & ((1 << _DT_BITS) - 1)
    df = ((h >> _DT_BITS) & ((1 << _DF_BITS) - 1)) - _DF_OFFSET
    return h >> (_DF_BITS + _DT_BITS), df, dt


def _log_filterbank() -> np.ndarray:
    """Triangular filters mapping STFT bins onto the log-frequency axis (``N_BINS × bins``)."""
    fft_hz = np.arange(N_FFT // 2 + 1) * SAMPLE_RATE / N_FFT
    centres = F_MIN * 2.0 ** (np.arange(-1, N_BINS + 1) / BINS_PER_OCTAVE)
    bank = np.zeros((N_BINS, fft_hz.size), dtype=np.float32)
    for k in range(N_BINS):
        lo, mid, hi = centres[k], centres[k + 1], centres[k + 2]
        up = (fft_hz - lo) / (mid - lo)
        down = (hi - fft_hz) / (hi - mid)
        bank[k] = np.maximum(0.0, np.minimum(up, down))
        if not bank[k].any():  # narrower than an FFT bin: take the nearest one
            bank[k, int(np.argmin(np.abs(fft_hz - mid)))] = 1.0
    return bank


_BANK = _log_filterbank()
_USABLE = int(np.searchsorted(F_MIN * 2.0 ** (np.arange(N_BINS) / BINS_PER_OCTAVE),
                              0.45 * SAMPLE_RATE))  # fmt: skip


def log_spectrogram(y: np.ndarray) -> np.ndarray:
    """dB log-frequency spectrogram (``bins × frames``) of mono audio at :data:`SAMPLE_RATE`,
    floored and whitened **locally** (over :data:`LOCAL_FRAMES` either side of each frame),
    so an excerpt gets the same values as the same stretch of the whole recording. Cells at
    the floor are ``-inf`` (no peak is ever there)."""
    from scipy.ndimage import maximum_filter1d, uniform_filter1d
    from scipy.signal import stft

    _, _, z = stft(y, nperseg=N_FFT, noverlap=N_FFT - HOP, boundary=None, padded=False)
    power = (np.abs(z) ** 2).astype(np.float32)
    spec = 10.0 * np.log10(_BANK[:_USABLE] @ power + 1e-10)
    if spec.size == 0:
        return spec
    # The floor follows the loudest cell nearby, not the loudest of the whole recording: a
    # loud passage elsewhere must not change what an excerpt keeps. The global term only
    # matters in near-silence (dither and hiss make no peaks there either).
    size = 2 * LOCAL_FRAMES + 1
    local_max = maximum_filter1d(spec.max(axis=0), size=size, mode="nearest")
    floor = np.maximum(local_max - FLOOR_DB, spec.max() - SILENCE_DB)[None, :]
    on_floor = (spec <= floor) | (spec < SILENT_DB)
    spec = np.maximum(spec, floor)
    # Whiten each band by its level nearby: EQ and the instrument's timbre tilt whole rows.
    # The floor first: hiss in a band the recording left empty must not become its loudest
    # part.
    baseline = uniform_filter1d(spec, size=size, axis=1, mode="nearest")
    white = np.asarray(spec - WHITEN * baseline, dtype=np.float32)
    white[on_floor] = -np.inf
    return white


def find_peaks(spec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frame, bin) of the spectrogram's local maxima, about :data:`PEAKS_PER_SECOND`.

    The budget is local too: a peak is kept when fewer than :data:`PEAKS_PER_SECOND` peaks
    within half a second either side are stronger, so a loud chorus does not leave the
    quiet verse without landmarks, and an excerpt keeps the peaks the whole recording kept
    there (no fixed one-second grid whose edges an excerpt would move).
    """
    from scipy.ndimage import maximum_filter

    if spec.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    size = (2 * PEAK_FREQ_RADIUS + 1, 2 * PEAK_TIME_RADIUS + 1)
    local = spec == maximum_filter(spec, size=size, mode="constant", cval=-np.inf)
    local &= np.isfinite(spec)  # not on the floor
    bins, frames = np.nonzero(local)
    strength = spec[bins, frames]
    # At most PEAKS_PER_FRAME per frame (a plateau of equal cells is all "maxima"), then
    # sorted by frame.
    order = np.lexsort((-strength, frames))
    frames, bins, strength = frames[order], bins[order], strength[order]
    keep = np.arange(frames.size) - np.searchsorted(frames, frames) < PEAKS_PER_FRAME
    frames, bins, strength = frames[keep], bins[keep], strength[keep]
    half = round(0.5 / FRAME_SECONDS)
    stronger = np.zeros(frames.size, dtype=np.int64)
    n = frames.size
    for lag in range(1, n):
        near = frames[lag:] - frames[:-lag] <= half
        if not near.any():
            break
        i = np.flatnonzero(near)
        a, b = strength[i], strength[i + lag]
        stronger += np.bincount(i, weights=b > a, minlength=n).astype(np.int64)
        stronger += np.bincount(i + lag, weights=a > b, minlength=n).astype(np.int64)
    keep = stronger < PEAKS_PER_SECOND
    frames, bins = frames[keep], bins[keep]
    order = np.lexsort((bins, frames))
    return frames[order].astype(np.int64), bins[order].astype(np.int64)


def landmarks(frames: np.ndarray, bins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hashes, anchor frames): each peak paired with its :data:`FANOUT` nearest later peaks
    within :data:`MAX_DT` frames and :data:`MAX_DF` bins."""
    n = frames.size
    anchors, partners = [], []
    for lag in range(1, min(8 * FANOUT, n)):
        i = np.arange(n - lag)
        dt, df = frames[i + lag] - frames[i], bins[i + lag] - bins[i]
        ok = (dt >= 1) & (dt <= MAX_DT) & (np.abs(df) <= MAX_DF)
        anchors.append(i[ok])
        partners.append(i[ok] + lag)
    if not anchors:
        return np.zeros(0, np.uint32), np.zeros(0, np.int32)
    a, p = np.concatenate(anchors), np.concatenate(partners)
    order = np.lexsort((p, a))
    a, p = a[order], p[order]
    keep = np.arange(a.size) - np.searchsorted(a, a) < FANOUT
    a, p = a[keep], p[keep]
    hashes = pack(bins[a], bins[p] - bins[a], frames[p] - frames[a])
    return hashes, frames[a].astype(np.int32)


def fingerprint_signal(y: np.ndarray, note: str = "") -> Fingerprint:
    """Fingerprint mono audio already at :data:`SAMPLE_RATE`."""
    y = np.asarray(y, dtype=np.float32)
    if y.size < N_FFT:
        y = np.pad(y, (0, N_FFT - y.size))
    frames, bins = find_peaks(log_spectrogram(y))
    hashes, times = landmarks(frames, bins)
    return Fingerprint(hashes=hashes, times=times, seconds=y.size / SAMPLE_RATE, note=note)


def reversed_fingerprint(fp: Fingerprint) -> Fingerprint:
    """The landmarks of the recording played backwards, derived from ``fp`` itself.

    Peaks of a reversed recording are the same peaks mirrored in time; each pair
    ``(f1, df, dt)`` anchored at ``t`` becomes ``(f1 + df, -df, dt)`` anchored at the mirrored
    time of its later peak. Pairs are chosen by the same nearest-neighbour rule both ways,
    so most of them are the ones a fingerprint of the reversed audio would hold.
    """
    if not len(fp):
        return fp
    f1, df, dt = unpack(fp.hashes)
    end = int(fp.times.max()) + int(dt.max())
    times = end - fp.times.astype(np.int64) - dt
    order = np.argsort(times, kind="stable")
    hashes = pack((f1 + df)[order], (-df)[order], dt[order])
    return Fingerprint(
        hashes=hashes, times=times[order].astype(np.int32), seconds=fp.seconds, note=fp.note
    )


def fingerprint_file(path: Path, max_seconds: float = MAX_SECONDS) -> Fingerprint:
    """Fingerprint the first ``max_seconds`` of an audio file.

    Raises:
        AudioDecodeError: the file is missing, empty, undecodable or holds no sound; the
            message names the problem.
    """
    y, total = decode_audio(path, SAMPLE_RATE, max_seconds)
    note = ""
    if total is not None and total > max_seconds:
        note = f"analysed the first {max_seconds:.0f} s of {total:.0f} s"
    if not np.any(np.abs(y) > 1e-4):
        raise AudioDecodeError(f"{path}: the audio is silent; upload the track's recording")
    return fingerprint_signal(y, note)


__all__ = [
    "BINS_PER_OCTAVE",
    "FRAME_SECONDS",
    "MAX_SECONDS",
    "SAMPLE_RATE",
    "Fingerprint",
    "fingerprint_file",
    "fingerprint_signal",
    "landmarks",
    "pack",
    "reversed_fingerprint",
    "unpack",
]
