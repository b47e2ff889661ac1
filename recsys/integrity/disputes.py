"""Declared labels are checked too: a declaration the service's own analysis strongly
contradicts is put in dispute, never silently relabelled.

A declared AI label is the distributor's claim (DESIGN.md rule 7). The undeclared-AI detector
scores tracks declared ``NONE`` and ``ASSISTED`` as well; the detector was trained on declared
labels, so a track it trained on is scored by the fold model that did not see it
(:meth:`~recsys.integrity.detector.AiDetector.predict_declared`). Together with what the
track's own text says (:mod:`recsys.integrity.ai_text`), a strong disagreement opens a
dispute in the append-only dispute audit, with the declared label, the probability and the
evidence. A disputed track is held (never served, never paid; :meth:`Store.held_ids`) and
labelled ``DISPUTED`` wherever its label is shown, until a rights admin decides
(:func:`resolve_dispute`).

The detector's probabilities are calibrated on the declared training set, where a quarter or
so of the tracks are AI; among tracks declared ``NONE`` far fewer are. So, as
:func:`~recsys.integrity.detector.detect_labels` does for undisclosed tracks, the share of AI
among the declared-``NONE`` tracks is estimated by EM and each probability re-expressed under
it: a declaration is disputed on the audio alone only when the audio outweighs the fact that
most such declarations are honest (a human recording with a machine-like chain scores high
under the training prior, not under this one).

"Strong" is calibrated on data known to be clean: the declared-human tracks of verified
artists. The threshold is the lowest probability that disputes at most
``clean_false_dispute_rate`` of them (never below ``min_probability``); a track whose text
claims AI involvement needs only the looser ``text_clean_rate`` threshold, and at least the
detector's base rate (the audio must not speak against the text): an uploader's text that
contradicts its own declaration is rare among human tracks, so the two together stay rare.
Both implied rates on the clean reference are reported with every run.

Without a detector (too few tracks whose artists consented to AI training, so nothing may be
learned), :func:`check_declarations_by_chain` still checks declared-``NONE`` tracks whose own
text claims AI generation, against the recording chain measured on the audio: a dispute
needs the text *and* a chain without the noise floor every clean reference has (the top band
digitally silent under the music, as a renderer leaves it), never the text alone.

The audio alone disputes through :mod:`recsys.integrity.machine_evidence`, on cues a render
cannot hide as easily as its floor (exact repetition, pitch that never moves), two of them
together or one far past its bound, calibrated on real recordings and on the catalog's clean
reference; the screening job runs it beside these checks. Why the chain (the floor) alone
never disputes (measured): on the adversarial suite's tuning seed, the
tightest floor bound that catches its machine renders (all at or below -75.4 dB in the top
band) also takes 1 of 54 real human recordings (a quiet orchestral piece at -95 dB): 1.9 %,
above the 1 % a dispute may cost honest artists; in the demo world 34 of 897 honest
declared-human tracks (3.8 %) are rendered with a machine chain, as electronic producers'
are. Text (a generator named in a tag, credit or decoration counts) or the detector must
corroborate.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from recsys.domain import AiInvolvement, Artist, LabelSource, Provenance, Track
from recsys.errors import LinerError, NotFoundError
from recsys.integrity.ai_text import text_evidence
from recsys.integrity.audio import FORENSIC_NAMES
from recsys.integrity.calibration import adjust_prior, estimate_prior
from recsys.integrity.detector import AiDetector
from recsys.store import DisputeRecord, Store

logger = logging.getLogger(__name__)

DISPUTE_ACTOR = "screening"
CHECKED_LEVELS = (AiInvolvement.NONE, AiInvolvement.ASSISTED)


class DisputeConfig(BaseModel):
    """When a declaration counts as strongly contradicted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clean_false_dispute_rate: float = Field(0.005, ge=0, le=1)
    """At most this share of verified artists' declared-human tracks may be disputed on the
    audio alone."""
    text_clean_rate: float = Field(0.05, ge=0, le=1)
    """At most this share of them may reach the threshold used when the text itself claims
    AI involvement."""
    min_probability: float = Field(0.9, ge=0, le=1)
    """Never dispute on the audio alone below this P(AI)."""
    text_min_probability: float | None = Field(None, ge=0, le=1)
    """Never dispute a track whose text claims AI below this P(AI); None: the detector's
    base rate (the share of AI among its training tracks), i.e. the audio must at least not
    speak against the text."""
    generated_probability: float = Field(0.95, ge=0, le=1)
    """A track declared ``ASSISTED`` is disputed only when the detector is strong and the
    kind model says fully generated with at least this probability."""
    min_reference: int = Field(20, ge=1)
    """Below this many clean reference tracks the thresholds fall back to 0.99 / 0.9."""


@dataclass(kw_only=True)
class DisputeCheck:
    """What checking the declared labels found.

    Attributes:
        records: disputes to open (not yet written).
        probabilities: P(AI) of every checked declared track.
        threshold: P(AI), under the declared-NONE prior, from which a declaration is
            disputed on the audio alone.
        text_threshold: P(AI) from which it is disputed when its text claims AI.
        reference: clean reference tracks (verified artists, declared ``NONE``).
        reference_rates: share of the reference at or above each threshold.
    """

    records: list[DisputeRecord] = field(default_factory=list)
    probabilities: dict[str, float] = field(default_factory=dict)
    threshold: float = 1.0
    text_threshold: float = 1.0
    declared_none_prior: float = 0.0
    reference: int = 0
    reference_rates: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "checked": len(self.probabilities),
            "opened": len(self.records),
            "threshold": round(self.threshold, 4),
            "text_threshold": round(self.text_threshold, 4),
            "declared_none_ai_share": round(self.declared_none_prior, 4),
            "clean_reference": self.reference,
            "clean_reference_dispute_rate": {
                k: round(v, 4) for k, v in self.reference_rates.items()
            },
        }


def clean_reference(track: Track, artists: Mapping[str, Artist]) -> bool:
    """A declared-human track whose every credited artist is verified: the data assumed
    clean when the dispute thresholds are calibrated."""
    p = track.provenance
    if p.label_source is not LabelSource.DECLARED or p.ai_involvement is not AiInvolvement.NONE:
        return False
    credited = [artists.get(c.artist_id) for c in track.credits]
    return bool(credited) and all(a is not None and a.verified for a in credited)


def credited_names(track: Track, artists: Mapping[str, Artist]) -> list[str]:
    """Names of the artists credited on a track (a credit naming a generator is AI text)."""
    return [a.name for c in track.credits if (a := artists.get(c.artist_id)) is not None]


def _threshold(clean: np.ndarray, rate: float, floor: float, fallback: float) -> float:
    """The lowest P(AI) reached by at most ``rate`` of the clean scores (and ``floor``)."""
    if clean.size == 0:
        return max(floor, fallback)
    ranked = np.sort(clean)[::-1]
    allowed = int(np.floor(rate * ranked.size))
    if allowed >= ranked.size:
        return floor
    return max(floor, float(np.nextafter(ranked[allowed], np.inf)))


def dispute_state(history: Sequence[DisputeRecord]) -> tuple[set[str], dict[str, AiInvolvement]]:
    """Tracks with an open dispute, and the label an admin decided per decided track."""
    latest: dict[str, DisputeRecord] = {}
    for record in history:
        latest[record.track_id] = record
    opened = {t for t, r in latest.items() if r.opened}
    decided = {t: r.decided for t, r in latest.items() if not r.opened and r.decided is not None}
    return opened, decided


def check_declarations(
    detector: AiDetector,
    features: pd.DataFrame,
    tracks: Sequence[Track],
    artists: Mapping[str, Artist],
    *,
    history: Sequence[DisputeRecord] = (),
    quarantined: Collection[str] = (),
    config: DisputeConfig | None = None,
    at: datetime | None = None,
) -> DisputeCheck:
    """Score declared ``NONE``/``ASSISTED`` tracks out of fold and find strong disagreements.

    Args:
        detector: the trained detector (with its out-of-fold scores).
        features: detector features indexed by track id.
        tracks: the catalog.
        artists: artists by id (who is verified).
        history: the dispute audit: a track already in dispute is not disputed again, and a
            track whose declaration an admin upheld is not re-opened while it declares the same.
        quarantined: tracks left out of the clean reference (screening found abuse there).
        config: thresholds.
        at: time of the new entries.
    """
    cfg = config or DisputeConfig()
    checked = [
        t
        for t in tracks
        if t.provenance.label_source is LabelSource.DECLARED
        and t.provenance.ai_involvement in CHECKED_LEVELS
    ]
    if not checked:
        return DisputeCheck()
    rows = features.loc[[t.track_id for t in checked]]
    probability = detector.predict_declared(rows)
    generated = detector.predict_generated_declared(rows)
    none = np.array([t.provenance.ai_involvement is AiInvolvement.NONE for t in checked])
    basis = none & np.array([t.track_id not in quarantined for t in checked])
    prior = estimate_prior(probability[basis], detector.train_prior) if basis.any() else 0.0
    # Under the declared-NONE prior for NONE tracks; ASSISTED ones declare AI already.
    posterior = probability.copy()
    if none.any():
        posterior[none] = adjust_prior(probability[none], detector.train_prior, max(prior, 1e-4))
    clean = np.array(
        [clean_reference(t, artists) and t.track_id not in quarantined for t in checked]
    )
    enough = int(clean.sum()) >= cfg.min_reference
    reference = posterior[clean] if enough else np.empty(0)
    threshold = _threshold(reference, cfg.clean_false_dispute_rate, cfg.min_probability, 0.99)
    text_floor = (
        detector.train_prior if cfg.text_min_probability is None else cfg.text_min_probability
    )
    raw_reference = probability[clean] if enough else np.empty(0)
    text_threshold = _threshold(raw_reference, cfg.text_clean_rate, text_floor, 0.9)
    result = DisputeCheck(
        probabilities={t.track_id: float(p) for t, p in zip(checked, probability, strict=True)},
        threshold=threshold,
        text_threshold=text_threshold,
        declared_none_prior=prior,
        reference=int(clean.sum()) if enough else 0,
        reference_rates={
            "audio": float((reference >= threshold).mean()) if reference.size else 0.0,
            "with_text": float((raw_reference >= text_threshold).mean())
            if raw_reference.size
            else 0.0,
        },
    )
    opened, decided = dispute_state(history)
    now = at or datetime.now(UTC)
    # Without any audio analysis the detector sees metadata only: the text then stands alone.
    audio = [c for c in features.columns if c in FORENSIC_NAMES or c.startswith("audio_")]
    no_audio = features[audio].isna().all(axis=1) if audio else pd.Series(True, features.index)
    for track, p, q, g in zip(checked, probability, posterior, generated, strict=True):
        declared = track.provenance.ai_involvement
        if track.track_id in opened or decided.get(track.track_id) is declared:
            continue
        text = text_evidence(track, credited_names(track, artists))
        evidence: dict[str, str] = {}
        if declared is AiInvolvement.NONE:
            if q >= threshold:
                evidence["detector"] = (
                    f"P(AI) {p:.3f}; {q:.3f} >= {threshold:.3f} among declared-human tracks "
                    f"(estimated AI share {prior:.3f}; audio alone)"
                )
            elif text.strong and p >= text_threshold:
                evidence["detector"] = f"P(AI) {p:.3f} >= {text_threshold:.3f} (with text)"
            elif text.strong and bool(no_audio.get(track.track_id)):
                evidence["detector"] = "no audio analysis: the track's own text stands alone"
        elif p >= threshold and g >= cfg.generated_probability:
            evidence["detector"] = (
                f"P(AI) {p:.3f} >= {threshold:.3f}, P(generated) {g:.3f}: declared ASSISTED"
            )
        if not evidence:
            continue
        if text.strength != "none":
            evidence["text"] = f"{text.strength} mention in {text.field}: {text.excerpt!r}"
        result.records.append(
            DisputeRecord(
                track_id=track.track_id,
                opened=True,
                declared=declared,
                probability=round(float(p), 4),
                evidence=evidence,
                actor=DISPUTE_ACTOR,
                at=now,
            )
        )
    logger.info("declared labels checked: %s", result.summary())
    return result


CHAIN_FEATURE = "hf_floor_db"
CHAIN_MARGIN_DB = 10.0
CHAIN_MAX_DB = -60.0
CHAIN_MIN_REFERENCE = 3


@dataclass(frozen=True, kw_only=True)
class MachineChain:
    """Tracks whose recording chain has no noise floor, unlike every clean reference.

    Attributes:
        ids: the machine-like tracks.
        bound: the high-band floor (dB) below which a chain is machine-like.
        references: clean reference tracks the bound was set from.
    """

    ids: frozenset[str]
    bound: float
    references: int


def machine_chain(
    floor: Mapping[str, float],
    tracks: Sequence[Track],
    artists: Mapping[str, Artist],
    quarantined: Collection[str] = (),
) -> MachineChain:
    """The tracks whose high-band noise floor (:data:`CHAIN_FEATURE`, by track id) lies
    :data:`CHAIN_MARGIN_DB` below every clean reference's (verified artists' declared-human
    tracks, not quarantined) and below :data:`CHAIN_MAX_DB`; with fewer than
    :data:`CHAIN_MIN_REFERENCE` references, the absolute bound alone."""
    clean = [
        float(floor[t.track_id])
        for t in tracks
        if clean_reference(t, artists)
        and t.track_id not in quarantined
        and np.isfinite(floor.get(t.track_id, np.nan))
    ]
    bound = CHAIN_MAX_DB
    if len(clean) >= CHAIN_MIN_REFERENCE:
        bound = min(bound, min(clean) - CHAIN_MARGIN_DB)
    ids = frozenset(
        t.track_id
        for t in tracks
        if np.isfinite(value := floor.get(t.track_id, np.nan)) and value < bound
    )
    return MachineChain(ids=ids, bound=bound, references=len(clean))


def check_declarations_by_chain(
    features: pd.DataFrame,
    tracks: Sequence[Track],
    artists: Mapping[str, Artist],
    *,
    history: Sequence[DisputeRecord] = (),
    quarantined: Collection[str] = (),
    at: datetime | None = None,
) -> DisputeCheck:
    """Declared-``NONE`` tracks whose text claims AI and whose recording chain has no noise
    floor (:func:`machine_chain`): disputed without a detector (see the module docstring)."""
    if CHAIN_FEATURE not in features.columns:
        return DisputeCheck()
    floor = features[CHAIN_FEATURE]
    chain = machine_chain(floor.to_dict(), tracks, artists, quarantined)
    result = DisputeCheck(threshold=1.0, text_threshold=1.0, reference=chain.references)
    opened, decided = dispute_state(history)
    now = at or datetime.now(UTC)
    for track in tracks:
        p = track.provenance
        if p.label_source is not LabelSource.DECLARED or p.ai_involvement is not AiInvolvement.NONE:
            continue
        if track.track_id in opened or decided.get(track.track_id) is AiInvolvement.NONE:
            continue
        text = text_evidence(track, credited_names(track, artists))
        if not text.strong or track.track_id not in chain.ids:
            continue
        value = float(floor[track.track_id])
        result.records.append(
            DisputeRecord(
                track_id=track.track_id,
                opened=True,
                declared=AiInvolvement.NONE,
                probability=None,
                evidence={
                    "recording_chain": (
                        f"high-band noise floor {value:.1f} dB < {chain.bound:.1f} dB: below "
                        f"every one of {chain.references} clean reference tracks by "
                        f"{CHAIN_MARGIN_DB:g} dB (no detector: too few consented training tracks)"
                    ),
                    "text": f"{text.strength} mention in {text.field}: {text.excerpt!r}",
                },
                actor=DISPUTE_ACTOR,
                at=now,
            )
        )
    logger.info("declared labels checked by recording chain: %d disputed", len(result.records))
    return result


def resolve_dispute(
    store: Store,
    track_id: str,
    *,
    label: AiInvolvement,
    actor: str,
    reason: str,
    at: datetime | None = None,
) -> DisputeRecord:
    """A rights admin's audited decision on a disputed declaration.

    The track's label becomes ``label`` (declared by the admin's decision), the dispute is
    closed in the audit with actor and reason, and the track is served and paid again unless
    something else holds it.

    Raises:
        NotFoundError: no such track.
        LinerError: the track is not disputed, the label is not NONE/ASSISTED/GENERATED, or
            actor/reason is empty or ``screening``.
    """
    if not actor.strip() or actor == DISPUTE_ACTOR:
        raise LinerError("a dispute decision needs the rights admin's id as actor")
    if not reason.strip():
        raise LinerError("a dispute decision needs a reason, for the audit trail")
    if label not in (AiInvolvement.NONE, AiInvolvement.ASSISTED, AiInvolvement.GENERATED):
        raise LinerError(f"decide a dispute with NONE, ASSISTED or GENERATED, not {label}")
    track = store.get_track(track_id)
    if track is None:
        raise NotFoundError(f"no track {track_id!r} in the store")
    if track_id not in store.disputed_ids():
        raise LinerError(f"track {track_id!r} is not disputed; nothing to decide")
    record = DisputeRecord(
        track_id=track_id,
        opened=False,
        declared=track.provenance.ai_involvement,
        decided=label,
        actor=actor,
        reason=reason,
        at=at or datetime.now(UTC),
    )
    decided = Provenance(
        ai_involvement=label,
        ai_parts=track.provenance.ai_parts if label is AiInvolvement.ASSISTED else (),
        label_source=LabelSource.DECLARED,
        references_artist_ids=track.provenance.references_artist_ids,
    )
    store.finish_screening(screened={}, disputes=[record], labels={track_id: decided})
    logger.info("dispute on %s decided by %s: %s (%s)", track_id, actor, label, reason)
    return record


__all__ = [
    "CHECKED_LEVELS",
    "DISPUTE_ACTOR",
    "DisputeCheck",
    "DisputeConfig",
    "MachineChain",
    "check_declarations",
    "check_declarations_by_chain",
    "clean_reference",
    "credited_names",
    "dispute_state",
    "machine_chain",
    "resolve_dispute",
]
