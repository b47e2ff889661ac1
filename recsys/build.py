"""`liner build`: a list of named, resumable steps that write one artifact directory.

Each :class:`BuildStep` declares its inputs as a JSON-able value (settings it uses, hashes of
the store data it reads, sha256 of upstream files); when a previous build of the same directory
recorded the same input hash and its files still check out, the step is skipped and its files
are carried over. Steps read upstream results from files in :attr:`BuildContext.work_dir`, never
from memory, so any subset can be skipped.

The build writes into a sibling temporary directory, writes ``manifest.json`` last, then swaps
it into place, so a reader never sees a half-written directory.

Adding a step (e.g. the reranker or integrity models)::

    from recsys.build import BuildStep, register_build_step

    register_build_step(
        BuildStep(name="reranker", run=train_reranker, inputs=reranker_inputs),
        after="indexes",
    )

``run(ctx)`` writes files under ``ctx.work_dir`` (use ``ctx.path("models/reranker.txt")``) and
returns a small JSON-able ``info`` dict for the manifest; ``inputs(ctx)`` should include
``ctx.file_sha(...)`` of every upstream file it reads, so upstream changes re-run it. Modules
that register steps are imported by :func:`default_steps` via :data:`STEP_MODULES`: add yours
there (the reranker and integrity steps are).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

# FAISS's OpenMP threads spin while they wait for each other. Where other work wants the same
# cores (a shared build host, a Ray node), a spinning thread burns the CPU its partner needs:
# at load ~14 on 2 cores a 20k HNSW build took 55-73 s (13-15 CPU-s) with 2 spinning threads
# and 14-15 s (3.6-3.8 CPU-s) with 2 threads that sleep while they wait. libgomp reads this
# once, when FAISS loads it, so it is set before the steps import FAISS; a value already in
# the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pandas as pd
from tqdm import tqdm

from recsys.artifacts import (
    ConsentSnapshot,
    Manifest,
    StepRecord,
    hash_files,
    list_files,
    read_manifest,
    sha256_file,
    sha256_text,
    write_manifest,
)
from recsys.build_step import BUILD_STEPS, BuildStep, register_build_step
from recsys.domain import ConsentScope, Track
from recsys.embeddings import steps as _embedding_steps  # noqa: F401 (registers them first)
from recsys.embeddings.config import EmbeddingConfig
from recsys.errors import ArtifactError
from recsys.parallel import MapBackend, use_backend
from recsys.settings import LinerSettings
from recsys.store.base import Store
from recsys.store.play_flags import learnable_events

logger = logging.getLogger(__name__)

# Modules imported before a build so their register_build_step calls run. The embedding steps
# register when this module is imported (the import above), so later steps can say after=...
STEP_MODULES: list[str] = [
    "recsys.embeddings.audio_facts",
    "recsys.pipeline.build_step",
    "recsys.integrity.build_step",
]
_SECRET_WORDS = ("token", "key", "password", "secret")


def default_steps() -> list[BuildStep]:
    """The registered steps, after importing every module in :data:`STEP_MODULES`."""
    for module in STEP_MODULES:
        importlib.import_module(module)
    return list(BUILD_STEPS)


class BuildContext:
    """What steps see: the store, settings, the directory being written and cached reads.

    ``text_model`` / ``audio_encoder`` override the models the settings name (tests use tiny
    fakes).
    """

    def __init__(
        self,
        *,
        store: Store,
        settings: LinerSettings,
        work_dir: Path,
        cache_dir: Path,
        text_model: Any = None,
        audio_encoder: Any = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.config: EmbeddingConfig = settings.embeddings
        self.work_dir = work_dir
        self.cache_dir = cache_dir
        self.text_model = text_model
        self.audio_encoder = audio_encoder

    def path(self, rel: str) -> Path:
        """``work_dir / rel`` with its parent created."""
        path = self.work_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def file_sha(self, rel: str) -> str:
        """sha256 of a file an earlier step wrote ("" when absent)."""
        path = self.work_dir / rel
        return sha256_file(path) if path.is_file() else ""

    def save_npy(self, rel: str, array: np.ndarray) -> None:
        """Save an array without pickle."""
        with self.path(rel).open("wb") as f:
            np.save(f, np.asarray(array), allow_pickle=False)

    def load_npy(self, rel: str) -> np.ndarray:
        """Load an array an earlier step wrote."""
        path = self.work_dir / rel
        if not path.is_file():
            raise ArtifactError(f"build step input {rel} is missing; run the full build")
        return np.load(path, allow_pickle=False)

    @cached_property
    def tracks(self) -> list[Track]:
        """Every track, in id order (row order of every space)."""
        return sorted(self.store.iter_tracks(), key=lambda t: t.track_id)

    @cached_property
    def track_ids(self) -> np.ndarray:
        """Row -> track id."""
        return np.asarray([t.track_id for t in self.tracks], dtype=str)

    @cached_property
    def artist_names(self) -> dict[str, str]:
        """Artist id -> display name."""
        return {a.artist_id: a.name for a in self.store.iter_artists()}

    @cached_property
    def rights_holders(self) -> dict[str, str]:
        """Artist id -> rights holder id."""
        return {a.artist_id: a.rights_holder_id for a in self.store.iter_artists()}

    @cached_property
    def events(self) -> pd.DataFrame:
        """The events models learn from: the events table without plays flagged as
        artificial streaming (ALS, popularity and the reranker's labels all read this)."""
        return learnable_events(self.store)

    @cached_property
    def events_hash(self) -> str:
        """Content hash of the events the collaborative model reads."""
        cols = [c for c in ("listener_id", "track_id", "event_type", "weight") if c in self.events]
        if self.events.empty:
            return sha256_text("no-events")
        hashed = pd.util.hash_pandas_object(self.events[cols], index=False).to_numpy()
        return hashlib.sha256(np.sort(hashed).tobytes()).hexdigest()

    @cached_property
    def training_mask(self) -> np.ndarray:
        """Per row: every credited rights holder grants ``ai_training`` (no credits: False)."""
        state = self.store.consent_state()
        mask = np.zeros(len(self.tracks), dtype=bool)
        for i, track in enumerate(self.tracks):
            holders = {self.rights_holders.get(a) for a in track.artist_ids}
            mask[i] = bool(holders) and all(
                h is not None and state.allows(h, ConsentScope.AI_TRAINING) for h in holders
            )
        return mask

    @cached_property
    def consent_snapshot(self) -> ConsentSnapshot:
        """Consent version, granted-set hash and the tracks used for fitting."""
        state = self.store.consent_state()
        granted = sorted(f"{h}\t{s}" for h, s in state.granted)
        used = sorted(self.track_ids[self.training_mask].tolist())
        return ConsentSnapshot(
            consent_version=state.version,
            granted_sha256=sha256_text(*granted),
            training_tracks=len(used),
            training_tracks_sha256=sha256_text(*used),
        )

    @cached_property
    def data_snapshot(self) -> str:
        """Id of the store contents: table counts and the latest event time."""
        summary = self.store.summary()
        latest = None
        if not self.events.empty and "at" in self.events:
            latest = str(self.events["at"].max())
        return sha256_text(json.dumps(summary.__dict__, sort_keys=True, default=str), str(latest))


def _input_hash(step: BuildStep, ctx: BuildContext) -> str:
    payload = json.dumps(
        {"step": step.name, "inputs": step.inputs(ctx)}, sort_keys=True, default=str
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _carry_over(old_dir: Path, work: Path, files: Sequence[str], recorded: dict[str, str]) -> bool:
    """Link (or copy) a skipped step's files from the previous build, checking their sha."""
    for rel in files:
        src = old_dir / rel
        if not src.is_file() or rel not in recorded or sha256_file(src) != recorded[rel]:
            return False
    for rel in files:
        dst = work / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(old_dir / rel, dst)
        except OSError:
            shutil.copy2(old_dir / rel, dst)
    return True


def _settings_record(settings: LinerSettings) -> dict[str, Any]:
    data = settings.model_dump(mode="json")
    return {k: v for k, v in data.items() if not any(w in k for w in _SECRET_WORDS)}


def _swap_into_place(work: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        work.rename(out_dir)
        return
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    out_dir.rename(old)
    work.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)


def build_artifacts(
    store: Store,
    out_dir: Path,
    settings: LinerSettings,
    *,
    resume: bool = True,
    steps: Sequence[BuildStep] | None = None,
    text_model: Any = None,
    audio_encoder: Any = None,
    backend: MapBackend | None = None,
) -> Manifest:
    """Build every step into ``out_dir`` and return its manifest.

    Args:
        store: the data to build from.
        out_dir: the artifact directory (replaced atomically at the end).
        settings: settings; ``settings.embeddings`` configures the embedding steps.
        resume: skip steps whose inputs are unchanged since the build already in ``out_dir``.
        steps: the steps to run; default :func:`default_steps`.
        text_model: a sentence-transformers-like model to use instead of loading one.
        audio_encoder: an :class:`~recsys.embeddings.audio.AudioEncoder` override.
        backend: where the steps' per-item work runs (:mod:`recsys.parallel`): None is this
            machine's cores; a :class:`~recsys.distributed.RayBackend` is a Ray cluster. The
            artifacts are the same; a backend with a ``checkpoint_dir`` of None keeps its
            finished partitions in the build cache until the build succeeds.

    Example:
        >>> build_artifacts(open_store("var/liner.db"), Path("var/artifacts"), LinerSettings())
    """
    out_dir = Path(out_dir)
    previous: Manifest | None = None
    if resume and (out_dir / "manifest.json").is_file():
        try:
            previous = read_manifest(out_dir)
        except ArtifactError as exc:
            logger.warning("ignoring previous build: %s", exc)
    work = out_dir.with_name(f".{out_dir.name}.building-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ctx = BuildContext(
        store=store,
        settings=settings,
        work_dir=work,
        cache_dir=out_dir.with_name(out_dir.name + ".cache"),
        text_model=text_model,
        audio_encoder=audio_encoder,
    )
    records: dict[str, StepRecord] = {}
    if backend is not None and getattr(backend, "checkpoint_dir", "") is None:
        backend.checkpoint_dir = ctx.cache_dir / "partitions"  # type: ignore[attr-defined]
    try:
        with use_backend(backend):
            manifest = _run_steps(steps, ctx, previous, out_dir, work, records)
        _swap_into_place(work, out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    clear = getattr(backend, "clear_checkpoints", None)
    if clear is not None:
        clear()
    return manifest


def _run_steps(
    steps: Sequence[BuildStep] | None,
    ctx: BuildContext,
    previous: Manifest | None,
    out_dir: Path,
    work: Path,
    records: dict[str, StepRecord],
) -> Manifest:
    """Run (or carry over) every step into ``work`` and write its manifest."""
    settings = ctx.settings
    bar = tqdm(list(steps if steps is not None else default_steps()), unit="step", desc="build")
    for step in bar:
        bar.set_postfix_str(step.name)
        digest = _input_hash(step, ctx)
        prev = previous.steps.get(step.name) if previous else None
        if (
            previous is not None
            and prev is not None
            and prev.input_hash == digest
            and _carry_over(out_dir, work, prev.files, previous.files)
        ):
            logger.info("step %s is up to date; skipped", step.name)
            records[step.name] = prev
            continue
        before = set(list_files(work))
        info = step.run(ctx) or {}
        files = sorted(set(list_files(work)) - before)
        records[step.name] = StepRecord(
            input_hash=digest, files=files, finished_at=datetime.now(UTC), info=info
        )
        logger.info("step %s wrote %d files", step.name, len(files))
    manifest = Manifest(
        files=hash_files(work),
        data_snapshot=ctx.data_snapshot,
        consent=ctx.consent_snapshot,
        settings=_settings_record(settings),
        steps=records,
    )
    write_manifest(work, manifest)
    return manifest


__all__ = [
    "BUILD_STEPS",
    "STEP_MODULES",
    "BuildContext",
    "BuildStep",
    "build_artifacts",
    "default_steps",
    "register_build_step",
]
