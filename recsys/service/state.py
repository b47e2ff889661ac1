"""What the server serves from: the loaded artifacts with their recommender, and the running
experiments. Each is swapped atomically: a call reads the current reference once and keeps
using it, so a reload never changes the model under a call in flight."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from recsys.artifacts import MANIFEST_NAME, verify_manifest
from recsys.errors import ArtifactError
from recsys.params import PolicyParams
from recsys.pipeline.api import Recommender, RecommendRequest
from recsys.service.errors import NotServingError

logger = logging.getLogger(__name__)

RecommenderFactory = Callable[[Path], Recommender]
ManifestVerifier = Callable[[Path], str]
LoadObserver = Callable[[str, str], None]
"""Told of every artifact load: ``(outcome, origin)``, outcome ``ok`` or ``failed``, origin
one of :data:`LOAD_ORIGINS`."""

LOAD_ORIGINS = ("startup", "operator", "worker", "replica")
"""Why a load ran: the process's first load, an operator's ``ReloadArtifacts``, a reload
announced by a sibling ``--workers`` process, or one announced through the shared store by a
replica (which reaches this machine's sibling workers too when the store is shared)."""


class Assigner(Protocol):
    """The running experiments (``ExperimentRegistry(dir).current()``)."""

    def assign(self, listener_id: str) -> Any:
        """An assignment with ``params``, ``label`` and ``exposures``."""
        ...


@dataclass(frozen=True, kw_only=True)
class LoadedArtifacts:
    """One loaded artifact directory."""

    artifact_dir: Path
    version: str
    recommender: Recommender
    loaded_at: datetime
    load_ms: float


@dataclass(frozen=True, kw_only=True)
class ResolvedAssignment:
    """A listener's assignment, normalised for the service."""

    params: PolicyParams
    label: str = ""
    exposures: tuple[tuple[str, str], ...] = ()


NO_EXPERIMENTS = ResolvedAssignment(params=PolicyParams())


def verify_artifacts(artifact_dir: Path) -> str:
    """Check an artifact directory against its manifest (sha256 of every file) and return
    its version id: the first 16 hex digits of the manifest's own sha256.

    Raises:
        ArtifactError: the directory or manifest is missing or does not check out.
    """
    verify_manifest(artifact_dir)
    return hashlib.sha256((artifact_dir / MANIFEST_NAME).read_bytes()).hexdigest()[:16]


TRIAL_COLD_LISTENER = "__liner_reload_trial__"


def trial_recommend(recommender: Recommender, listeners: int = 3) -> None:
    """Serve a few slates on a freshly loaded recommender before it is swapped in: known
    listeners (the first of the artifact's listener ids), a cold one, a query and a seed.
    Nothing is logged. Any exception means the artifact set cannot serve.

    Raises:
        ArtifactError: naming the request that failed and why.
    """
    spaces = getattr(recommender, "spaces", None)
    known = [str(x) for x in getattr(spaces, "listener_ids", ())[:listeners]]
    seeds = tuple(str(x) for x in getattr(spaces, "track_ids", ())[:1])
    requests = [RecommendRequest(listener_id=x, k=10) for x in known]
    requests.append(RecommendRequest(listener_id=TRIAL_COLD_LISTENER, k=10, query="music"))
    requests.append(
        RecommendRequest(listener_id=TRIAL_COLD_LISTENER, k=10, context_track_ids=seeds)
    )
    slate_logger = getattr(recommender, "slate_logger", None)
    if slate_logger is not None:
        recommender.slate_logger = None  # type: ignore[attr-defined]
    try:
        for request in requests:
            try:
                recommender.recommend(request)
            except Exception as exc:
                raise ArtifactError(
                    f"a trial recommendation on the new artifacts failed (listener "
                    f"{request.listener_id!r}, query {request.query!r}, seeds "
                    f"{list(request.context_track_ids)}): {type(exc).__name__}: {exc}. "
                    "The previous artifacts keep serving; rebuild with `liner build`"
                ) from exc
    finally:
        if slate_logger is not None:
            recommender.slate_logger = slate_logger  # type: ignore[attr-defined]


def resolve_assignment(assignment: Any) -> ResolvedAssignment:
    """Normalise an experiments-layer assignment (params, label, exposures)."""
    params = getattr(assignment, "params", None)
    if not isinstance(params, PolicyParams):
        params = PolicyParams()
    exposures: list[tuple[str, str]] = []
    for exposure in getattr(assignment, "exposures", ()) or ():
        if isinstance(exposure, tuple) and len(exposure) == 2:
            exposures.append((str(exposure[0]), str(exposure[1])))
        elif isinstance(exposure, dict):
            exposures.append(
                (str(exposure.get("experiment", "")), str(exposure.get("variant", "")))
            )
        else:
            exposures.append(
                (str(getattr(exposure, "experiment", "")), str(getattr(exposure, "variant", "")))
            )
    return ResolvedAssignment(
        params=params, label=str(getattr(assignment, "label", "") or ""), exposures=tuple(exposures)
    )


class ServingState:
    """Loaded artifacts and experiments, swapped atomically.

    Args:
        factory: builds the recommender from a verified artifact directory, e.g.
            ``lambda d: load_recommender(d, store, settings)``.
        verify: checks the manifest and returns a version id (:func:`verify_artifacts`).
        experiments: loads the running experiments; None serves everyone the defaults.
        announce: called with the directory after an operator's reload
            (:meth:`reload_requested`), e.g. to pass it to the other worker processes.
        trial: run on a newly built recommender before it is swapped in
            (:func:`trial_recommend`); an exception refuses the load.
        on_load: told of every load's outcome and origin (``ServiceMetrics.observe_reload``).

    Example:
        state = ServingState(factory=lambda d: load_recommender(d, store, settings))
        state.load(Path("var/artifacts"))
    """

    def __init__(
        self,
        *,
        factory: RecommenderFactory,
        verify: ManifestVerifier = verify_artifacts,
        experiments: Callable[[], Assigner] | None = None,
        announce: Callable[[Path], None] | None = None,
        trial: Callable[[Recommender], None] | None = None,
        on_load: LoadObserver | None = None,
    ) -> None:
        self._factory = factory
        self._on_load = on_load
        self._trial = trial
        self._announce = announce
        self._verify = verify
        self._experiments_loader = experiments
        self._loaded: LoadedArtifacts | None = None
        self._assigner: Assigner | None = None
        # Held across load + announce, and by a follower across take + load, so every worker
        # ends on the directory announced last (see recsys.service.workers).
        self._reload_lock = threading.RLock()

    @property
    def loaded(self) -> LoadedArtifacts | None:
        """The artifacts serving now, or None before the first load."""
        return self._loaded

    def current(self) -> LoadedArtifacts:
        """The artifacts serving now.

        Raises:
            NotServingError: nothing is loaded yet.
        """
        loaded = self._loaded
        if loaded is None:
            raise NotServingError("no artifacts loaded yet; retry shortly")
        return loaded

    def load(self, artifact_dir: Path | None = None, *, origin: str = "startup") -> LoadedArtifacts:
        """Verify and load ``artifact_dir`` (default: the current one), then swap it in.

        On any failure the previous artifacts keep serving. ``origin`` (one of
        :data:`LOAD_ORIGINS`) is passed with the outcome to ``on_load``.

        Raises:
            ArtifactError: nothing to load, or the directory does not check out.
        """
        try:
            loaded = self._load(artifact_dir)
        except BaseException:
            self._observe("failed", origin)
            raise
        self._observe("ok", origin)
        return loaded

    def _observe(self, outcome: str, origin: str) -> None:
        if self._on_load is None:
            return
        try:
            self._on_load(outcome, origin)
        except Exception:
            logger.exception("recording an artifact load failed")

    def _load(self, artifact_dir: Path | None) -> LoadedArtifacts:
        with self._reload_lock:
            if artifact_dir is None:
                if self._loaded is None:
                    raise ArtifactError("no artifact directory given and none loaded")
                artifact_dir = self._loaded.artifact_dir
            start = time.perf_counter()
            version = self._verify(artifact_dir)
            recommender = self._factory(artifact_dir)
            if self._trial is not None:
                try:
                    self._trial(recommender)
                except BaseException:
                    _close(recommender)
                    raise
            loaded = LoadedArtifacts(
                artifact_dir=artifact_dir,
                version=version,
                recommender=recommender,
                loaded_at=datetime.now(UTC),
                load_ms=(time.perf_counter() - start) * 1000.0,
            )
            self._loaded = loaded
        logger.info("serving artifacts %s (version %s)", artifact_dir, version)
        return loaded

    def reload_requested(self, artifact_dir: Path | None = None) -> LoadedArtifacts:
        """An operator's reload: :meth:`load`, then announce the directory (see ``announce``).

        Raises:
            ArtifactError: as :meth:`load`; nothing is announced then.
        """
        with self._reload_lock:
            loaded = self.load(artifact_dir, origin="operator")
            if self._announce is not None:
                self._announce(loaded.artifact_dir)
        return loaded

    def follow(
        self, pending: Callable[[], Path | None], *, origin: str = "worker"
    ) -> LoadedArtifacts | None:
        """Load the directory another worker (or replica, ``origin="replica"``) announced, if
        ``pending()`` has one.

        ``pending`` is called under the reload lock, so an announcement this worker makes
        while loading its own operator's reload is never overtaken by an older one.

        Raises:
            ArtifactError: as :meth:`load`.
        """
        with self._reload_lock:
            path = pending()
            return self.load(path, origin=origin) if path is not None else None

    def load_experiments(self) -> list[str]:
        """(Re)load the experiments and swap them in; returns their names."""
        if self._experiments_loader is None:
            return []
        assigner = self._experiments_loader()
        self._assigner = assigner
        names = getattr(assigner, "experiment_names", None) or getattr(assigner, "names", None)
        if callable(names):
            names = names()
        if names is None:
            experiments = getattr(assigner, "experiments", ())
            names = [getattr(e, "name", str(e)) for e in experiments]
        return [str(n) for n in names]

    def assign(self, listener_id: str) -> ResolvedAssignment:
        """The listener's variant, or the defaults when no experiments run."""
        assigner = self._assigner
        if assigner is None:
            return NO_EXPERIMENTS
        return resolve_assignment(assigner.assign(listener_id))


def _close(recommender: Recommender) -> None:
    close = getattr(recommender, "close", None)
    if callable(close):
        try:
            close()
        except Exception:
            logger.exception("closing a refused recommender failed")


__all__ = [
    "LOAD_ORIGINS",
    "NO_EXPERIMENTS",
    "Assigner",
    "LoadObserver",
    "LoadedArtifacts",
    "ManifestVerifier",
    "RecommenderFactory",
    "ResolvedAssignment",
    "ServingState",
    "resolve_assignment",
    "trial_recommend",
    "verify_artifacts",
]
