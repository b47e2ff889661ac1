"""Screening the backlog while the service runs.

A track is unscreened from the transaction that writes it (an ingest, ``UpsertTracks``) until
a screening run commits; meanwhile it is held: never served, never paid. When `liner serve`
starts on a store with unscreened tracks (an ingest or screening was killed, or tracks came in
through ``UpsertTracks``), refusing to start would take every screened track offline for the
sake of a few, and serving them would break DESIGN.md rule 7. So the service starts, serves
the screened catalog, logs a warning naming the held count, and screens the backlog in a
background thread; it keeps checking for new unscreened tracks every ``interval_s``.

With ``--workers N`` every worker runs a :class:`BacklogScreener`, but an exclusive lock file
beside the store lets only one of them screen at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

from recsys.errors import LinerError
from recsys.store import Store

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def screening_lock(store: Store) -> Iterator[bool]:
    """Hold the store's screening lock if no other process does; yields whether it did.

    Stores without a file (a URL) have no lock file: yields True.
    """
    path = getattr(store, "path", None)
    if not isinstance(path, Path):
        yield True
        return
    with open(path.with_suffix(".screening.lock"), "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class BacklogScreener:
    """A daemon thread that screens unscreened tracks of a running service's store.

    Args:
        store: the service's store.
        audio_cache: the audio-analysis cache beside the store, if any.
        interval_s: how often to look for unscreened tracks after the first pass.

    Example:
        screener = BacklogScreener(store, audio_cache=None)
        screener.start()
        ...
        screener.stop()
    """

    def __init__(self, store: Store, *, audio_cache: Path | None, interval_s: float = 60.0):
        self.store = store
        self.audio_cache = audio_cache
        self.interval_s = interval_s
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="backlog-screener", daemon=True)

    def start(self) -> None:
        """Warn about the held backlog now, then screen it in the background."""
        pending = len(self.store.unscreened_ids())
        if pending:
            logger.warning(
                "%d tracks are unscreened: they are held (not served, not paid) until the "
                "background screening commits",
                pending,
            )
        self._thread.start()

    def screen_once(self) -> bool:
        """Screen the backlog if there is one and no other process is at it; True if run."""
        from recsys.integrity.jobs import resume_screening

        if not self.store.unscreened_ids():
            return False
        with screening_lock(self.store) as mine:
            if not mine:
                return False
            resume_screening(self.store, audio_cache=self.audio_cache, why="liner serve")
        self.runs += 1
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.screen_once()
            except LinerError as exc:
                if self._stop.is_set():  # the service closed the store under it: shutdown
                    logger.info("background screening abandoned at shutdown: %s", exc)
                    return
                logger.error("background screening failed (tracks stay held): %s", exc)
            except Exception:  # a bug must not kill the thread silently, nor the service
                logger.exception("background screening crashed (tracks stay held)")
            self._stop.wait(self.interval_s)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop looking; a screening in progress finishes or is abandoned with the process
        (it commits all or nothing)."""
        self._stop.set()
        self._thread.join(timeout)


__all__ = ["BacklogScreener", "screening_lock"]
