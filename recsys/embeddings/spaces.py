"""Everything retrieval needs at serve time, loaded from a verified artifact directory.

Spaces (rows share one track order, ``track_ids``):

- ``text``: sentence-transformers embeddings of track text; the ``text`` index answers free-text
  queries (:meth:`EmbeddingSpaces.query_vector`).
- ``audio``: standardised, PCA-reduced audio content features.
- ``collab``: L2-normalised ALS item factors, or for tracks without plays the content
  projection (the raw, norm-carrying rows are ``vectors/collab_raw.npy`` in the artifact).
- ``fused``: unit-norm fusion of the three (see :mod:`recsys.embeddings.fusion`); the
  ``fused`` index answers track → track (a weighted mix of per-modality cosines) and
  listener → track (listener vectors score tracks by weighted content cosines plus ALS's own
  dot product, so popular tracks keep the lead ALS gives them).

``neighbours`` holds each track's top fused-space neighbours, computed at build time
(:mod:`recsys.embeddings.neighbours`); item-to-item candidates are lookups into it.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from recsys.artifacts import Manifest, verify_manifest
from recsys.embeddings.neighbours import ROWS as NEIGHBOUR_ROWS
from recsys.embeddings.neighbours import SCORES as NEIGHBOUR_SCORES
from recsys.embeddings.neighbours import NeighbourTable, check_neighbours, load_neighbours
from recsys.embeddings.text import embed_texts, load_text_model
from recsys.errors import ArtifactError
from recsys.index import FaissIndex
from recsys.settings import LinerSettings

logger = logging.getLogger(__name__)

SPACES = ("text", "audio", "collab", "fused")


def _load_npy(root: Path, rel: str, manifest: Manifest | None = None) -> np.ndarray:
    """Load ``rel``; with a manifest, hash and parse the same bytes, so the file cannot
    change between the check and the load."""
    path = root / rel
    if not path.is_file():
        raise ArtifactError(f"{rel} (in {root}) is missing; rebuild with `liner build`")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"cannot read {rel} (in {root}): {exc}") from exc
    if manifest is not None and hashlib.sha256(raw).hexdigest() != manifest.sha256_of(rel):
        raise ArtifactError(f"{rel} (in {root}) fails its sha256 check; rebuild with `liner build`")
    try:
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        raise ArtifactError(
            f"{rel} (in {root}) is not a readable .npy file ({exc}); rebuild with `liner build`"
        ) from exc
    return np.asarray(array)


_LOADED_ARRAYS = frozenset(
    {
        "track_ids.npy",
        "listeners/ids.npy",
        "listeners/fused.npy",
        NEIGHBOUR_ROWS,
        NEIGHBOUR_SCORES,
        *(f"vectors/{name}.npy" for name in SPACES),
    }
)


def _hashed_on_load(rel: str) -> bool:
    """Whether :meth:`EmbeddingSpaces.load` checks ``rel``'s sha256 itself as it loads it
    (its arrays, the indexes and the neighbour table); every other file is hashed by the
    manifest check."""
    return rel in _LOADED_ARRAYS or (rel.startswith("indexes/") and rel.endswith(".npz"))


def check_compatible(
    root: Path,
    track_ids: np.ndarray,
    vectors: dict[str, np.ndarray],
    indexes: dict[str, FaissIndex],
    listener_ids: np.ndarray,
    listener_vectors: np.ndarray,
    neighbours: NeighbourTable | None = None,
) -> None:
    """Check that the pieces of an artifact set fit together: one row per track in every
    space, unique ids, each index over the same tracks and of its space's dimension,
    listener vectors in the fused space, and the neighbour table (when there is one) with
    one row per track naming rows in range.

    Raises:
        ArtifactError: naming the file and the mismatch.
    """
    n = len(track_ids)
    if track_ids.ndim != 1:
        raise ArtifactError(f"track_ids.npy (in {root}) must be 1-D, has shape {track_ids.shape}")
    if len(set(track_ids.tolist())) != n:
        raise ArtifactError(f"track_ids.npy (in {root}) repeats track ids; rebuild")
    for name, vec in vectors.items():
        rel = f"vectors/{name}.npy"
        if vec.ndim != 2 or not np.issubdtype(vec.dtype, np.floating):
            raise ArtifactError(
                f"{rel} (in {root}) must be a 2-D float array, has shape {vec.shape} and dtype "
                f"{vec.dtype}; rebuild with `liner build`"
            )
        if len(vec) != n:
            raise ArtifactError(
                f"{rel} (in {root}) has {len(vec)} rows, expected {n} (one per track id); "
                "rebuild with `liner build`"
            )
    for name, index in indexes.items():
        rel = f"indexes/{name}.npz"
        if len(index) != n:
            raise ArtifactError(f"{rel} (in {root}) holds {len(index)} tracks, the vectors {n}")
        if not np.array_equal(index.ids, track_ids.astype(str)):
            raise ArtifactError(f"{rel} (in {root}) indexes other track ids than track_ids.npy")
        space = vectors.get(name)
        if space is not None and index.dim != space.shape[1]:
            raise ArtifactError(
                f"{rel} (in {root}) has dimension {index.dim} but vectors/{name}.npy has "
                f"{space.shape[1]}; rebuild with `liner build`"
            )
    fused_dim = vectors["fused"].shape[1]
    if listener_vectors.ndim != 2 or len(listener_vectors) != len(listener_ids):
        raise ArtifactError(
            f"listeners/fused.npy (in {root}) has shape {listener_vectors.shape} for "
            f"{len(listener_ids)} listener ids; rebuild with `liner build`"
        )
    if len(listener_vectors) and listener_vectors.shape[1] != fused_dim:
        raise ArtifactError(
            f"listeners/fused.npy (in {root}) has dimension {listener_vectors.shape[1]} but "
            f"vectors/fused.npy has {fused_dim}; rebuild with `liner build`"
        )
    if neighbours is not None:
        check_neighbours(root, neighbours, n)


class EmbeddingSpaces:
    """Everything retrieval needs, loaded from an artifact directory.

    Example:
        >>> spaces = EmbeddingSpaces.load(Path("var/artifacts"), LinerSettings())
        >>> spaces.indexes["fused"].search(spaces.listener_vector("u1")[None], k=100)
    """

    def __init__(
        self,
        *,
        track_ids: np.ndarray,
        vectors: dict[str, np.ndarray],
        indexes: dict[str, FaissIndex],
        listener_ids: np.ndarray,
        listener_vectors: np.ndarray,
        text_model: str,
        manifest: Manifest | None = None,
        neighbours: NeighbourTable | None = None,
    ) -> None:
        self.track_ids = np.asarray(track_ids, dtype=str)
        self.row_of: dict[str, int] = {str(t): i for i, t in enumerate(self.track_ids)}
        self.vectors = vectors
        self.indexes = indexes
        self.listener_ids = np.asarray(listener_ids, dtype=str)
        self._listener_row = {str(u): i for i, u in enumerate(self.listener_ids)}
        self.listener_vectors = listener_vectors
        self.text_model = text_model
        self.manifest = manifest
        self.neighbours = neighbours
        """Precomputed item-to-item neighbours in the fused space (None: search instead)."""
        self._model: Any = None
        self._model_lock = threading.Lock()

    @classmethod
    def load(cls, artifact_dir: Path, settings: LinerSettings) -> EmbeddingSpaces:
        """Verify the manifest, then load vectors and indexes.

        The text model recorded in the manifest is used for queries (queries must be embedded
        by the model that embedded the catalog); ``settings.text_model`` is the fallback.

        Raises:
            ArtifactError: when the directory fails its manifest check or lacks a space.
        """
        root = Path(artifact_dir)
        manifest = verify_manifest(root, hashed_on_load=_hashed_on_load)
        track_ids = _load_npy(root, "track_ids.npy", manifest)
        vectors = {name: _load_npy(root, f"vectors/{name}.npy", manifest) for name in SPACES}
        indexes = {}
        for rel in manifest.files:
            if rel.startswith("indexes/") and rel.endswith(".npz"):
                name = rel.removeprefix("indexes/").removesuffix(".npz")
                indexes[name] = FaissIndex.load(root / rel, manifest.files[rel])
        for needed in ("fused", "text"):
            if needed not in indexes:
                raise ArtifactError(f"{root} has no indexes/{needed}.npz; rebuild")
        model = str(manifest.settings.get("text_model") or settings.text_model)
        listener_ids = _load_npy(root, "listeners/ids.npy", manifest)
        listener_vectors = _load_npy(root, "listeners/fused.npy", manifest)
        neighbours = load_neighbours(root, manifest)
        check_compatible(
            root, track_ids, vectors, indexes, listener_ids, listener_vectors, neighbours
        )
        return cls(
            track_ids=track_ids,
            vectors=vectors,
            indexes=indexes,
            listener_ids=listener_ids,
            listener_vectors=listener_vectors,
            text_model=model,
            manifest=manifest,
            neighbours=neighbours,
        )

    def listener_vector(self, listener_id: str) -> np.ndarray | None:
        """The listener's fused-space vector; None when the model does not know them."""
        row = self._listener_row.get(listener_id)
        if row is None:
            return None
        vec = self.listener_vectors[row]
        return None if not np.any(vec) else vec

    def profile_vector(
        self, track_ids: Sequence[str], weights: Sequence[float] | None = None
    ) -> np.ndarray | None:
        """Normalised weighted mean of the tracks' fused vectors; None if none is known."""
        w = list(weights) if weights is not None else [1.0] * len(track_ids)
        if len(w) != len(track_ids):
            raise ValueError("weights must match track_ids in length")
        rows, ws = [], []
        for t, wt in zip(track_ids, w, strict=True):
            row = self.row_of.get(t)
            if row is not None and wt > 0:
                rows.append(row)
                ws.append(wt)
        if not rows:
            return None
        fused = self.vectors["fused"]
        vec = (np.asarray(ws, dtype=np.float32)[:, None] * fused[rows]).sum(axis=0)
        norm = float(np.linalg.norm(vec))
        return None if norm == 0 else (vec / norm).astype(np.float32)

    def _text_model(self) -> Any:
        with self._model_lock:
            if self._model is None:
                self._model = load_text_model(self.text_model)
            return self._model

    def encode_query(self, text: str) -> np.ndarray:
        """The text-space embedding of ``text`` (model loaded lazily, once, thread-safe)."""
        return embed_texts([text], self._text_model())[0]

    def query_vector(self, text: str) -> np.ndarray:
        """``text`` mapped into the space the ``text`` index searches (the text space)."""
        return self.encode_query(text)


__all__ = ["SPACES", "EmbeddingSpaces"]
