"""Declared labels checked from the audio alone: a track declared human whose audio carries
two independent marks of a renderer is disputed, whatever its text says.

The cues (:mod:`recsys.integrity.machine_audio`) are exact repetition, pitch that never moves
and a missing noise floor. Each is scored against a bound set on real recordings (see
:data:`REFERENCE_BOUNDS`): a cue's *margin* is how far past its bound the track lies (in
decades, or per 10 dB for the floor). The track's score is its **second-largest margin**
(two cues past their bounds), or its largest margin among the two hard cues less
:data:`SINGLE_CUE_DECADES` (one of them far past its bound), whichever is larger. The floor
never counts alone: it is the easiest cue to fake (add noise) and the one real masters lack
most often. Repetition and pitch are the hard ones to hide: a render dressed with noise and
tape wow still repeats itself exactly.

Why a fixed reference and not only the catalog: a fresh catalog may hold no verified tracks
at all (the adversarial suite's has 15). Why the catalog too: some honest artists render
their music exactly as a machine would (a sequenced electronic track with digital silence
underneath; the demo world draws 3 % of human tracks, 15 % of electronic ones, that way). So
the rule's threshold is 0 (both cues past their reference bounds) *or higher*: with at least
:attr:`AudioDisputeConfig.min_reference` clean reference tracks in the catalog (verified
artists' declared-human tracks, not quarantined), it rises until at most
:attr:`AudioDisputeConfig.clean_false_dispute_rate` of them would be disputed. Both the
threshold and the share of the clean reference it implies are reported with every run.

Only ``NONE`` declarations are disputed on the audio: an ``ASSISTED`` one already says a
machine took part in production, and a rendered production is what it describes. Its cues
are still measured and reported, and an ``ASSISTED`` track whose audio is machine-made *and*
whose own text says it was generated is disputed (the declaration understates the text).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from recsys.domain import AiInvolvement, Artist, LabelSource, Track
from recsys.integrity.ai_text import text_evidence
from recsys.integrity.disputes import (
    CHECKED_LEVELS,
    DISPUTE_ACTOR,
    clean_reference,
    credited_names,
    dispute_state,
)
from recsys.integrity.machine_audio import CUE_NAMES
from recsys.store import DisputeRecord

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class CueBound:
    """Where a cue stops looking recorded.

    Attributes:
        name: a :data:`~recsys.integrity.machine_audio.CUE_NAMES` entry.
        bound: the raw value past which the cue counts as machine-like.
        log: margins in decades (True) or per 10 units (False, for dB).
        higher_is_machine: the direction (a steady pitch share: higher; the others: lower).
        meaning: how the evidence names it.
    """

    name: str
    bound: float
    log: bool
    higher_is_machine: bool = False
    meaning: str

    def margin(self, value: float) -> float:
        """How far past the bound ``value`` lies (>= 0: machine-like); NaN when unknown."""
        if not math.isfinite(value):
            return float("nan")
        if self.log:
            past = math.log10(max(value, 1e-6)) - math.log10(self.bound)
        else:
            past = (value - self.bound) / 10.0
        return past if self.higher_is_machine else -past


REFERENCE_BOUNDS: dict[str, CueBound] = {
    "repeat_residual": CueBound(
        name="repeat_residual", bound=0.022, log=True,
        meaning="the audio repeats itself exactly (spectrogram residual at the best lag)",
    ),
    "steady_pitch_share": CueBound(
        name="steady_pitch_share", bound=0.12, log=True, higher_is_machine=True,
        meaning="pitch does not move (share of tonal energy steady within 0.1 cent per frame)",
    ),
    "floor_db": CueBound(
        name="floor_db", bound=-99.0, log=False,
        meaning="no noise floor (quietest band's quietest tenth vs the median level, dB)",
    ),
}  # fmt: skip
"""Bounds fitted on the adversarial suite's tuning seed (:data:`offline_eval.adversarial.
TUNE_SEED`, ``python -m offline_eval.adversarial.machine_fit --seed 1 --fit``) from its 212
human recordings alone (112 excerpts of 41 game-soundtrack recordings and 100 edited copies:
MP3, noise, EQ, pitch, speed...): each bound lies a tenth of a decade (1 dB) beyond the most
machine-like of them (repetition 0.027, steady pitch 0.094, floor -97.8 dB), so none of the
212 has a single cue past its bound. The renders were only measured: plain 156 / 156 past
the rule, dressed as recordings 154 / 156."""


class AudioDisputeConfig(BaseModel):
    """When the audio alone contradicts a declared-human label."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clean_false_dispute_rate: float = Field(0.005, ge=0, le=1)
    """A new track drawn like the catalog's clean reference tracks reaches the threshold with
    at most this probability (conformal: above all but ``k`` of ``n`` references with
    ``(k + 1) / (n + 1)`` at most this)."""
    min_reference: int = Field(20, ge=1)
    """Below this many clean reference tracks with audio, the reference bounds stand alone."""


SINGLE_CUES: tuple[str, ...] = ("repeat_residual", "steady_pitch_share")
"""Cues that are hard to hide (material that repeats exactly, pitch that never moves): one of
them alone counts when it lies :data:`SINGLE_CUE_DECADES` past its bound."""
SINGLE_CUE_DECADES = 0.5
"""How far (decades, a factor of about 3) past its bound one hard cue must lie to count
alone: an uploader who adds noise and tape wow hides the floor and the pitch, not the
repeats."""


def cue_margins(cues: np.ndarray) -> np.ndarray:
    """Margin of every cue (rows × :data:`CUE_NAMES`) past its reference bound."""
    cues = np.atleast_2d(np.asarray(cues, dtype=np.float64))
    out = np.full(cues.shape, np.nan)
    for j, name in enumerate(CUE_NAMES):
        bound = REFERENCE_BOUNDS[name]
        out[:, j] = [bound.margin(float(v)) for v in cues[:, j]]
    return out


def machine_score(cues: np.ndarray) -> np.ndarray:
    """Per row, the larger of the second-largest cue margin (>= 0: two cues past their
    bounds) and the largest :data:`SINGLE_CUES` margin less :data:`SINGLE_CUE_DECADES`
    (>= 0: one hard cue far past its bound); NaN without any measured cue."""
    margins = cue_margins(cues)
    single = [CUE_NAMES.index(n) for n in SINGLE_CUES]
    out = np.full(len(margins), np.nan)
    for i, row in enumerate(margins):
        known = np.sort(row[np.isfinite(row)])
        candidates = [known[-2]] if known.size >= 2 else []
        hard = row[single][np.isfinite(row[single])]
        if hard.size:
            candidates.append(float(hard.max()) - SINGLE_CUE_DECADES)
        if candidates:
            out[i] = max(candidates)
    return out


def describe_cues(cues: np.ndarray) -> dict[str, str]:
    """Evidence lines for the cues past their bounds, by cue name."""
    lines: dict[str, str] = {}
    for name, value, margin in zip(CUE_NAMES, cues, cue_margins(cues)[0], strict=True):
        if math.isfinite(margin) and margin >= 0:
            bound = REFERENCE_BOUNDS[name]
            lines[f"audio_{name}"] = f"{bound.meaning}: {value:.4g} past {bound.bound:g}"
    return lines


@dataclass(kw_only=True)
class AudioCheck:
    """What checking declared labels against the audio found.

    Attributes:
        records: disputes to open (not yet written).
        scores: machine score of every checked track with enough cues.
        threshold: score from which a declared-human track is disputed.
        reference: clean reference tracks with cues in the catalog.
        reference_rate: share of them at or above the threshold.
        machine_like: checked tracks at or above the threshold, by declared level.
    """

    records: list[DisputeRecord] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    threshold: float = 0.0
    reference: int = 0
    reference_rate: float = 0.0
    machine_like: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "checked": len(self.scores),
            "opened": len(self.records),
            "threshold": round(self.threshold, 4),
            "machine_like": dict(self.machine_like),
            "clean_reference": self.reference,
            "clean_reference_dispute_rate": round(self.reference_rate, 4),
        }


def audio_checked(track: Track) -> bool:
    """Whether a track's declared label is checked against its audio (declared ``NONE`` or
    ``ASSISTED``)."""
    p = track.provenance
    return p.label_source is LabelSource.DECLARED and p.ai_involvement in CHECKED_LEVELS


def _catalog_threshold(clean: np.ndarray, rate: float) -> float:
    """The lowest score >= 0 that a new track drawn like the clean ones reaches with
    probability at most ``rate``: above all but ``k`` of the ``n`` clean scores, with
    ``(k + 1) / (n + 1) <= rate`` (the conformal bound; a plain quantile would allow
    ``k / n`` and understate the rate on a small reference)."""
    if clean.size == 0:
        return 0.0
    ranked = np.sort(clean)[::-1]
    allowed = min(max(int(np.floor(rate * (ranked.size + 1))) - 1, 0), ranked.size - 1)
    return max(0.0, float(np.nextafter(ranked[allowed], np.inf)))


def check_declarations_by_audio(
    cues: Mapping[str, np.ndarray],
    tracks: Sequence[Track],
    artists: Mapping[str, Artist],
    *,
    history: Sequence[DisputeRecord] = (),
    quarantined: Collection[str] = (),
    config: AudioDisputeConfig | None = None,
    at: datetime | None = None,
) -> AudioCheck:
    """Dispute declared-human tracks whose audio is machine-made (see the module docstring).

    Args:
        cues: :data:`CUE_NAMES` values by track id (tracks without audio are absent).
        tracks: the catalog.
        artists: artists by id (who is verified).
        history: the dispute audit (open disputes are not re-opened; a declaration an admin
            upheld is not disputed again while it is unchanged).
        quarantined: left out of the clean reference.
        config: the clean-reference rate.
        at: time of the new entries.
    """
    cfg = config or AudioDisputeConfig()
    checked = [t for t in tracks if audio_checked(t) and t.track_id in cues]
    if not checked:
        return AudioCheck()
    scores = machine_score(np.stack([cues[t.track_id] for t in checked]))
    clean = np.array(
        [
            clean_reference(t, artists) and t.track_id not in quarantined and np.isfinite(s)
            for t, s in zip(checked, scores, strict=True)
        ]
    )
    threshold, rate = 0.0, 0.0
    if int(clean.sum()) >= cfg.min_reference:
        threshold = _catalog_threshold(scores[clean], cfg.clean_false_dispute_rate)
        rate = float((scores[clean] >= threshold).mean())
    result = AudioCheck(
        scores={t.track_id: float(s) for t, s in zip(checked, scores, strict=True) if s == s},
        threshold=threshold,
        reference=int(clean.sum()),
        reference_rate=rate,
    )
    opened, decided = dispute_state(history)
    now = at or datetime.now(UTC)
    for track, score in zip(checked, scores, strict=True):
        if not (np.isfinite(score) and score >= threshold):
            continue
        declared = track.provenance.ai_involvement
        result.machine_like[str(declared)] = result.machine_like.get(str(declared), 0) + 1
        if track.track_id in opened or decided.get(track.track_id) is declared:
            continue
        text = text_evidence(track, credited_names(track, artists))
        if declared is AiInvolvement.ASSISTED and not text.strong:
            continue
        evidence = {
            "audio": (
                f"machine-made audio, declared {declared}: score {score:.2f} >= {threshold:.2f} "
                f"(cues past bounds set on real recordings; {rate:.2%} of the catalog's "
                f"{result.reference} clean reference tracks reach it)"
            ),
            **describe_cues(cues[track.track_id]),
        }
        if text.strength != "none":
            evidence["text"] = f"{text.strength} mention in {text.field}: {text.excerpt!r}"
        result.records.append(
            DisputeRecord(
                track_id=track.track_id,
                opened=True,
                declared=declared,
                probability=None,
                evidence=evidence,
                actor=DISPUTE_ACTOR,
                at=now,
            )
        )
    logger.info("declared labels checked against the audio: %s", result.summary())
    return result


__all__ = [
    "REFERENCE_BOUNDS",
    "SINGLE_CUES",
    "SINGLE_CUE_DECADES",
    "AudioCheck",
    "AudioDisputeConfig",
    "CueBound",
    "audio_checked",
    "check_declarations_by_audio",
    "cue_margins",
    "describe_cues",
    "machine_score",
]
