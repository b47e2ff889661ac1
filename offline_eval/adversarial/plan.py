"""The plan of an adversarial suite: who uploads what, when (as claimed), and the truth.

Planning draws everything from the seed and touches no audio; :mod:`.writer` renders it. Two
ingest batches keep what the service must see first apart from what comes later: ``catalog``
(established artists, their originals, long-standing listeners and their plays) and
``uploads`` (genuine new artists and every attack, shuffled together).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from offline_eval.adversarial.config import SuiteConfig
from offline_eval.adversarial.edits import Edit
from offline_eval.adversarial.sources import SourcePiece
from offline_eval.errors import DatasetError

ANCHOR = datetime(2026, 11, 2, tzinfo=UTC)
"""The suite's "now": every claimed time is before it."""
CATALOG, UPLOADS = "catalog", "uploads"


@dataclass(frozen=True, kw_only=True)
class Excerpt:
    """Audio cut from a real recording."""

    piece: SourcePiece
    start_s: float
    seconds: float


@dataclass(frozen=True, kw_only=True)
class Machine:
    """Machine-made audio rendered from its own seed."""

    seed: int
    seconds: float
    disguise: bool = False
    """Dressed as a recording (:func:`~offline_eval.adversarial.machine.disguise`)."""


@dataclass(frozen=True, kw_only=True)
class Copy:
    """An edited copy of another planned track's audio."""

    of: str
    edits: tuple[Edit, ...]
    seed: int


@dataclass(frozen=True, kw_only=True)
class ArtistPlan:
    artist_id: str
    name: str
    batch: str
    verified: bool = False
    rights_holder_id: str
    created_at: datetime | None
    kind: str = "unknown"


@dataclass(frozen=True, kw_only=True)
class TrackPlan:
    """One item and its truth row."""

    item_id: str
    batch: str
    title: str
    artist_id: str
    audio: Excerpt | Machine | Copy
    audio_format: str
    genre: str
    uploader_id: str
    uploaded_at: datetime | None
    declared: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    attack: str = ""
    """Attack kind (``copy/trim_0.5``, ``name/all_cyrillic`` ...); empty when genuine."""
    expected: str = "serve"
    """What a correct service does: ``serve``, ``quarantine`` or ``dispute``."""
    abuse_kinds: tuple[str, ...] = ()
    duplicate_of: str = ""
    imitated_artist_ids: tuple[str, ...] = ()
    cluster_id: str = ""
    true_ai: str = "NONE"
    machine_audio: bool = False

    @property
    def edits(self) -> tuple[Edit, ...]:
        return self.audio.edits if isinstance(self.audio, Copy) else ()


@dataclass(frozen=True, kw_only=True)
class ListenerPlan:
    listener_id: str
    batch: str
    created_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class PlayPlan:
    listener_id: str
    item_id: str
    at: datetime
    batch: str


@dataclass(kw_only=True)
class SuitePlan:
    """Everything the writer renders."""

    seed: int
    config: SuiteConfig
    artists: list[ArtistPlan] = field(default_factory=list)
    tracks: list[TrackPlan] = field(default_factory=list)
    listeners: list[ListenerPlan] = field(default_factory=list)
    plays: list[PlayPlan] = field(default_factory=list)

    def track(self, item_id: str) -> TrackPlan:
        return next(t for t in self.tracks if t.item_id == item_id)


class PiecePool:
    """Hands out real recordings; a piece belongs to one owner, so two owners' tracks never
    share music (a legitimate owner's excerpts are never a copy of anyone else's)."""

    def __init__(self, pieces: Sequence[SourcePiece], rng: np.random.Generator) -> None:
        order = rng.permutation(len(pieces))
        self.free = [pieces[int(i)] for i in order]
        self.rng = rng

    def excerpts(self, lengths: Sequence[float], gap_s: float | None = None) -> list[Excerpt]:
        """Non-overlapping excerpts of the given lengths from pieces no one else owns.

        Raises:
            DatasetError: the installed recordings are used up.
        """
        out: list[Excerpt] = []
        todo = list(lengths)
        if gap_s is None:
            gap_s = min(5.0, 0.2 * min(todo, default=0.0))
        while todo:
            if not self.free:
                raise DatasetError(
                    "not enough real recordings for this suite: install "
                    "wesnoth-1.16-music hyperrogue-music asc-music, or use smaller counts"
                )
            piece = self.free.pop(self._choose(sum(todo) + gap_s * len(todo) + 3.0))
            cursor = min(3.0, piece.seconds * 0.05) if piece.seconds > 2 * todo[0] else 0.0
            while todo and cursor + todo[0] <= piece.seconds:
                slack = piece.seconds - cursor - sum(todo) - gap_s * (len(todo) - 1)
                start = cursor + float(self.rng.uniform(0, max(0.0, min(slack, 20.0))))
                start = min(start, piece.seconds - todo[0])
                out.append(Excerpt(piece=piece, start_s=round(start, 3), seconds=todo[0]))
                cursor = start + todo.pop(0) + gap_s
        return out

    def _choose(self, needed_s: float) -> int:
        """Index of the piece to use: one of the three shortest that hold ``needed_s``
        (so long recordings are kept for owners that need them), else the longest."""
        fitting = sorted((p.seconds, i) for i, p in enumerate(self.free) if p.seconds >= needed_s)
        if not fitting:
            return max(range(len(self.free)), key=lambda i: self.free[i].seconds)
        pick = int(self.rng.integers(min(3, len(fitting))))
        return fitting[pick][1]


class Ids:
    """Opaque ids (``t_3fa9…``) that carry no hint of how a row was made."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def __call__(self, prefix: str) -> str:
        while True:
            value = f"{prefix}_{int(self.rng.integers(0, 2**40)):010x}"
            if value not in self.used:
                self.used.add(value)
                return value


def days(rng: np.random.Generator, low: float, high: float) -> timedelta:
    """A random span between ``low`` and ``high`` days, to the second."""
    return timedelta(seconds=int(rng.uniform(low, high) * 86_400))


__all__ = [
    "ANCHOR",
    "CATALOG",
    "UPLOADS",
    "ArtistPlan",
    "Copy",
    "Excerpt",
    "Ids",
    "ListenerPlan",
    "Machine",
    "PiecePool",
    "PlayPlan",
    "SuitePlan",
    "TrackPlan",
    "days",
]
