"""Several `liner serve` replicas on one shared store: artifact reloads reach all of them.

What replicas share needs no signal: consent, quarantine, disputes, labels, events and slates
live in the one database, and the request path reads the consent version and the held tracks
from it on every request, so a change made through any replica holds on every replica at its
next request. What each replica holds in memory is the loaded artifact build; a
``ReloadArtifacts`` call lands on one replica only, so that replica announces it through the
store (:meth:`~recsys.store.Store.announce_reload`: a row in the reload log plus a PostgreSQL
``NOTIFY``), and every replica's watcher loads the announced directory from the artifact
location they share, verifying its manifest itself. A replica that fails to load it keeps
serving its previous build (logged), as with ``--workers``.

A replica started later serves the ``--artifacts`` it was given and follows reloads announced
from then on; point ``--artifacts`` at a stable path (a symlink the operator moves, then one
``ReloadArtifacts`` with no directory) so restarts and reloads agree.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from recsys.store import Store

logger = logging.getLogger(__name__)


class Loaded(Protocol):
    """What a replica serves now (``recsys.service.state.LoadedArtifacts``)."""

    @property
    def artifact_dir(self) -> Path: ...

    @property
    def version(self) -> str: ...


class Reloadable(Protocol):
    """What the watcher reloads (``recsys.service.ServingState``)."""

    def follow(self, pending: Callable[[], Path | None], *, origin: str) -> Any:
        """Under the reload lock: take ``pending()`` and, if it is a directory, load it
        (counted with ``origin``)."""
        ...


def replica_name() -> str:
    """This replica in the reload log: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


class StoreReloadSignal:
    """Artifact reloads passed between replicas through their shared store.

    The same three calls as :class:`recsys.service.workers.ReloadBroadcast`, so
    :class:`~recsys.service.ServingState` takes either.

    Args:
        store: a store with ``shares_reloads`` (PostgreSQL).
        loaded: what this replica serves now (``lambda: state.loaded``), so an announcement of
            the build it already serves is not loaded twice.
        interval: most seconds between two polls of the reload log (a NOTIFY wakes the
            watcher sooner; the poll covers a lost listening connection).
    """

    def __init__(
        self,
        store: Store,
        loaded: Callable[[], Loaded | None],
        *,
        interval: float = 2.0,
        name: str | None = None,
    ) -> None:
        self.store = store
        self.interval = interval
        self.name = name or replica_name()
        self._loaded = loaded
        self._lock = threading.Lock()
        latest = store.latest_reload()
        # Reloads announced before this replica started are not replayed: it serves what it
        # was started with (see the module docstring).
        self._seen = latest.seq if latest is not None else 0

    def announce(self, artifact_dir: Path) -> None:
        """Tell the other replicas to load ``artifact_dir`` (this one already has)."""
        loaded = self._loaded()
        version = loaded.version if loaded is not None else ""
        notice = self.store.announce_reload(str(artifact_dir), version, by=self.name)
        with self._lock:
            self._seen = max(self._seen, notice.seq)
        logger.info("announced reload %d of %s to the other replicas", notice.seq, artifact_dir)

    def pending(self) -> Path | None:
        """The newest announced directory this replica has not taken yet, or None (also when
        it already serves that build)."""
        notice = self.store.latest_reload()
        with self._lock:
            if notice is None or notice.seq <= self._seen:
                return None
            self._seen = notice.seq
        loaded = self._loaded()
        if (
            loaded is not None
            and str(loaded.artifact_dir) == notice.artifact_dir
            and notice.version
            and loaded.version == notice.version
        ):
            return None
        logger.info(
            "replica %s announced reload %d of %s",
            notice.announced_by,
            notice.seq,
            notice.artifact_dir,
        )
        return Path(notice.artifact_dir)

    def watch(self, state: Reloadable, stop: threading.Event) -> threading.Thread:
        """Start a daemon thread that loads announced directories into ``state``."""

        def loop() -> None:
            while not stop.is_set():
                try:
                    self.store.wait_for_reload(self.interval)
                    if stop.is_set():
                        break
                    state.follow(self.pending, origin="replica")
                except Exception:
                    logger.exception("reload announced by another replica failed")
                    stop.wait(self.interval)

        thread = threading.Thread(target=loop, name="replica-reload-watch", daemon=True)
        thread.start()
        return thread


def replica_signal(
    store: Store, loaded: Callable[[], Loaded | None], *, interval: float = 2.0
) -> StoreReloadSignal | None:
    """The reload signal of ``store`` when replicas can share it, else None."""
    if not store.shares_reloads:
        return None
    return StoreReloadSignal(store, loaded, interval=interval)


__all__ = ["StoreReloadSignal", "replica_name", "replica_signal"]
