"""The embedding steps of `liner build`: catalog, text, audio, collab, projection, fusion,
indexes, neighbours (:mod:`recsys.embeddings.neighbours`). Models are fitted only on tracks
whose rights holders grant ``ai_training`` (``catalog/training_mask.npy``); every track is
embedded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from recsys.artifacts import sha256_file
from recsys.build_step import BuildStep, register_build_step
from recsys.embeddings.audio import (
    AudioEncoder,
    DescriptorAudioEncoder,
    LibrosaAudioEncoder,
    load_audio_encoder,
)
from recsys.embeddings.collaborative import fit_als, interaction_strengths
from recsys.embeddings.config import AlsConfig, EmbeddingConfig, FaissIndexConfig, FusionConfig
from recsys.embeddings.fusion import (
    PcaReducer,
    collab_scale,
    fuse_listeners,
    fuse_tracks,
    normalise_rows,
)
from recsys.embeddings.neighbours import neighbours_inputs, neighbours_run
from recsys.embeddings.projection import Projection, fit_projection
from recsys.embeddings.text import (
    BULK_MIN,
    VectorCache,
    bulk_precision,
    embed_bulk_chunk,
    embed_texts,
    load_text_model,
    text_key,
    track_text,
)
from recsys.errors import CatalogError
from recsys.index import FaissIndex
from recsys.parallel import (
    PartPlan,
    active_backend,
    compute_parts,
    content_bounds,
    iter_npy_blocks,
    map_rows_to_npy,
    plan_parts,
    prune_parts,
    save_npy_blocks,
)

if TYPE_CHECKING:
    from recsys.build import BuildContext

logger = logging.getLogger(__name__)

MASK = "catalog/training_mask.npy"
IDS = "track_ids.npy"


def _sha(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _texts(ctx: BuildContext) -> list[str]:
    return [track_text(t, ctx.artist_names) for t in ctx.tracks]


# -- catalog -------------------------------------------------------------------------------
def catalog_inputs(ctx: BuildContext) -> Any:
    return {"ids": _sha(ctx.track_ids.tolist()), "mask": _sha(ctx.training_mask.tolist())}


def catalog_run(ctx: BuildContext) -> dict[str, Any]:
    if not len(ctx.track_ids):
        raise CatalogError("the store has no tracks. Fix: run `liner ingest FOLDER` first")
    ctx.save_npy(IDS, ctx.track_ids)
    ctx.save_npy(MASK, ctx.training_mask)
    return {"tracks": len(ctx.track_ids), "training_tracks": int(ctx.training_mask.sum())}


# -- text ----------------------------------------------------------------------------------
def _text_precision(ctx: BuildContext) -> str | None:
    """What a named model embeds the catalog in (:func:`~recsys.embeddings.text.
    bulk_precision`), locally and on a cluster alike; None for a model object (tests)."""
    return bulk_precision() if ctx.text_model is None else None


def text_inputs(ctx: BuildContext) -> Any:
    model = getattr(ctx.text_model, "name", None) or ctx.settings.text_model
    digest = hashlib.sha256()  # streamed: no catalog-sized string
    for text in _texts(ctx):
        digest.update(text.encode())
        digest.update(b"\0")
    inputs = {"model": model, "texts": digest.hexdigest()}
    precision = _text_precision(ctx)
    if precision is not None:
        inputs["precision"] = precision
    return inputs


TEXT_CHUNK = 256
"""Texts per partition on average (one model batch, one task, one part file in the cache)."""


def _content_hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _embed_chunk(model: Any, batch_size: int, texts: Sequence[str]) -> np.ndarray:
    """Rows of one chunk of texts; ``model`` is a model or the name of one (loaded once per
    process, float32: the build embeds with :func:`~recsys.embeddings.text.embed_bulk_chunk`
    when the model is named)."""
    if isinstance(model, str):
        model = load_text_model(model)
    return embed_texts(list(texts), model, batch_size=batch_size)


def _parts_from_legacy(legacy: Path, plan: PartPlan, key_of: Callable[[int], str]) -> int:
    """Fill the missing parts of ``plan`` from a cache file of earlier versions (one ``.npz``
    of every vector, loaded whole), then remove that file; partitions filled."""
    missing = plan.missing
    if not legacy.is_file() or not missing:
        return 0
    try:
        cache = VectorCache(legacy)
    except (OSError, ValueError, KeyError) as exc:
        logger.warning("ignoring unreadable cache %s: %s", legacy.name, exc)
        return 0
    filled = 0
    plan.parts_dir.mkdir(parents=True, exist_ok=True)
    for p in missing:
        start = plan.ends[p - 1] if p else 0
        rows = [cache.get(key_of(i)) for i in range(start, plan.ends[p])]
        if any(r is None for r in rows):
            continue
        path = plan.parts_dir / plan.names[p]
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("wb") as f:
            np.save(f, np.stack([r for r in rows if r is not None]).astype(np.float32))
        tmp.replace(path)
        filled += 1
    legacy.unlink(missing_ok=True)
    logger.info("moved %d partitions from %s to %s", filled, legacy.name, plan.parts_dir.name)
    return filled


def text_run(ctx: BuildContext) -> dict[str, Any]:
    """Text vectors by partitions of about :data:`TEXT_CHUNK` texts, each written to its own
    file in the build cache (``text-<model>.parts/``) by whoever computes it (this process, or
    a task on the cluster under ``--ray``), then appended to ``vectors/text.npy`` one at a
    time: this process never holds more than one partition's vectors. Partitions are cut by
    content (:func:`~recsys.parallel.content_bounds`) and named by model and texts, so a
    rebuild, or a build resumed after a failure, embeds only partitions whose texts changed."""
    model_name = getattr(ctx.text_model, "name", None) or ctx.settings.text_model
    texts = _texts(ctx)
    precision = _text_precision(ctx)
    ends = content_bounds([_content_hash(t) for t in texts], TEXT_CHUNK)
    # Named by model, precision (when named: a bfloat16 part is never served as a float32
    # one) and texts.
    named = [model_name] if precision is None else [model_name, precision]
    keys = [_sha(*named, texts[a:b])[:32] for a, b in zip([0, *ends], ends, strict=False)]
    batch = ctx.settings.text_batch_size
    if precision is None:
        embed = partial(_embed_chunk, ctx.text_model, batch)
    else:  # the same function locally and on a cluster, so both give the same vectors
        embed = partial(embed_bulk_chunk, model_name, precision, batch)
    parts = ctx.cache_dir / f"text-{_sha(model_name)[:16]}.parts"
    plan = plan_parts(embed, texts, parts, ends=ends, keys=keys)
    if precision in (None, "float32"):  # the single-file cache of earlier versions: float32
        legacy = ctx.cache_dir / f"text-{_sha(model_name)[:16]}.npz"
        _parts_from_legacy(legacy, plan, lambda i: text_key(model_name, texts[i]))
    todo = plan.items_missing()
    # Locally in this process (the model uses every core); a named model with a catalog's
    # worth to embed in one single-threaded process per CPU instead (recsys.embeddings.text:
    # 2x texts per CPU-second each); tasks on a cluster.
    backend = active_backend()
    local = backend is None or not backend.distributed
    workers = None if local and precision is not None and todo >= BULK_MIN else 1
    shape = map_rows_to_npy(
        embed, texts, ctx.path("vectors/text.npy"), ends=ends, keys=keys, parts_dir=parts,
        keep_parts=True, desc="text", local=local, workers=workers,
    )  # fmt: skip
    return {"embedded": todo, "cached": len(texts) - todo, "dim": int(shape[1])}


# -- audio ---------------------------------------------------------------------------------
def _audio_encoder(ctx: BuildContext) -> AudioEncoder | None:
    cfg = ctx.config
    if ctx.audio_encoder is not None:
        return ctx.audio_encoder
    if cfg.audio_encoder:
        return load_audio_encoder(cfg.audio_encoder, cfg.audio_encoder_weights)
    if any(t.audio_path for t in ctx.tracks):
        return LibrosaAudioEncoder(sample_rate=cfg.audio_sample_rate, seconds=cfg.audio_seconds)
    names = sorted({f"audio_{k}" for t in ctx.tracks for k in t.audio_descriptors})
    return DescriptorAudioEncoder(names) if names else None


def _encoder_key(ctx: BuildContext, enc: AudioEncoder) -> str:
    """What names the audio features in the step key and the vector cache: the encoder's
    name, plus the weights file (path, size, mtime) a custom encoder was given, since its
    name need not change with them (``audio_encoder_weights``)."""
    weights = ctx.config.audio_encoder_weights
    if ctx.audio_encoder is None and ctx.config.audio_encoder and weights:
        return f"{enc.name}@{weights}:{_file_stamp(weights)}"
    return enc.name


def _file_stamp(path: str | None) -> str:
    if not path:
        return ""
    try:
        st = Path(path).stat()
    except OSError:
        return "missing"
    return f"{st.st_size}:{st.st_mtime_ns}"


def audio_inputs(ctx: BuildContext) -> Any:
    enc = _audio_encoder(ctx)
    sources = [
        (t.audio_path, sha, sorted(t.audio_descriptors.items()))
        for t, sha in zip(ctx.tracks, audio_content(ctx), strict=True)
    ]
    return {
        "encoder": _encoder_key(ctx, enc) if enc is not None else None,
        "sources": _sha(sources),
        "mask": ctx.file_sha(MASK),
        "dim": ctx.config.fusion.audio_dim,
    }


_CONTENT: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()


def audio_content(ctx: BuildContext) -> list[str]:
    """Per track, the sha256 of its audio file's bytes ("" without a path, "missing" when
    unreadable). A file is read again only when its size or modification time changed since
    a previous build (``audio-content.json`` in the build cache), so an unchanged catalog
    costs one ``stat`` per file, as before, while the features are keyed by content."""
    known = _CONTENT.get(ctx)
    if known is not None:
        return known
    path = ctx.cache_dir / "audio-content.json"
    seen: dict[str, str] = {}
    if path.is_file():
        try:
            seen = {str(k): str(v) for k, v in json.loads(path.read_text()).items()}
        except (OSError, ValueError, AttributeError) as exc:
            logger.warning("ignoring unreadable %s: %s", path.name, exc)
    now: dict[str, str] = {}
    out: list[str] = []
    for track in ctx.tracks:
        stamp = _file_stamp(track.audio_path)
        if not track.audio_path or stamp == "missing":
            out.append(stamp)
            continue
        key = f"{track.audio_path}\t{stamp}"
        now[key] = seen.get(key) or sha256_file(Path(track.audio_path))
        out.append(now[key])
    if now != seen:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(now))
        tmp.replace(path)
    _CONTENT[ctx] = out
    return out


AUDIO_CHUNK = 32
"""Clips per partition on average (one task, one part file in the build cache)."""

AUDIO_PCA_ROWS = 262_144
"""The audio PCA is fitted on at most this many rows (evenly spaced over the allowed rows):
the fit's memory then stops growing with the catalog."""


def _encode_one(enc: AudioEncoder, path: str) -> np.ndarray:
    """One file's feature row (a zero row when unreadable, as ``enc.encode`` gives)."""
    return np.asarray(enc.encode([path])[0], dtype=np.float32)


def _encode_paths(enc: AudioEncoder, paths: Sequence[str]) -> np.ndarray:
    """Feature rows of one partition of clips."""
    if isinstance(enc, LibrosaAudioEncoder):
        return np.stack([_encode_one(enc, p) for p in paths])
    return np.asarray(enc.encode(list(paths)), dtype=np.float32).reshape(len(paths), enc.dim)


_RAW: weakref.WeakKeyDictionary[Any, dict[str, np.ndarray]] = weakref.WeakKeyDictionary()


def _raw_audio(ctx: BuildContext, enc: AudioEncoder) -> np.ndarray:
    """Per track, the encoder's raw feature row (zeros without audio).

    Analysed from files: each distinct clip (by content) once, by partitions of about
    :data:`AUDIO_CHUNK` clips written to the build cache (``audio-<encoder>.parts/``) on every
    core, or as tasks under ``--ray``; then laid out by track in ``audio-<encoder>.tracks.npy``
    and returned memory-mapped, so this process holds no more than a partition of rows."""
    if isinstance(enc, DescriptorAudioEncoder):
        rows = [{f"audio_{k}": v for k, v in t.audio_descriptors.items()} for t in ctx.tracks]
        return enc.encode(rows)
    name = _encoder_key(ctx, enc)
    done = _RAW.setdefault(ctx, {})
    if name in done:
        return done[name]
    # Keyed by the file's content: a clip is analysed once, whatever its path or date.
    shas = audio_content(ctx)
    keys = np.asarray(
        [_sha(name, sha) if t.audio_path else "" for t, sha in zip(ctx.tracks, shas, strict=True)],
        dtype="S64",
    )
    uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    skip = 1 if len(uniq) and uniq[0] == b"" else 0
    uniq, first, inverse = uniq[skip:], first[skip:], inverse.ravel() - skip
    paths = [str(ctx.tracks[i].audio_path) for i in first]
    ends = content_bounds([int(k[:16], 16) for k in uniq], AUDIO_CHUNK)
    part_keys = [
        _sha(name, [k.decode() for k in uniq[a:b]])[:32]
        for a, b in zip([0, *ends], ends, strict=False)
    ]
    stem = f"audio-{_sha(name)[:16]}"
    encode = partial(_encode_paths, enc)
    plan = plan_parts(encode, paths, ctx.cache_dir / f"{stem}.parts", ends=ends, keys=part_keys)
    _parts_from_legacy(ctx.cache_dir / f"{stem}.npz", plan, lambda i: uniq[i].decode())
    librosa = isinstance(enc, LibrosaAudioEncoder)  # picklable: analysed on every core
    compute_parts(
        encode, paths, plan, desc="audio", workers=None if librosa else 1, local=not librosa
    )
    prune_parts(plan.parts_dir, plan.names)
    out = ctx.cache_dir / f"{stem}.tracks.npy"
    _scatter_parts(plan, inverse, (len(ctx.tracks), enc.dim), out)
    done[name] = np.load(out, mmap_mode="r")
    return done[name]


def _scatter_parts(plan: PartPlan, inverse: np.ndarray, shape: tuple[int, int], out: Path) -> None:
    """Write ``out`` (``shape``, float32): row ``i`` is row ``inverse[i]`` of the parts laid
    end to end (negative: zeros), reading one part at a time; written pages are flushed and
    released as it goes, so they do not stay resident in this process."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = np.flatnonzero(inverse >= 0)
    order = np.argsort(inverse[rows], kind="stable")
    rows, wanted = rows[order], inverse[rows][order]
    table = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
    try:
        for p, name in enumerate(plan.names):
            start = plan.ends[p - 1] if p else 0
            lo, hi = np.searchsorted(wanted, [start, plan.ends[p]])
            if hi > lo:
                part = np.load(plan.parts_dir / name, allow_pickle=False)
                table[rows[lo:hi]] = part[wanted[lo:hi] - start]
            if p % 256 == 255:
                _release(table)
        _release(table)
    finally:
        del table
    tmp.replace(out)


def _release(table: np.memmap) -> None:
    """Write a memory map's dirty pages to its file and drop them from this process."""
    table.flush()
    mapped = getattr(table, "_mmap", None)
    if mapped is not None and hasattr(mapped, "madvise"):
        import mmap

        mapped.madvise(mmap.MADV_DONTNEED)


def _blocks(x: np.ndarray, rows: int = 65_536) -> Any:
    """``(start, block)`` over the rows of ``x``; a memory-mapped ``.npy`` is read block by
    block (:func:`~recsys.parallel.iter_npy_blocks`), so its pages do not stay resident."""
    filename = getattr(x, "filename", None)
    if isinstance(x, np.memmap) and filename and x.ndim == 2:
        start = 0
        for block in iter_npy_blocks(Path(filename), rows=rows):
            yield start, block
            start += len(block)
        return
    for start in range(0, len(x), rows):
        yield start, np.asarray(x[start : start + rows])


def audio_run(ctx: BuildContext) -> dict[str, Any]:
    enc = _audio_encoder(ctx)
    n = len(ctx.tracks)
    if enc is None:
        ctx.save_npy("vectors/audio.npy", np.zeros((n, 1), dtype=np.float32))
        return {"encoder": None}
    raw = _raw_audio(ctx, enc)
    has = np.zeros(n, dtype=bool)
    for start, block in _blocks(raw):
        has[start : start + len(block)] = np.any(block, axis=1)
    fit_rows = np.flatnonzero(has & ctx.load_npy(MASK))
    sample = fit_rows
    if len(fit_rows) > AUDIO_PCA_ROWS:
        sample = fit_rows[np.linspace(0, len(fit_rows) - 1, AUDIO_PCA_ROWS).astype(np.int64)]
    pca = PcaReducer.fit(np.asarray(raw[sample]), ctx.config.fusion.audio_dim, standardise=True)
    pca.save(ctx.path("models/audio_pca.npz"))
    blocks = (normalise_rows(pca.transform(block)) for _, block in _blocks(raw))
    save_npy_blocks(ctx.path("vectors/audio.npy"), (n, pca.dim), np.float32, blocks)
    return {
        "encoder": enc.name,
        "with_audio": int(has.sum()),
        "fit_on": len(fit_rows),
        "pca_sample": len(sample),
    }


# -- collaborative -------------------------------------------------------------------------
def collab_inputs(ctx: BuildContext) -> Any:
    return {
        "events": ctx.events_hash,
        "ids": ctx.file_sha(IDS),
        "als": ctx.config.als.model_dump(),
        "seed": ctx.settings.seed,
    }


def track_als(
    events: Any, track_ids: np.ndarray, config: AlsConfig, *, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ALS on ``events`` laid out by catalog row.

    Returns:
        ``(item factors per row (zeros without plays), listeners per row, user ids,
        user factors)``.
    """
    if not events.empty:
        events = events[events["track_id"].astype(str).isin(set(track_ids.tolist()))]
    users, user_f, items, item_f = fit_als(events, config, seed=seed)
    row_of = {t: i for i, t in enumerate(track_ids.tolist())}
    collab = np.zeros((len(track_ids), config.factors), dtype=np.float32)
    collab[[row_of[str(t)] for t in items]] = item_f
    pairs = interaction_strengths(events)
    counts = np.zeros(len(track_ids), dtype=np.int64)
    per_track = pairs.groupby("track_id")["listener_id"].nunique()
    counts[[row_of[str(t)] for t in per_track.index]] = per_track.to_numpy()
    return collab, counts, users, user_f


def collab_run(ctx: BuildContext) -> dict[str, Any]:
    collab, counts, users, user_f = track_als(
        ctx.events, ctx.track_ids, ctx.config.als, seed=ctx.settings.seed
    )
    ctx.save_npy("vectors/collab_als.npy", collab)
    ctx.save_npy("catalog/listener_counts.npy", counts)
    ctx.save_npy("models/als_user_ids.npy", users)
    ctx.save_npy("models/als_user_factors.npy", user_f)
    return {
        "listeners": len(users),
        "tracks_with_plays": int(np.any(collab, axis=1).sum()),
        "pairs": int(counts.sum()),
    }


# -- projection ----------------------------------------------------------------------------
def projection_inputs(ctx: BuildContext) -> Any:
    files = ["vectors/text.npy", "vectors/audio.npy", "vectors/collab_als.npy", MASK]
    files.append("catalog/listener_counts.npy")
    return {
        "files": [ctx.file_sha(f) for f in files],
        "projection": ctx.config.projection.model_dump(),
        "text_dim": ctx.config.fusion.text_dim,
        "min_plays": ctx.config.als.min_plays,
        "seed": ctx.settings.seed,
    }


def content_matrix(text_reduced: np.ndarray, audio: np.ndarray) -> np.ndarray:
    """The projection's input: normalised reduced text beside normalised audio."""
    return np.concatenate([normalise_rows(text_reduced), normalise_rows(audio)], axis=1)


@dataclass(frozen=True, kw_only=True, eq=False)
class CollabSpace:
    """Every track in the collaborative space: ALS factors for warm tracks, the content
    projection's prediction for cold ones (``source``: 0 none, 1 ALS, 2 projected)."""

    raw: np.ndarray
    source: np.ndarray
    projection: Projection | None
    fit_on: int


def collab_space(
    als: np.ndarray,
    counts: np.ndarray,
    content: np.ndarray,
    mask: np.ndarray,
    config: EmbeddingConfig,
    *,
    seed: int,
) -> CollabSpace:
    """Warm tracks (enough listeners, non-zero factors) keep their ALS factors; the
    projection is fitted on warm tracks allowed for training (``mask``) and predicts the rest."""
    warm = (counts >= config.als.min_plays) & np.any(als, axis=1)
    fit_rows = warm & mask
    raw = np.where(warm[:, None], als, 0.0).astype(np.float32)
    source = np.where(warm, 1, 0).astype(np.uint8)
    proj = None
    if fit_rows.sum() >= 2:
        proj = fit_projection(content[fit_rows], als[fit_rows], config.projection, seed=seed)
        cold = ~warm & np.any(content, axis=1)
        raw[cold] = proj.predict(content[cold])
        source[cold] = 2
    else:
        logger.warning("too few consented warm tracks (%d) to fit the projection", fit_rows.sum())
    return CollabSpace(raw=raw, source=source, projection=proj, fit_on=int(fit_rows.sum()))


def fused_tracks(
    text_reduced: np.ndarray, audio: np.ndarray, raw: np.ndarray, config: FusionConfig
) -> tuple[np.ndarray, float]:
    """The fused track vectors and the collaborative scale they were made with."""
    weights = {"text": config.text_weight, "audio": config.audio_weight}
    weights["collab"] = config.collab_weight
    scale = collab_scale(raw)
    parts = {"text": normalise_rows(text_reduced), "audio": audio}
    return fuse_tracks(parts, raw, weights, scale=scale), scale


def projection_run(ctx: BuildContext) -> dict[str, Any]:
    text = ctx.load_npy("vectors/text.npy")
    audio = ctx.load_npy("vectors/audio.npy")
    mask = ctx.load_npy(MASK)
    text_pca = PcaReducer.fit(text[mask], ctx.config.fusion.text_dim)
    text_pca.save(ctx.path("models/text_pca.npz"))
    space = collab_space(
        ctx.load_npy("vectors/collab_als.npy"),
        ctx.load_npy("catalog/listener_counts.npy"),
        content_matrix(text_pca.transform(text), audio),
        mask,
        ctx.config,
        seed=ctx.settings.seed,
    )
    if space.projection is not None:
        space.projection.save(ctx.path("models/projection.npz"))
    ctx.save_npy("vectors/collab_raw.npy", space.raw)
    ctx.save_npy("vectors/collab.npy", normalise_rows(space.raw))
    ctx.save_npy("catalog/collab_source.npy", space.source)
    return {
        "fit_on": space.fit_on,
        "warm": int((space.source == 1).sum()),
        "projected": int((space.source == 2).sum()),
        "method": type(space.projection).__name__ if space.projection is not None else None,
    }


# -- fusion --------------------------------------------------------------------------------
def fusion_inputs(ctx: BuildContext) -> Any:
    files = ["vectors/text.npy", "vectors/audio.npy", "vectors/collab_raw.npy"]
    files += ["models/text_pca.npz", "models/als_user_ids.npy", "models/als_user_factors.npy"]
    return {
        "files": [ctx.file_sha(f) for f in files],
        "events": ctx.events_hash,
        "fusion": ctx.config.fusion.model_dump(),
    }


def fusion_run(ctx: BuildContext) -> dict[str, Any]:
    cfg = ctx.config.fusion
    weights = {"text": cfg.text_weight, "audio": cfg.audio_weight, "collab": cfg.collab_weight}
    text_r = normalise_rows(
        PcaReducer.load(ctx.work_dir / "models/text_pca.npz").transform(
            ctx.load_npy("vectors/text.npy")
        )
    )
    audio = ctx.load_npy("vectors/audio.npy")
    fused, scale = fused_tracks(text_r, audio, ctx.load_npy("vectors/collab_raw.npy"), cfg)
    ctx.save_npy("vectors/fused.npy", fused)
    users = ctx.load_npy("models/als_user_ids.npy")
    user_f = ctx.load_npy("models/als_user_factors.npy")
    pairs = interaction_strengths(ctx.events)
    row_of = {t: i for i, t in enumerate(ctx.track_ids.tolist())}
    user_row = {u: i for i, u in enumerate(users.tolist())}
    pairs = pairs[pairs["track_id"].isin(row_of) & pairs["listener_id"].isin(user_row)]
    history = sp.csr_matrix(
        (
            pairs["strength"].to_numpy(dtype=np.float32),
            (
                pairs["listener_id"].map(user_row).to_numpy(),
                pairs["track_id"].map(row_of).to_numpy(),
            ),
        ),
        shape=(len(users), len(row_of)),
    )
    profiles = {"text": np.asarray(history @ text_r), "audio": np.asarray(history @ audio)}
    listeners = (
        fuse_listeners(profiles, user_f, weights)
        if len(users)
        else np.zeros((0, fused.shape[1]), np.float32)
    )
    ctx.save_npy("listeners/ids.npy", users)
    ctx.save_npy("listeners/fused.npy", listeners)
    return {"dim": int(fused.shape[1]), "listeners": len(users), "collab_scale": scale}


# -- indexes -------------------------------------------------------------------------------
INDEXED = ("fused", "text")


def indexes_inputs(ctx: BuildContext) -> Any:
    files = [IDS, *(f"vectors/{name}.npy" for name in INDEXED)]
    return {"files": [ctx.file_sha(f) for f in files], "index": ctx.config.index.model_dump()}


INDEX_BLOCK = 262_144
"""Rows read at a time when a compressed index is filled from its ``.npy``."""


def build_index(path: Path, ids: np.ndarray, config: FaissIndexConfig) -> FaissIndex:
    """The index :meth:`FaissIndex.build` makes over the vectors in ``path``; a compressed
    setting (``config.factory``) is trained on the sample ``build`` would draw and filled
    block by block, so the float32 vectors are never all in memory (9 GB at 10M × 224)."""
    rows = np.load(path, mmap_mode="r", allow_pickle=False)
    if not config.factory or not len(rows) or rows.ndim != 2:
        return FaissIndex.build(np.load(path, allow_pickle=False), ids, config)
    n = len(rows)
    if n <= config.train_size:
        sample = np.asarray(rows)
    else:  # the rows FaissIndex.build trains on, in its order, read from the file
        sample = rows[np.random.default_rng(config.seed).choice(n, config.train_size, False)]
    del rows
    blocks = iter_npy_blocks(path, rows=INDEX_BLOCK)
    return FaissIndex.build_streamed(blocks, ids, config, train=sample)


def indexes_run(ctx: BuildContext) -> dict[str, Any]:
    ids = ctx.load_npy(IDS)
    info = {}
    for name in INDEXED:
        index = build_index(ctx.work_dir / f"vectors/{name}.npy", ids, ctx.config.index)
        index.save(ctx.path(f"indexes/{name}.npz"))
        info[name] = index.kind
    return info


def _register() -> None:
    for name, run, inputs in (
        ("catalog", catalog_run, catalog_inputs),
        ("text", text_run, text_inputs),
        ("audio", audio_run, audio_inputs),
        ("collab", collab_run, collab_inputs),
        ("projection", projection_run, projection_inputs),
        ("fusion", fusion_run, fusion_inputs),
        ("indexes", indexes_run, indexes_inputs),
        ("neighbours", neighbours_run, neighbours_inputs),
    ):
        register_build_step(BuildStep(name=name, run=run, inputs=inputs))


_register()

__all__ = ["INDEXED", "build_index", "content_matrix"]
