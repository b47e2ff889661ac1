"""Read and write data folders (docs/data-format.md) and render their audio jobs.

Tables are read with every cell as a string and written back the same way, so a catalog
passing through :func:`recsys.demo.abuse.inject_abuse` keeps its existing rows byte for byte
(in CSV). Files that were not changed are copied, not rewritten.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from recsys.demo.audio import perturb_clip, read_clip, render_clips, write_clip
from recsys.demo.tables import AudioJob, CatalogTables
from recsys.errors import CatalogError

logger = logging.getLogger(__name__)

TABLES: tuple[str, ...] = (
    "items",
    "interactions",
    "artists",
    "credits",
    "listeners",
    "consent",
    "truth",
)


def _source(folder: Path, name: str) -> Path | None:
    for suffix in (".parquet", ".csv"):
        path = folder / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def read_folder(folder: Path) -> CatalogTables:
    """Read a data folder; every cell becomes a string (empty when missing).

    Raises:
        CatalogError: when ``items`` or ``interactions`` is missing or unreadable.
    """
    frames: dict[str, pd.DataFrame | None] = {}
    for name in TABLES:
        path = _source(folder, name)
        if path is None:
            frames[name] = None
            continue
        try:
            if path.suffix == ".parquet":
                df = pd.read_parquet(path).astype(str).replace({"None": "", "nan": "", "<NA>": ""})
            else:
                df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise CatalogError(f"cannot read {path}: {exc}. Fix: check the file format") from exc
        frames[name] = df.astype(object)
    items, interactions = frames.pop("items"), frames.pop("interactions")
    if items is None or interactions is None:
        raise CatalogError(
            f"{folder} needs items.csv (or .parquet) and interactions.csv (or .parquet). "
            "Fix: point at a data folder as described in docs/data-format.md"
        )
    return CatalogTables(items=items, interactions=interactions, **frames)  # type: ignore[arg-type]


def write_folder(
    tables: CatalogTables,
    out: Path,
    *,
    source_dir: Path | None = None,
    unchanged: Sequence[str] = (),
    render_audio: bool = True,
) -> list[Path]:
    """Write ``tables`` as CSV files in ``out`` and render the audio jobs.

    Args:
        tables: the tables to write.
        out: the output folder (created if needed).
        source_dir: the folder the tables were read from; relative audio paths of existing
            items are copied from it, and the files named in ``unchanged`` are copied verbatim.
        unchanged: table names whose source files are copied instead of rewritten.
        render_audio: render the audio jobs (clips of new items).

    Returns:
        The table files written.
    """
    out.mkdir(parents=True, exist_ok=True)
    if source_dir is not None and "audio_path" in tables.items.columns:
        _copy_existing_audio(tables, source_dir, out)
    if render_audio and tables.audio_jobs:
        missing = render_jobs(tables.audio_jobs, out, source_dir=source_dir or out)
        if missing:
            items = tables.items.copy()
            items.loc[items["audio_path"].isin(missing), "audio_path"] = ""
            tables = tables.with_changes(items=items)
    written = []
    for name in TABLES:
        df = getattr(tables, name)
        if df is None:
            continue
        src = _source(source_dir, name) if source_dir is not None else None
        if src is not None and name in unchanged:
            dest = out / src.name
            if src.resolve() != dest.resolve():
                shutil.copyfile(src, dest)
        else:
            dest = out / f"{name}.csv"
            df.to_csv(dest, index=False, lineterminator="\n", encoding="utf-8")
        written.append(dest)
    return written


def _copy_existing_audio(tables: CatalogTables, source_dir: Path, out: Path) -> None:
    new = {job.path for job in tables.audio_jobs}
    for rel in tables.items["audio_path"]:
        if not rel or rel in new or Path(rel).is_absolute():
            continue
        src, dest = source_dir / rel, out / rel
        if src.exists() and not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)


def render_jobs(jobs: Sequence[AudioJob], out: Path, *, source_dir: Path) -> set[str]:
    """Synthesise or perturb every job's clip into ``out``; perturbations run last, so their
    sources may be clips synthesised by the same call.

    Returns:
        The paths of jobs whose source audio could not be read (they get no clip).
    """
    missing: set[str] = set()
    synth = [j for j in jobs if j.spec is not None]
    bar = tqdm(total=len(synth), desc="audio clips", unit="clip", leave=False)
    for start in range(0, len(synth), 512):  # a clip depends on its batch: keep these batches
        batch = synth[start : start + 512]
        clips = render_clips([j.spec for j in batch if j.spec is not None])
        for job, clip in zip(batch, clips, strict=True):
            write_clip(out / job.path, clip)
            bar.update()
    bar.close()
    for job in jobs:
        if job.spec is not None:
            continue
        src = Path(job.source)
        if not src.is_absolute():
            src = out / job.source if (out / job.source).exists() else source_dir / job.source
        try:
            clip, sr = read_clip(src)
        except (OSError, RuntimeError) as exc:
            logger.warning("cannot read audio %s (%s): %s gets no clip", src, exc, job.path)
            missing.add(job.path)
            continue
        write_clip(out / job.path, perturb_clip(clip, np.random.default_rng(job.seed)), sr=sr)
    logger.info("wrote %d audio clips", len(jobs) - len(missing))
    return missing


__all__ = ["TABLES", "read_folder", "render_jobs", "write_folder"]
