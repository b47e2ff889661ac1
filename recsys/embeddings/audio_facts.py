"""Audio facts measured at build time: tempo, loudness, energy and key per track.

The ``audio_facts`` step of `liner build` writes ``catalog/tempo.npy`` (BPM),
``catalog/loudness_db.npy`` (mean RMS in dBFS), ``catalog/energy.npy`` (mean RMS) and
``catalog/key.npy`` (code into :data:`KEY_NAMES`, -1 unknown), one value per track row, NaN
where the track has no value. Tempo is measured with a confidence
(``catalog/tempo_confidence.npy``, the pulse clarity of the onset envelope, see
:func:`tempo_from_onsets`, from a second, light decode of each clip at 11 kHz, cached by
content); below :data:`MIN_TEMPO_CONFIDENCE` the tempo is unknown. The other values come from
the service's own analysis of the audio (the librosa feature rows the ``audio`` step computed
and cached), or from a dataset's ``audio_tempo`` / ``audio_loudness`` / ``audio_energy``
descriptors when it ships descriptors instead of audio. A track with neither has no value,
and a constraint on that fact excludes it rather than letting it through.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recsys.domain import Track
from recsys.embeddings.audio import N_MELS, N_MFCC, LibrosaAudioEncoder

if TYPE_CHECKING:
    from recsys.build import BuildContext

STEP_VERSION = "audio-facts-5"
FACT_FILES = {
    "tempo": "catalog/tempo.npy",
    "tempo_confidence": "catalog/tempo_confidence.npy",
    "loudness_db": "catalog/loudness_db.npy",
    "energy": "catalog/energy.npy",
    "key": "catalog/key.npy",
}
PITCHES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
KEY_NAMES = tuple(f"{p} major" for p in PITCHES) + tuple(f"{p} minor" for p in PITCHES)
"""Key codes 0-11 are the major keys from C, 12-23 the minor ones."""

# Positions in a LibrosaAudioEncoder row (see its docstring for the layout).
_CHROMA = 2 * N_MELS + 2 * N_MFCC
_RMS_MEAN = _CHROMA + 12 + 7
_TEMPO = LibrosaAudioEncoder.dim - 1

# Krumhansl-Kessler key profiles.
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def estimate_key(chroma: np.ndarray) -> np.ndarray:
    """Key codes of ``n × 12`` mean chroma rows (Krumhansl-Schmuckler; -1 for a flat row)."""
    chroma = np.atleast_2d(np.asarray(chroma, dtype=np.float64))
    profiles = np.stack(
        [np.roll(_MAJOR, k) for k in range(12)] + [np.roll(_MINOR, k) for k in range(12)]
    )
    p = profiles - profiles.mean(axis=1, keepdims=True)
    c = chroma - chroma.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(c, axis=1, keepdims=True) * np.linalg.norm(p, axis=1)[None, :]
    corr = np.divide(c @ p.T, norms, out=np.zeros((len(c), 24)), where=norms > 0)
    codes = corr.argmax(axis=1).astype(np.int8)
    codes[np.linalg.norm(c, axis=1) < 1e-9] = -1
    return codes


def facts_from_librosa(raw: np.ndarray) -> dict[str, np.ndarray]:
    """Facts from :class:`LibrosaAudioEncoder` rows (an all-zero row is a track without
    audio: every fact NaN / -1)."""
    raw = np.asarray(raw, dtype=np.float64)
    has = np.any(raw != 0, axis=1)
    tempo = np.where(has & (raw[:, _TEMPO] > 0), raw[:, _TEMPO] * 200.0, np.nan)
    rms = np.where(has, raw[:, _RMS_MEAN], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        loudness = np.where(rms > 0, 20.0 * np.log10(rms), np.nan)
    key = estimate_key(raw[:, _CHROMA : _CHROMA + 12])
    key[~has] = -1
    return {
        "tempo": tempo.astype(np.float32),
        "loudness_db": loudness.astype(np.float32),
        "energy": rms.astype(np.float32),
        "key": key,
    }


def facts_from_descriptors(tracks: Sequence[Track]) -> dict[str, np.ndarray]:
    """Facts a dataset declares as ``audio_tempo`` / ``audio_loudness`` / ``audio_energy``."""
    n = len(tracks)
    out = {name: np.full(n, np.nan, dtype=np.float32) for name in ("tempo", "loudness_db")}
    out["energy"] = np.full(n, np.nan, dtype=np.float32)
    for i, t in enumerate(tracks):
        d = t.audio_descriptors
        for fact, key in (("tempo", "tempo"), ("loudness_db", "loudness"), ("energy", "energy")):
            value = d.get(key)
            if value is not None and np.isfinite(value) and (fact != "tempo" or value > 0):
                out[fact][i] = float(value)
    out["key"] = np.full(n, -1, dtype=np.int8)
    return out


# -- tempo with a confidence -----------------------------------------------------------------
TEMPO_SR = 11_025
TEMPO_HOP = 256
TEMPO_SECONDS = 30.0
MIN_BPM, MAX_BPM = 40.0, 240.0
MIN_TEMPO_CONFIDENCE = 0.45
"""Below this pulse clarity a measured tempo is unknown: excluded when a listener asks for a
tempo, and counted in the summary (benchmarks/tempo_accuracy.py sets it)."""
PRIOR_CENTER_BPM = 110.0
"""Centre of the prior on plausible tempi (log-normal, one octave wide)."""
PRIOR_WEIGHT = 0.1
"""How much the prior weighs against the clip's own pulse strength (0-1) when choosing the
octave."""
OCTAVE_TIE = 0.9
"""Two octaves whose scores (pulse strength plus prior) are within this ratio are a tie: the
tempo is unknown."""
HIGH_BAND_HZ = 220.0
"""Bands above this show sub-beat events (see :func:`onset_envelopes`)."""
MAX_EVENTS_PER_BEAT = 4.8
"""More onsets a beat than this (above :data:`HIGH_BAND_HZ`) is not a beat but half time: a
beat is seldom split into more than four audible events (set on seed 17: correct readings
reach 4.3, half-time drum and bass 4.8-5.7)."""
MAX_PLAUSIBLE_BPM = 200.0
"""Doubling for busyness stops here."""
EDGE_SHARE = 0.85
"""A short clip whose strongest lag is beyond this share of the longest testable lag (half the
clip) may pulse slower than it can show: its tempo is unknown."""
UNTESTABLE_PRIOR_GAP = 0.3
"""An octave too slow for the clip to show two of its beats leaves the tempo unknown unless
the prior rates it this much lower than the chosen one (log-prior units)."""


def _ac_at(ac: np.ndarray, lag: float) -> float:
    """Autocorrelation at a fractional lag (linear interpolation; NaN outside)."""
    i = int(np.floor(lag))
    if lag <= 0 or i + 1 >= len(ac):
        return float("nan")
    f = lag - i
    return float((1 - f) * ac[i] + f * ac[i + 1])


def overlap_autocorrelation(env: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelation of a mean-removed envelope divided by the overlap at each lag (and by
    lag 0), so a short clip does not favour short lags: unnormalised, a lag of half the clip
    keeps half its products and a slow pulse loses to its double."""
    x = np.asarray(env, dtype=np.float64) - float(np.mean(env))
    n = len(x)
    max_lag = min(max_lag, n - 1)
    full = np.correlate(x, x, mode="full")[n - 1 : n + max_lag]
    ac = full / (n - np.arange(len(full)))
    return ac / ac[0] if ac[0] > 0 else np.zeros_like(ac)


def _log_prior(bpm: float) -> float:
    return -0.5 * float(np.log2(bpm / PRIOR_CENTER_BPM)) ** 2


def onset_envelopes(y: np.ndarray, sr: int = TEMPO_SR) -> tuple[np.ndarray, np.ndarray]:
    """The onset-strength envelope of ``y`` (librosa's default, all bands) and that of the
    bands above :data:`HIGH_BAND_HZ` alone (strums, notes, hats: where sub-beat events show)."""
    import librosa

    mel = librosa.power_to_db(
        librosa.feature.melspectrogram(
            y=np.asarray(y, dtype=np.float32), sr=sr, hop_length=TEMPO_HOP
        )
    )
    env = librosa.onset.onset_strength(S=mel, sr=sr, hop_length=TEMPO_HOP)
    freqs = librosa.mel_frequencies(n_mels=mel.shape[0] + 2, fmax=sr / 2)[1:-1]
    low = int(np.searchsorted(freqs, HIGH_BAND_HZ))
    high = librosa.onset.onset_strength_multi(
        S=mel, sr=sr, hop_length=TEMPO_HOP, channels=[low, mel.shape[0]]
    )[0]
    return env, high


def events_per_second(env: np.ndarray, fps: float) -> float:
    """Local maxima of an envelope above its median, per second: how busy the clip is."""
    e = np.asarray(env, dtype=np.float64)
    if e.size < 3:
        return 0.0
    peaks = (e[1:-1] > np.median(e)) & (e[1:-1] >= e[:-2]) & (e[1:-1] > e[2:])
    return float(peaks.sum()) / (e.size / fps)


def tempo_from_onsets(
    onset: np.ndarray,
    sr: int = TEMPO_SR,
    hop: int = TEMPO_HOP,
    high: np.ndarray | None = None,
) -> tuple[float, float]:
    """``(BPM, confidence)`` of an onset-strength envelope (``sr`` / ``hop`` frames a second).

    The start is librosa's estimate T. The octave is then decided from the clip itself among
    T/2, T and 2T: each scores its pulse strength (the overlap-normalised autocorrelation
    averaged over the lag's multiples that fit, see :func:`overlap_autocorrelation`) plus a
    light prior on plausible tempi (:data:`PRIOR_CENTER_BPM`); an octave counts only if the
    clip holds two of its beats. The octave is ambiguous, and the confidence 0 (the tempo is
    unknown), when another octave scores within :data:`OCTAVE_TIE`, or when a slower octave
    the clip is too short to test is about as plausible a priori
    (:data:`UNTESTABLE_PRIOR_GAP`). With ``high`` (the envelope above
    :data:`HIGH_BAND_HZ`), a reading with more than :data:`MAX_EVENTS_PER_BEAT` events a beat
    is taken as half time and doubled (drum and bass: kick and snare pulse at 85, the hats at
    170). Otherwise the confidence is the pulse clarity: how far
    the chosen lag's autocorrelation rises above the envelope's median over 40-240 BPM
    (0 = no pulse, 1 = a metronome). NaN and 0 for an envelope without onsets.
    """
    import librosa

    fps = sr / hop
    env = np.asarray(onset, dtype=np.float64)
    n = env.size
    if n < 8 or float(env.std()) < 1e-9:
        return float("nan"), 0.0
    reach = 0.6 * n  # multiples of a lag are read up to here (the overlap stays >= 40 %)
    ac = overlap_autocorrelation(env, int(reach) + 2)
    if not np.any(ac):
        return float("nan"), 0.0
    start = float(
        np.atleast_1d(
            librosa.feature.tempo(onset_envelope=env.astype(np.float32), sr=sr, hop_length=hop)
        )[0]
    )
    if not np.isfinite(start) or start <= 0:
        return float("nan"), 0.0

    def strength(bpm: float) -> float:
        lag = 60.0 * fps / bpm
        if lag > n / 2:  # fewer than two beats in the clip: not testable
            return float("nan")
        vals = [_ac_at(ac, k * lag) for k in (1, 2, 3, 4) if k * lag <= reach]
        vals = [v for v in vals if np.isfinite(v)]
        return float(np.mean(vals)) if vals else float("nan")

    octaves = [b for b in (start / 2, start, start * 2) if MIN_BPM <= b <= MAX_BPM]
    scores = {b: strength(b) + PRIOR_WEIGHT * _log_prior(b) for b in octaves}
    scores = {b: v for b, v in scores.items() if np.isfinite(v)}
    if not scores:
        return start, 0.0  # too short to show two beats of any candidate
    tempo = max(scores, key=lambda b: scores[b])
    doubled = False
    if high is not None and len(high) == n and tempo * 2 <= MAX_PLAUSIBLE_BPM:
        busy = events_per_second(high, fps) / (tempo / 60.0)
        if busy > MAX_EVENTS_PER_BEAT and np.isfinite(strength(tempo * 2)):
            scores[tempo * 2] = strength(tempo * 2) + PRIOR_WEIGHT * _log_prior(tempo * 2)
            tempo, doubled = tempo * 2, True
    lags = np.arange(int(60.0 * fps / MAX_BPM), min(int(n / 2), len(ac) - 1))
    floor = float(np.median(ac[lags])) if len(lags) else 0.0
    # Doubled for busyness, the pulse the clip shows is still the half-time one.
    peak = _ac_at(ac, 60.0 * fps / (tempo / 2 if doubled else tempo))
    confidence = float(np.clip((peak - floor) / max(1.0 - floor, 1e-9), 0.0, 1.0))
    testable = np.arange(int(60.0 * fps / MAX_BPM), int(n / 2) + 1)
    if int(n / 2) < 60.0 * fps / MIN_BPM and len(testable) > 2:
        # A clip too short for the slowest tempi: if its pulse is strongest at the longest lag
        # it can test, the real beat may be slower than anything it shows.
        strongest = int(testable[np.argmax(ac[testable])])
        if strongest >= EDGE_SHARE * (n / 2):
            confidence = 0.0
    for other in (tempo / 2, tempo * 2):
        if not MIN_BPM <= other <= MAX_BPM:
            continue
        rival = strength(other)
        if doubled and other < tempo:
            continue  # the half-time reading was ruled out by how busy the clip is
        if np.isfinite(rival):
            # A tie: the clip pulses about as strongly at the other octave.
            if rival + PRIOR_WEIGHT * _log_prior(other) >= OCTAVE_TIE * scores[tempo]:
                confidence = 0.0
        elif _log_prior(other) >= _log_prior(tempo) - UNTESTABLE_PRIOR_GAP:
            # Too slow for the clip to show two beats, and about as plausible: undecided.
            confidence = 0.0
    return tempo, confidence


def measure_tempo(path: str) -> np.ndarray:
    """``[BPM, confidence]`` of an audio file's first :data:`TEMPO_SECONDS` (NaN, 0 when it
    cannot be read)."""
    import warnings

    import librosa

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y, sr = librosa.load(path, sr=TEMPO_SR, mono=True, duration=TEMPO_SECONDS)
            onset, high = onset_envelopes(y, int(sr))
    except (OSError, ValueError, RuntimeError, EOFError):
        return np.array([np.nan, 0.0], dtype=np.float32)
    return np.asarray(tempo_from_onsets(onset, int(sr), TEMPO_HOP, high), dtype=np.float32)


OCTAVE_TOLERANCE = 0.04
"""A measured tempo within this share of twice or half a declared one is that claim's pulse at
another octave."""


def octave_of(measured: np.ndarray, declared: np.ndarray) -> np.ndarray:
    """Per track: the measured tempo is the declared one doubled or halved (within
    :data:`OCTAVE_TOLERANCE`); False where either is unknown."""
    m = np.asarray(measured, dtype=np.float64)
    d = np.asarray(declared, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = m / d
        out = (np.abs(ratio - 2.0) <= 2.0 * OCTAVE_TOLERANCE) | (
            np.abs(ratio - 0.5) <= 0.5 * OCTAVE_TOLERANCE
        )
    return np.asarray(out & np.isfinite(m) & np.isfinite(d) & (d > 0), dtype=bool)


def settle_tempo(tempi: np.ndarray, declared: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """The tempo to store per track from ``n × 2`` measured ``[BPM, confidence]`` and the
    dataset's declared tempi (NaN: none), with counts of how each was settled.

    A measured tempo below :data:`MIN_TEMPO_CONFIDENCE` is unknown, and a declared one, if
    any, stays. A reliable measurement wins over the claim (the service's own observation),
    except that a claim an octave away names the octave: the pulse is the same, and the
    octave is what a short clip measures worst.
    """
    declared = np.asarray(declared, dtype=np.float64)
    has = np.isfinite(tempi[:, 0])
    reliable = has & (tempi[:, 1] >= MIN_TEMPO_CONFIDENCE)
    octave = reliable & octave_of(tempi[:, 0], declared)
    measured = np.where(octave, declared, tempi[:, 0])
    tempo = np.where(reliable, measured, declared).astype(np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        agrees = np.abs(tempi[:, 0] / declared - 1.0) <= OCTAVE_TOLERANCE
    claimed = reliable & np.isfinite(declared)
    return tempo, {
        "unreliable": int((has & ~reliable).sum()),
        "confirmed": int((claimed & agrees).sum()),
        "overridden": int((claimed & ~agrees & ~octave).sum()),
        "octave_from_claim": int(octave.sum()),
    }


def audio_facts_inputs(ctx: BuildContext) -> Any:
    return {
        "version": STEP_VERSION,
        "tempo": tempo_version(),
        "audio": ctx.file_sha("vectors/audio.npy"),
        "descriptors": [sorted(t.audio_descriptors.items()) for t in ctx.tracks],
    }


def tempo_version() -> str:
    """The tempo analysis's settings: part of the step's inputs and of each clip's cache key,
    so a changed rule re-measures."""
    return (
        f"tempo-{TEMPO_SR}-{TEMPO_HOP}-{TEMPO_SECONDS:g}-octave-{PRIOR_CENTER_BPM:g}-"
        f"{PRIOR_WEIGHT:g}-{OCTAVE_TIE:g}-{UNTESTABLE_PRIOR_GAP:g}-{EDGE_SHARE:g}-"
        f"{HIGH_BAND_HZ:g}-{MAX_EVENTS_PER_BEAT:g}"
    )


def measured_tempi(ctx: BuildContext) -> np.ndarray:
    """``n × 2`` ``[BPM, confidence]`` per track from its audio (NaN, 0 without audio), each
    clip analysed once (cached by content hash) on every core."""
    from recsys.embeddings.text import VectorCache
    from recsys.parallel import parallel_map

    version = tempo_version()
    cache = VectorCache(ctx.cache_dir / f"tempo-{_digest(version.encode())[:16]}.npz")
    keys = [_file_key(version, t.audio_path) if t.audio_path else "" for t in ctx.tracks]
    todo = {k: str(t.audio_path) for k, t in zip(keys, ctx.tracks, strict=True) if k}
    missing = sorted((k, p) for k, p in todo.items() if cache.get(k) is None)
    if missing:
        rows = parallel_map(measure_tempo, [p for _, p in missing], desc="tempo", unit="clip")
        for (key, _), row in zip(missing, rows, strict=True):
            cache.put(key, np.asarray(row, dtype=np.float32))
        cache.save()
    out = np.tile(np.array([np.nan, 0.0], dtype=np.float32), (len(ctx.tracks), 1))
    for i, key in enumerate(keys):
        cached = cache.get(key) if key else None
        if cached is not None:
            out[i] = cached
    return out


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_key(version: str, path: str) -> str:
    """The cache key of a clip: the analysis version and the file's bytes ("" unreadable)."""
    try:
        return _digest(version.encode() + Path(path).read_bytes())
    except OSError:
        return ""


def audio_facts_run(ctx: BuildContext) -> dict[str, Any]:
    from recsys.embeddings.steps import _audio_encoder, _raw_audio

    facts = facts_from_descriptors(ctx.tracks)
    # A dataset's audio_tempo is a claim, good enough to filter a recommendation by (never
    # used for money or consent); its confidence is unknown (NaN).
    facts["tempo_confidence"] = np.full(len(ctx.tracks), np.nan, dtype=np.float32)
    unreliable = overridden = octave_from_claim = confirmed = 0
    enc = _audio_encoder(ctx)
    if isinstance(enc, LibrosaAudioEncoder):
        # Measured beats declared: the audio is the service's own observation.
        measured = facts_from_librosa(_raw_audio(ctx, enc))
        del measured["tempo"]  # measured below, with a confidence
        for name, values in measured.items():
            known = values >= 0 if name == "key" else np.isfinite(values)
            facts[name] = np.where(known, values, facts[name]).astype(values.dtype)
        tempi = measured_tempi(ctx)
        has = np.isfinite(tempi[:, 0])
        facts["tempo"], counts = settle_tempo(tempi, facts["tempo"])
        unreliable = counts["unreliable"]
        overridden, octave_from_claim = counts["overridden"], counts["octave_from_claim"]
        confirmed = counts["confirmed"]
        facts["tempo_confidence"] = np.where(has, tempi[:, 1], facts["tempo_confidence"]).astype(
            np.float32
        )
    for name, rel in FACT_FILES.items():
        ctx.save_npy(rel, facts[name])
    return {
        "tracks": len(ctx.tracks),
        "with_tempo": int(np.isfinite(facts["tempo"]).sum()),
        "tempo_unreliable": unreliable,
        "tempo_claims_confirmed": confirmed,
        "tempo_claims_overridden": overridden,
        "tempo_octave_from_claim": octave_from_claim,
        "with_key": int((facts["key"] >= 0).sum()),
    }


def _register() -> None:
    from recsys.build import BuildStep, register_build_step

    register_build_step(
        BuildStep(name="audio_facts", run=audio_facts_run, inputs=audio_facts_inputs),
        after="indexes",
    )


_register()

__all__ = [
    "FACT_FILES",
    "KEY_NAMES",
    "MIN_TEMPO_CONFIDENCE",
    "audio_facts_inputs",
    "audio_facts_run",
    "estimate_key",
    "events_per_second",
    "facts_from_descriptors",
    "facts_from_librosa",
    "measure_tempo",
    "octave_of",
    "onset_envelopes",
    "overlap_autocorrelation",
    "settle_tempo",
    "tempo_from_onsets",
]
