"""Fingerprints of a catalog's audio files, kept beside the store between runs.

A track's fingerprint is reused while its id, audio path, file size and modification time are
unchanged, so screening a new batch fingerprints only the new files. The cache is a folder of
plain ``.npy`` arrays (all hashes and times back to back, with per-track offsets) and a JSON
list of keys; nothing in it is pickled. A file that cannot be fingerprinted gets a reason
(missing, empty, undecodable, silent) and the rest of the batch goes on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recsys.domain import Track
from recsys.integrity.audio import AudioDecodeError
from recsys.integrity.fingerprint import Fingerprint, fingerprint_file
from recsys.parallel import parallel_map

logger = logging.getLogger(__name__)

CACHE_VERSION = 2  # 2: local floor, whitening and peak budget


@dataclass(frozen=True, kw_only=True)
class CatalogFingerprints:
    """Fingerprints row-aligned with a track list.

    Attributes:
        fingerprints: one per track, None where there is no readable audio.
        unreadable: track id → why its audio file could not be fingerprinted.
        notes: track id → what the encoder did about a file (e.g. analysed its start only).
        computed: how many files were fingerprinted in this run (the rest came from the cache).
    """

    fingerprints: list[Fingerprint | None]
    unreadable: dict[str, str]
    notes: dict[str, str]
    computed: int


def fingerprint_cache_path(audio_cache: Path) -> Path:
    """The fingerprint folder beside an audio-analysis cache (``liner.integrity-audio.npz`` →
    ``liner.fingerprints``)."""
    name = audio_cache.name.removesuffix(".npz").removesuffix(".integrity-audio")
    return audio_cache.with_name(f"{name}.fingerprints")


def _key(track: Track, path: Path) -> str:
    try:
        st = path.stat()
        stamp = f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        stamp = "missing"
    return f"{track.track_id}\t{path}\t{stamp}"


def _read(folder: Path) -> dict[str, Fingerprint]:
    try:
        meta = json.loads((folder / "keys.json").read_text())
        if meta.get("version") != CACHE_VERSION:
            return {}
        hashes = np.load(folder / "hashes.npy", allow_pickle=False)
        times = np.load(folder / "times.npy", allow_pickle=False)
        offsets = np.load(folder / "offsets.npy", allow_pickle=False)
    except (OSError, ValueError, KeyError) as exc:
        logger.warning("ignoring unreadable fingerprint cache %s: %s", folder, exc)
        return {}
    out = {}
    for k, (key, seconds, note) in enumerate(meta["rows"]):
        a, b = int(offsets[k]), int(offsets[k + 1])
        out[key] = Fingerprint(hashes=hashes[a:b], times=times[a:b], seconds=seconds, note=note)
    return out


def _write(folder: Path, rows: dict[str, Fingerprint]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    keys = sorted(rows)
    fps = [rows[k] for k in keys]
    offsets = np.cumsum([0, *(len(f) for f in fps)]).astype(np.int64)
    np.save(
        folder / "hashes.npy", np.concatenate([np.zeros(0, np.uint32), *(f.hashes for f in fps)])
    )
    np.save(folder / "times.npy", np.concatenate([np.zeros(0, np.int32), *(f.times for f in fps)]))
    np.save(folder / "offsets.npy", offsets, allow_pickle=False)
    meta = {
        "version": CACHE_VERSION,
        "rows": [[k, f.seconds, f.note] for k, f in zip(keys, fps, strict=True)],
    }
    (folder / "keys.json").write_text(json.dumps(meta))


def _fingerprint_missing(
    tracks: Sequence[Track], root: Path | None, old: dict[str, Fingerprint]
) -> dict[str, Fingerprint]:
    """Fingerprints of the files ``old`` lacks, computed on every core (recsys.parallel);
    a file that fails is left out (the caller's own call then reports it)."""
    todo: dict[str, Path] = {}
    for t in tracks:
        if t.audio_path:
            path = Path(t.audio_path)
            path = path if path.is_absolute() or root is None else root / path
            if _key(t, path) not in old:
                todo[_key(t, path)] = path
    done = parallel_map(
        fingerprint_file, list(todo.values()), desc="fingerprints", unit="clip", errors="return"
    )
    return {k: fp for k, fp in zip(todo, done, strict=True) if isinstance(fp, Fingerprint)}


def fingerprint_tracks(
    tracks: Sequence[Track], root: Path | None = None, cache: Path | None = None
) -> CatalogFingerprints:
    """Fingerprint every track's audio file, reusing ``cache`` when given.

    Args:
        tracks: the catalog.
        root: folder relative audio paths are resolved against.
        cache: the cache folder (see :func:`fingerprint_cache_path`), or None for none.
    """
    old = _read(cache) if cache is not None and cache.exists() else {}
    keep: dict[str, Fingerprint] = {}
    out: list[Fingerprint | None] = []
    unreadable: dict[str, str] = {}
    notes: dict[str, str] = {}
    computed = 0
    fresh = _fingerprint_missing(tracks, root, old)
    for t in tracks:
        if not t.audio_path:
            out.append(None)
            continue
        path = Path(t.audio_path)
        path = path if path.is_absolute() or root is None else root / path
        key = _key(t, path)
        fp = old.get(key)
        if fp is None:
            try:
                fp = fresh.get(key) or fingerprint_file(path)
                computed += 1
            except AudioDecodeError as exc:
                unreadable[t.track_id] = str(exc)
                logger.warning("no fingerprint for track %s: %s", t.track_id, exc)
                out.append(None)
                continue
        keep[key] = fp
        if fp.note:
            notes[t.track_id] = fp.note
        out.append(fp)
    if cache is not None and (computed or set(keep) != set(old)):
        _write(cache, keep)
    logger.info(
        "fingerprints: %d computed, %d from cache, %d unreadable",
        computed,
        sum(f is not None for f in out) - computed,
        len(unreadable),
    )
    return CatalogFingerprints(
        fingerprints=out, unreadable=unreadable, notes=notes, computed=computed
    )


__all__ = [
    "CACHE_VERSION",
    "CatalogFingerprints",
    "fingerprint_cache_path",
    "fingerprint_tracks",
]
