"""Real recordings the adversarial suite is cut from: freely licensed game soundtracks that
Debian ships (``wesnoth-1.16-music``, ``hyperrogue-music``, ``asc-music``) and, as a fallback,
the FMA clip in ``../shared/datasets`` (read by path, never copied into the project).

A *piece* is one recording; the suite cuts track-length excerpts out of it. Pieces are found
through ``dpkg -L`` (what the package really installed), so nothing depends on a game's
directory layout, and sound effects are left out by their folder and length.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from offline_eval.errors import DatasetError

logger = logging.getLogger(__name__)

DEBIAN_PACKAGES: tuple[str, ...] = ("wesnoth-1.16-music", "hyperrogue-music", "asc-music")
"""Debian packages of freely licensed game music (``apt-get install`` them)."""
FMA_CLIP = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "fma-sample-clip"
"""Folder of the FMA smoke-test clip beside the checkout (``../shared/datasets``)."""
_AUDIO_SUFFIXES = (".ogg", ".mp3", ".flac", ".wav")
_GENRES = {
    "wesnoth-1.16-music": "orchestral",
    "hyperrogue-music": "electronic",
    "asc-music": "rock",
    "fma": "hip-hop",
}


@dataclass(frozen=True, kw_only=True)
class SourcePiece:
    """One real recording.

    Attributes:
        path: the audio file (absolute).
        package: the Debian package (or ``fma``) it came from.
        seconds: its length.
        genre: a plausible genre for the package's music.
    """

    path: Path
    package: str
    seconds: float
    genre: str
    offset_s: float = 0.0
    """Where the piece starts in the file (a window of a longer recording)."""

    @property
    def key(self) -> str:
        """Short stable name, e.g. ``wesnoth-1.16-music/knolls.ogg`` (``…@30`` for a window)."""
        base = f"{self.package}/{self.path.name}"
        return f"{base}@{self.offset_s:g}" if self.offset_s else base


def _package_files(package: str) -> list[Path]:
    if shutil.which("dpkg") is None:
        return []
    done = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return []
    return [
        Path(line)
        for line in done.stdout.splitlines()
        if line.lower().endswith(_AUDIO_SUFFIXES) and "/sounds/" not in line
    ]


def _piece(path: Path, package: str, min_seconds: float) -> SourcePiece | None:
    try:
        info = sf.info(str(path))
    except (RuntimeError, OSError) as exc:  # soundfile raises LibsndfileError (a RuntimeError)
        logger.info("skipping %s: cannot decode (%s)", path, exc)
        return None
    seconds = info.frames / info.samplerate
    if seconds < min_seconds:
        return None
    return SourcePiece(path=path, package=package, seconds=seconds, genre=_GENRES[package])


def find_sources(
    packages: Sequence[str] = DEBIAN_PACKAGES,
    *,
    min_seconds: float = 40.0,
    include_fma: bool = True,
    fma_dir: Path = FMA_CLIP,
) -> list[SourcePiece]:
    """Every installed recording at least ``min_seconds`` long, sorted by key.

    Args:
        packages: Debian packages to list with ``dpkg -L``; absent ones are skipped.
        min_seconds: shorter recordings (jingles, stingers) are left out.
        include_fma: also the FMA clip(s) in ``fma_dir`` (about 30 s), when long enough.
        fma_dir: folder holding the FMA clip.
    """
    pieces: list[SourcePiece] = []
    for package in packages:
        for path in _package_files(package):
            piece = _piece(path, package, min_seconds)
            if piece is not None:
                pieces.append(piece)
    if include_fma and fma_dir.is_dir():
        for path in sorted(fma_dir.iterdir()):
            if path.suffix.lower() in _AUDIO_SUFFIXES:
                piece = _piece(path, "fma", min_seconds)
                if piece is not None:
                    pieces.append(piece)
    return sorted(pieces, key=lambda p: p.key)


def windows(piece: SourcePiece, seconds: float) -> list[SourcePiece]:
    """``piece`` cut into consecutive windows of ``seconds``, each a piece of its own.

    Only for tiny suites (tests) with a single short recording: windows of one recording
    share its style, and a repeated chorus may make two of them alike.
    """
    count = int(piece.seconds // seconds)
    return [
        replace(piece, offset_s=piece.offset_s + k * seconds, seconds=seconds) for k in range(count)
    ]


def load_excerpt(piece: SourcePiece, start_s: float, seconds: float, sr: int) -> np.ndarray:
    """Mono float32 excerpt of ``piece`` from ``start_s``, resampled to ``sr``.

    Raises:
        DatasetError: the file cannot be decoded or the excerpt is empty.
    """
    try:
        with sf.SoundFile(str(piece.path)) as f:
            native = f.samplerate
            f.seek(min(int((piece.offset_s + start_s) * native), max(f.frames - 1, 0)))
            data = f.read(int(seconds * native), dtype="float32", always_2d=True)
    except (RuntimeError, OSError) as exc:
        raise DatasetError(f"cannot decode {piece.path}: {exc}") from exc
    if not len(data):
        raise DatasetError(f"{piece.path} has no audio at {start_s:.1f} s")
    mono = data.mean(axis=1)
    if native != sr:
        mono = soxr.resample(mono, native, sr, quality="HQ")
    return np.asarray(mono, dtype=np.float32)


__all__ = [
    "DEBIAN_PACKAGES",
    "FMA_CLIP",
    "SourcePiece",
    "find_sources",
    "load_excerpt",
    "windows",
]
