"""The embedding steps of `liner build`: catalog, text, audio, collab, projection, fusion,
indexes, neighbours (:mod:`recsys.embeddings.neighbours`). Models are fitted only on tracks
whose rights holders grant ``ai_training`` (``catalog/training_mask.npy``); every track is
embedded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import weakref
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
from recsys.embeddings.config import AlsConfig, EmbeddingConfig, FusionConfig
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
    VectorCache,
    embed_texts,
    embed_with_cache,
    load_text_model,
    text_key,
    track_text,
)
from recsys.errors import CatalogError
from recsys.index import FaissIndex
from recsys.parallel import active_backend, parallel_map

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
def text_inputs(ctx: BuildContext) -> Any:
    model = getattr(ctx.text_model, "name", None) or ctx.settings.text_model
    return {"model": model, "texts": _sha(_texts(ctx))}


TEXT_CHUNK = 256
"""Texts per distributed text-embedding task (one model batch)."""


def _embed_chunk(model: Any, batch_size: int, texts: list[str]) -> np.ndarray:
    """Rows of one chunk of texts; ``model`` is a model or the name of one (loaded once per
    worker process)."""
    if isinstance(model, str):
        model = load_text_model(model)
    return embed_texts(texts, model, batch_size=batch_size)


def _embed_distributed(
    ctx: BuildContext, texts: list[str], model_name: str, cache: VectorCache
) -> tuple[np.ndarray, int]:
    """:func:`embed_with_cache` with the missing texts embedded as tasks of the backend."""
    keys = [text_key(model_name, t) for t in texts]
    todo = sorted({k: i for i, k in enumerate(keys) if cache.get(k) is None}.values())
    chunks = [[texts[i] for i in todo[a : a + TEXT_CHUNK]] for a in range(0, len(todo), TEXT_CHUNK)]
    model = ctx.text_model if ctx.text_model is not None else model_name
    embed = partial(_embed_chunk, model, ctx.settings.text_batch_size)
    done = parallel_map(embed, chunks, desc="text", unit="chunk", partition=1)
    for a, rows in zip(range(0, len(todo), TEXT_CHUNK), done, strict=True):
        for i, vec in zip(todo[a : a + TEXT_CHUNK], np.asarray(rows), strict=True):
            cache.put(keys[i], vec)
    vectors = [cache.get(k) for k in keys]
    return np.stack([v for v in vectors if v is not None]).astype(np.float32), len(todo)


def text_run(ctx: BuildContext) -> dict[str, Any]:
    model_name = str(text_inputs(ctx)["model"])
    cache = VectorCache(ctx.cache_dir / f"text-{_sha(model_name)[:16]}.npz")
    texts = _texts(ctx)
    backend = active_backend()
    if backend is not None and backend.distributed:
        vectors, n_new = _embed_distributed(ctx, texts, model_name, cache)
        cache.save()
        ctx.save_npy("vectors/text.npy", vectors)
        return {"embedded": n_new, "cached": len(texts) - n_new, "dim": int(vectors.shape[1])}
    model = ctx.text_model
    if model is None and any(cache.get(text_key(model_name, t)) is None for t in texts):
        model = load_text_model(model_name)  # only when something is not cached
    vectors, n_new = embed_with_cache(
        texts, model, model_name, cache, batch_size=ctx.settings.text_batch_size
    )
    cache.save()
    ctx.save_npy("vectors/text.npy", vectors)
    return {"embedded": n_new, "cached": len(texts) - n_new, "dim": int(vectors.shape[1])}


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


def _encode_one(enc: AudioEncoder, path: str) -> np.ndarray:
    """One file's feature row (a zero row when unreadable, as ``enc.encode`` gives)."""
    return np.asarray(enc.encode([path])[0], dtype=np.float32)


def _raw_audio(ctx: BuildContext, enc: AudioEncoder) -> np.ndarray:
    if isinstance(enc, DescriptorAudioEncoder):
        rows = [{f"audio_{k}": v for k, v in t.audio_descriptors.items()} for t in ctx.tracks]
        return enc.encode(rows)
    name = _encoder_key(ctx, enc)
    cache = VectorCache(ctx.cache_dir / f"audio-{_sha(name)[:16]}.npz")
    out = np.zeros((len(ctx.tracks), enc.dim), dtype=np.float32)
    # Keyed by the file's content: a clip is analysed once, whatever its path or date.
    shas = audio_content(ctx)
    keys = [
        _sha(name, sha) if t.audio_path else "" for t, sha in zip(ctx.tracks, shas, strict=True)
    ]
    todo = {k: str(t.audio_path) for k, t in zip(keys, ctx.tracks, strict=True) if k}
    missing = sorted((k, p) for k, p in todo.items() if cache.get(k) is None)
    if missing:
        computed: list[Any]
        if isinstance(enc, LibrosaAudioEncoder):  # picklable: analysed on every core
            one = partial(_encode_one, enc)
            computed = parallel_map(one, [p for _, p in missing], desc="audio", unit="clip")
        else:
            computed = list(enc.encode([p for _, p in missing]))
        for (key, _), row in zip(missing, computed, strict=True):
            cache.put(key, np.asarray(row, dtype=np.float32))
        cache.save()
    for i, key in enumerate(keys):
        if key:
            out[i] = cache.get(key)
    return out


def audio_run(ctx: BuildContext) -> dict[str, Any]:
    enc = _audio_encoder(ctx)
    n = len(ctx.tracks)
    if enc is None:
        ctx.save_npy("vectors/audio.npy", np.zeros((n, 1), dtype=np.float32))
        return {"encoder": None}
    raw = _raw_audio(ctx, enc)
    has = np.any(raw, axis=1)
    fit_rows = has & ctx.load_npy(MASK)
    pca = PcaReducer.fit(raw[fit_rows], ctx.config.fusion.audio_dim, standardise=True)
    pca.save(ctx.path("models/audio_pca.npz"))
    ctx.save_npy("vectors/audio.npy", normalise_rows(pca.transform(raw)))
    return {"encoder": enc.name, "with_audio": int(has.sum()), "fit_on": int(fit_rows.sum())}


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


def indexes_run(ctx: BuildContext) -> dict[str, Any]:
    ids = ctx.load_npy(IDS)
    info = {}
    for name in INDEXED:
        index = FaissIndex.build(ctx.load_npy(f"vectors/{name}.npy"), ids, ctx.config.index)
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

__all__ = ["INDEXED", "content_matrix"]
