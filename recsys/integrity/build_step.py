"""The ``integrity`` step of `liner build`: train the undeclared-AI detector into the artifact
directory (``integrity/detector.txt`` LightGBM text model, ``integrity/detector.json`` with the
calibration map, threshold and held-out figures).

The step reads the store but never writes it: quarantines and DETECTED labels are written by
`liner screen`, which runs the same detector code.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recsys.errors import LinerError
from recsys.integrity.audio import extract_audio_cached, store_audio_cache
from recsys.integrity.detector import train_detector
from recsys.integrity.features import detector_features

if TYPE_CHECKING:
    from recsys.build import BuildContext

logger = logging.getLogger(__name__)

STEP_VERSION = 1
MODEL_DIR = "integrity"


def integrity_inputs(ctx: BuildContext) -> Any:
    """What the detector depends on: catalog, consent snapshot, seed and open disputes."""
    return {
        "version": STEP_VERSION,
        "data": ctx.data_snapshot,
        "consent": ctx.consent_snapshot.model_dump(),
        "seed": ctx.settings.seed,
        "disputed": sorted(ctx.store.disputed_ids()),
    }


def _audio_cache(ctx: BuildContext) -> Path:
    """The audio-analysis cache that `liner ingest` / `liner screen` keep beside a SQLite
    store, so the build does not analyse every clip again; else one in the build cache."""
    store_path = getattr(ctx.store, "path", None)
    beside = store_audio_cache(store_path) if isinstance(store_path, Path) else None
    return beside if beside is not None else ctx.cache_dir / "integrity-audio.npz"


def integrity_run(ctx: BuildContext) -> dict[str, Any]:
    """Train the detector on consented declared tracks and save it; a catalog with too few
    such tracks records why instead of failing the build."""
    tracks = list(ctx.tracks)
    artists = {a.artist_id: a for a in ctx.store.iter_artists()}
    audio = extract_audio_cached(tracks, _audio_cache(ctx))
    features = detector_features(tracks, artists, audio)
    # A declaration in dispute is in doubt: it does not teach the detector (as in liner screen).
    disputed = ctx.store.disputed_ids()
    train_on = [t for t in tracks if t.track_id not in disputed]
    try:
        detector = train_detector(features, train_on, artists, ctx.store.consent_state())
    except LinerError as exc:
        logger.warning("integrity step: detector not trained: %s", exc)
        return {"trained": False, "reason": str(exc)}
    detector.save(ctx.path(f"{MODEL_DIR}/detector.json").parent)
    summary = detector.report["held_out"]["summary"]
    return {"trained": True, **detector.report["trained_on"], **summary}


def _register() -> None:
    from recsys.build import BuildStep, register_build_step

    register_build_step(BuildStep(name="integrity", run=integrity_run, inputs=integrity_inputs))


_register()

__all__ = ["integrity_inputs", "integrity_run"]
