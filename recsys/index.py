"""FAISS inner-product search over L2-normalised track vectors, with string ids and exclusions.

The index type follows catalog size: an exact ``IndexFlatIP`` below
:attr:`FaissIndexConfig.exact_below` vectors, HNSW above it (over float16 vectors by default,
float32 with ``hnsw_storage="flat"``, or 8-bit codes with float re-scoring with ``"sq8"``); a
FAISS ``index_factory`` string overrides both (e.g. ``"IVF4096,PQ32x4fs,Refine(SQ8)"`` for a
compressed 10M-track catalog).

HNSW rows are stored in *locality order* (:func:`locality_order`): vectors close in space sit
close in memory, so a graph walk touches fewer pages and cache lines than it would in catalog
order, where neighbours are scattered at random. The wrapper keeps the catalog row of every
stored row and translates on the way in (exclusions) and out (results), so callers only ever
see catalog rows.

Exclusions are honoured in two layers so the guarantee does not depend on FAISS internals: the
search runs with an ``IDSelector`` that skips excluded rows, every result is then filtered again,
and any query left with fewer than ``k`` results while enough eligible rows exist is answered by
an exhaustive scan. Excluded rows are therefore never returned and ``k`` is always filled when
it can be.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import json
import logging
import sys
import threading
from collections.abc import Iterable, Sequence, Set
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from recsys.embeddings.config import FaissIndexConfig
from recsys.errors import ArtifactError, ConfigError

logger = logging.getLogger(__name__)

_FORMAT = 2
_FORMATS = (1, 2)  # format 1 files have no ``order``: rows are stored in catalog order
# The bundled stubs lack the keyword constructors of FAISS's SearchParameters classes.
_faiss: Any = faiss
_NO_ROWS = np.zeros(0, dtype=np.int64)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _kind(index: faiss.Index) -> str:
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexFlat):
        return "flat"
    if isinstance(index, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(index, faiss.IndexIVF):
        return "ivf"
    if isinstance(index, faiss.IndexRefine):
        base = faiss.downcast_index(index.base_index)
        if isinstance(base, faiss.IndexHNSW):
            return "refined-hnsw"
        if isinstance(base, faiss.IndexIVF):
            return "refined-ivf"
    return "other"


_HUGE_PAGE = 2 << 20
_MADV_HUGEPAGE = 14
_MADV_COLLAPSE = 25  # Linux 6.1+: back the range with huge pages now, not when khugepaged runs
_HUGE_PAGES_FROM = 8 << 20
"""Buffers smaller than this stay on base pages (a few huge pages would buy nothing)."""
_libc: Any = None


def _index_buffers(index: faiss.Index) -> list[tuple[int, int]]:
    """``(address, bytes)`` of the large arrays a graph walk or scan reads at random: the
    stored codes and, for HNSW, the neighbour lists and levels."""
    out: list[tuple[int, int]] = []

    def add(vector: Any, item_bytes: int) -> None:
        if vector is not None and vector.size():
            out.append((int(vector.data()), int(vector.size()) * item_bytes))

    inner: Any = faiss.downcast_index(index)
    if isinstance(inner, faiss.IndexRefine):
        add(getattr(faiss.downcast_index(inner.refine_index), "codes", None), 1)
        inner = faiss.downcast_index(inner.base_index)
    if isinstance(inner, faiss.IndexHNSW):
        graph: Any = inner.hnsw  # (the bundled stubs lack the graph's arrays)
        add(graph.neighbors, 4)
        add(graph.levels, 4)
        inner = faiss.downcast_index(inner.storage)
    if isinstance(inner, faiss.IndexFlatCodes):
        add(inner.codes, 1)
    return out


def back_with_huge_pages(index: faiss.Index) -> int:
    """Back ``index``'s large arrays with 2 MB pages (``MADV_HUGEPAGE``, then
    ``MADV_COLLAPSE`` so it happens now); returns the bytes asked for.

    Why: a search reads vectors and neighbour lists scattered over hundreds of MB at 1M
    tracks; on 4 KB pages nearly every read also misses the TLB. numpy already asks for huge
    pages for its own large arrays, FAISS's C++ allocations do not. Same results, fewer page
    walks. A no-op off Linux, on small indexes, or where the kernel refuses (the call's
    error is ignored: the pages stay as they were)."""
    global _libc
    if not sys.platform.startswith("linux"):
        return 0
    if _libc is None:
        try:
            _libc = ctypes.CDLL(None, use_errno=True)
            _libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        except (OSError, AttributeError):
            _libc = False
    if not _libc:
        return 0
    asked = 0
    for address, size in _index_buffers(index):
        if size < _HUGE_PAGES_FROM:
            continue
        start = -(-address // _HUGE_PAGE) * _HUGE_PAGE
        end = (address + size) // _HUGE_PAGE * _HUGE_PAGE
        if end <= start:
            continue
        _libc.madvise(start, end - start, _MADV_HUGEPAGE)
        _libc.madvise(start, end - start, _MADV_COLLAPSE)
        asked += end - start
    return asked


def locality_order(x: np.ndarray, leaf: int = 32, seed: int = 0) -> np.ndarray:
    """A row order that puts vectors close in space close in memory.

    Two-level spherical k-means: ~sqrt(n) cells, each split again into groups of about
    ``leaf`` rows; rows are sorted by (cell, group). Costs about a second per 100k vectors on
    one core (the first level's assignment dominates), a few percent of the HNSW build.

    Returns:
        ``order`` with ``order[i]`` the row of ``x`` to store at position ``i``.
    """
    n, dim = x.shape
    cells = int(np.sqrt(n))
    if cells < 2:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    coarse = faiss.Kmeans(dim, cells, niter=10, seed=seed, spherical=True)
    coarse.train(x[rng.choice(n, min(n, 64 * cells), replace=False)])
    cell = coarse.index.search(x, 1)[1].ravel()
    by_cell = np.argsort(cell, kind="stable")
    bounds = np.searchsorted(cell[by_cell], np.arange(cells + 1))
    parts = []
    for c in range(cells):
        rows = by_cell[bounds[c] : bounds[c + 1]]
        groups = len(rows) // leaf
        if groups >= 2:
            fine = faiss.Kmeans(
                dim, groups, niter=8, seed=seed, spherical=True, min_points_per_centroid=1
            )
            fine.train(x[rows])
            rows = rows[np.argsort(fine.index.search(x[rows], 1)[1].ravel(), kind="stable")]
        parts.append(rows)
    return np.concatenate(parts).astype(np.int64)


_FP16_SIMD_WIDTH = 8
"""FAISS computes float16-code distances with SIMD only when the width is a multiple of this
(its per-SIMD-level kernels take 8 or 16 components at a time and decline other widths); any
other width falls back to one component at a time."""


def _hnsw_fp16(x: np.ndarray, config: FaissIndexConfig) -> faiss.Index:
    """An HNSW index over float16 codes of ``x`` (``HNSW{M},SQfp16``, the served setting)
    whose graph was built over the float32 rows; for widths FAISS has no SIMD float16
    kernel for (not a multiple of :data:`_FP16_SIMD_WIDTH`).

    Why: at such a width each float16 distance runs one component at a time. FAISS 1.15.1,
    5,000 random unit rows, M 16, ef_construction 100, one thread (``build_scale
    --index-cost`` has the 100k figures): building over float16 took 9.0 CPU-s at 193
    columns against 0.6 over float32, while at 64, 200, 208 and 224 columns the two cost the
    same (0.4-0.8 CPU-s). A graph build is nothing but walks, so it is built over float32
    and then given its float16 codes: the same index type, size and search as before; its
    graph differs only where a float16 rounding (~1e-3) changed a construction choice, and
    recalled the same (100k synthetic fused rows, 193 columns: recall@10 0.865 against
    0.863, @300 0.692 both)."""
    dim = x.shape[1]
    graph = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = config.ef_construction
    graph.add(x)
    index: Any = faiss.index_factory(dim, f"HNSW{config.hnsw_m},SQfp16", faiss.METRIC_INNER_PRODUCT)
    index.storage.add(x)
    index.hnsw = graph.hnsw  # a copy of the graph; ``graph`` and its float32 rows are freed
    index.ntotal = graph.ntotal
    return index


def _fp16_hnsw_storage(index: faiss.Index) -> Any:
    """The float16 ``IndexScalarQuantizer`` an HNSW index walks over, or None for any other
    index (exact, float32 or 8-bit HNSW, IVF, refined, factory-made wrappers)."""
    inner: Any = faiss.downcast_index(index)
    if not isinstance(inner, faiss.IndexHNSW):
        return None
    storage: Any = faiss.downcast_index(inner.storage)
    if not isinstance(storage, faiss.IndexScalarQuantizer):
        return None
    return storage if storage.sq.qtype == faiss.ScalarQuantizer.QT_fp16 else None


def _padded_fp16(index: faiss.Index) -> faiss.Index | None:
    """``index`` (HNSW over float16 codes at a width FAISS has no SIMD float16 kernel for)
    with every code zero-padded to the next multiple of :data:`_FP16_SIMD_WIDTH`, or None when
    the index is anything else.

    Zero columns add nothing to an inner product with a query padded the same way, so the
    same graph walks to the same rows with the same scores up to float rounding (the SIMD
    kernel adds the terms in another order: ~1 ulp). Why: at 193 columns each float16
    distance runs one component at a time, ~6× the cost of the SIMD kernel at 200
    (``benchmarks/README.md``, issue 21). Made at load from the stored index (the artifact
    keeps its width); costs a copy of the codes."""
    storage = _fp16_hnsw_storage(index)
    dim = int(index.d)
    if storage is None or dim % _FP16_SIMD_WIDTH == 0:
        return None
    codes = _fp16_codes(index)
    padded = np.zeros((len(codes), -(-dim // _FP16_SIMD_WIDTH) * _FP16_SIMD_WIDTH), np.float16)
    padded[:, :dim] = codes
    del codes
    return _fp16_hnsw_like(index, padded)


def _unpadded_fp16(index: faiss.Index, dim: int) -> faiss.Index:
    """The inverse of :func:`_padded_fp16`: the codes cut back to ``dim`` columns (what
    :meth:`FaissIndex.save` writes, so artifacts keep their width)."""
    return _fp16_hnsw_like(index, np.ascontiguousarray(_fp16_codes(index)[:, :dim]))


def _fp16_codes(index: faiss.Index) -> np.ndarray:
    """The float16 codes of an HNSW-over-float16 ``index``, one row per stored vector (a
    copy)."""
    inner: Any = faiss.downcast_index(index)
    storage: Any = faiss.downcast_index(inner.storage)
    codes = faiss.vector_to_array(storage.codes).view(np.float16)
    return codes.reshape(int(index.ntotal), int(index.d))


def _fp16_hnsw_like(index: faiss.Index, codes: np.ndarray) -> faiss.Index:
    """An ``HNSW,SQfp16`` index with ``index``'s graph (same entry point, levels and lists)
    over the float16 ``codes`` (n × any width, C order)."""
    inner: Any = faiss.downcast_index(index)
    n, width = codes.shape
    out: Any = faiss.index_factory(
        width, f"HNSW{inner.hnsw.nb_neighbors(1)},SQfp16", faiss.METRIC_INNER_PRODUCT
    )
    storage: Any = faiss.downcast_index(out.storage)
    faiss.copy_array_to_vector(codes.view(np.uint8).ravel(), storage.codes)
    storage.ntotal = n
    out.hnsw = inner.hnsw  # a copy of the graph
    out.ntotal = n
    return out


def _factory_index(config: FaissIndexConfig, dim: int) -> faiss.Index:
    """An untrained index from ``config.factory``, with its IVF lists and refinement set."""
    assert config.factory
    try:
        index = faiss.index_factory(dim, config.factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise ConfigError(f"bad FAISS factory string {config.factory!r}: {exc}") from exc
    if isinstance(faiss.try_extract_index_ivf(index), faiss.IndexIVF):
        # Reaches IVF lists nested in pre-transforms or refinement wrappers too.
        faiss.ParameterSpace().set_index_parameter(index, "nprobe", config.nprobe)
    if _kind(index) == "refined-ivf":
        refine: Any = faiss.downcast_index(index)  # a view; ``index`` keeps ownership
        refine.k_factor = float(config.refine_k_factor)
    return index


class FaissIndex:
    """Inner-product search over L2-normalised float32 vectors with string ids.

    Searching is thread-safe: per-call ``SearchParameters`` are used instead of mutating the
    index, so concurrent requests with different exclusions never see each other's state.

    Example:
        >>> idx = FaissIndex.build(vectors, ids)
        >>> idx.search(vectors[:1], k=10, exclude={"t42"})
    """

    def __init__(
        self,
        index: faiss.Index,
        ids: np.ndarray,
        config: FaissIndexConfig,
        order: np.ndarray | None = None,
    ) -> None:
        """Wrap a built FAISS index.

        Args:
            index: the FAISS index; its stored row ``i`` holds catalog row ``order[i]``.
            ids: one string id per catalog row.
            config: how the index was built and is searched.
            order: catalog row of each stored row; None when they are the same.
        """
        if index.ntotal != len(ids):
            raise ArtifactError(f"index holds {index.ntotal} vectors but {len(ids)} ids")
        n = len(ids)
        if order is not None:
            order = np.asarray(order, dtype=np.int64)
            if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
                raise ArtifactError("the stored row order is not a permutation of the rows")
        self.dim: int = int(index.d)
        padded = _padded_fp16(index)
        self._index = index if padded is None else padded
        self._pad_to: int | None = None if padded is None else int(padded.d)
        """Searched width when the float16 codes are zero-padded to a SIMD width (queries are
        padded the same way), None when the stored index is searched as it is."""
        self._order = order
        # Stored row -> catalog row, with a trailing -1 so FAISS's -1 padding maps to itself.
        self._to_catalog: np.ndarray | None = None
        self._to_stored: np.ndarray | None = None
        if order is not None:
            self._to_catalog = np.append(order, -1)
            self._to_stored = np.empty(n, dtype=np.int64)
            self._to_stored[order] = np.arange(n)
        self.ids: np.ndarray = np.asarray(ids, dtype=str)
        self.config = config
        self._kind = _kind(self._index)
        self._row_of: dict[str, int] = {str(t): i for i, t in enumerate(self.ids)}
        if len(self._row_of) != len(self.ids):
            raise ConfigError("track ids given to the index are not unique")
        self._exact: np.ndarray | None = None
        self._exact_lock = threading.Lock()
        # Search parameters without a selector by (k, ef, nprobe): read-only during a search,
        # so shared by every call (building one per call cost ~0.05 ms).
        self._plain_params: dict[tuple[int, int | None, int | None], Any] = {}
        self.huge_page_bytes = back_with_huge_pages(self._index)

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        ids: Sequence[str] | np.ndarray,
        config: FaissIndexConfig | None = None,
    ) -> FaissIndex:
        """Build an index over ``vectors`` (rows matching ``ids``).

        Args:
            vectors: ``n × d`` array; converted to contiguous float32. Rows should be
                L2-normalised so inner product is cosine similarity.
            ids: one unique string id per row.
            config: index choice and parameters; defaults to :class:`FaissIndexConfig()`.

        Raises:
            ConfigError: on shape mismatch, duplicate ids, non-finite values or a bad factory.
        """
        config = config or FaissIndexConfig()
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        if x.ndim != 2 or x.shape[0] != len(ids):
            raise ConfigError(f"vectors of shape {x.shape} do not match {len(ids)} ids")
        if not np.isfinite(x).all():
            raise ConfigError("vectors contain NaN or infinity; check the embedding step")
        n, dim = x.shape
        filled = False
        if config.factory:
            index = _factory_index(config, dim)
        elif n < config.exact_below:
            index = faiss.IndexFlatIP(dim)
        elif config.hnsw_storage == "fp16" and dim % _FP16_SIMD_WIDTH:
            index, filled = _hnsw_fp16(x, config), True
        elif config.hnsw_storage == "fp16":
            index = faiss.index_factory(
                dim, f"HNSW{config.hnsw_m},SQfp16", faiss.METRIC_INNER_PRODUCT
            )
        elif config.hnsw_storage == "sq8":
            # The graph walk reads 1-byte codes; the top k·refine_k_factor are re-scored on the
            # float vectors, so recall is not capped by the quantisation error.
            index = faiss.IndexRefineFlat(
                faiss.index_factory(dim, f"HNSW{config.hnsw_m}_SQ8", faiss.METRIC_INNER_PRODUCT)
            )
            index.k_factor = float(config.refine_k_factor)
        else:
            index = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        inner = faiss.downcast_index(index)
        if isinstance(inner, faiss.IndexRefine):
            inner = faiss.downcast_index(inner.base_index)
        if isinstance(inner, faiss.IndexHNSW):
            inner.hnsw.efConstruction = config.ef_construction
            inner.hnsw.efSearch = config.ef_search
        if not index.is_trained:
            rng = np.random.default_rng(config.seed)
            sample = x if n <= config.train_size else x[rng.choice(n, config.train_size, False)]
            try:
                index.train(sample)
            except RuntimeError as exc:
                raise ConfigError(f"cannot train {config.factory!r} on {n} vectors: {exc}") from exc
        if n and not filled:
            index.add(x)
        order = None
        if config.locality_order and n and isinstance(faiss.downcast_index(index), faiss.IndexHNSW):
            # Built in catalog order (insertion order shapes the graph), then both the graph
            # and the stored vectors are renumbered; search results are mapped back.
            order = locality_order(x, seed=config.seed)
            faiss.downcast_index(index).permute_entries(order)
        logger.info("built %s index over %d vectors of dim %d", _kind(index), n, dim)
        return cls(index, np.asarray(list(ids), dtype=str), config, order)

    @classmethod
    def build_streamed(
        cls,
        parts: Iterable[np.ndarray],
        ids: Sequence[str] | np.ndarray,
        config: FaissIndexConfig,
        *,
        train: np.ndarray | None = None,
        trained: faiss.Index | None = None,
    ) -> FaissIndex:
        """Build a compressed (``config.factory``) index from blocks of rows, one at a time.

        For catalogs whose float32 vectors do not fit in memory (10M × 224 is 9 GB): the
        index is trained on ``train`` (a sample of the rows) and each block of ``parts``
        (e.g. memory-mapped partition files, or vectors regenerated block by block) is
        encoded and dropped, so memory holds the codes, not the vectors. Same index as
        :meth:`build` over the concatenated blocks when ``train`` is the sample ``build``
        would draw; HNSW and exact indexes need every vector at once and take :meth:`build`.
        ``trained`` instead of ``train``: an empty index from :meth:`train_empty` (trained
        once, e.g. for every shard of a catalog, so all shards share lists and codebooks);
        it is copied, not changed.

        Raises:
            ConfigError: without a factory, on a block of the wrong width, non-finite values,
                or when the blocks do not add up to one row per id.
        """
        if not config.factory:
            raise ConfigError(
                "build_streamed needs a FAISS factory (a compressed IVF/PQ setting); "
                "use FaissIndex.build for HNSW or exact indexes"
            )
        if trained is not None:
            if trained.ntotal or not trained.is_trained:
                raise ConfigError("`trained` must be a trained, empty index (train_empty)")
            index = faiss.clone_index(trained)
        elif train is not None:
            index = cls.train_empty(train, config)
        else:
            raise ConfigError("build_streamed needs a training sample or a trained empty index")
        dim = int(index.d)
        for part in parts:
            x = np.ascontiguousarray(part, dtype=np.float32)
            if x.ndim != 2 or x.shape[1] != dim:
                raise ConfigError(f"block of shape {x.shape} does not have {dim} columns")
            if not np.isfinite(x).all():
                raise ConfigError("vectors contain NaN or infinity; check the embedding step")
            index.add(x)
        if index.ntotal != len(ids):
            raise ConfigError(f"the blocks hold {index.ntotal} rows but there are {len(ids)} ids")
        logger.info("built %s index over %d vectors of dim %d", _kind(index), len(ids), dim)
        return cls(index, np.asarray(ids, dtype=str), config)

    @staticmethod
    def train_empty(train: np.ndarray, config: FaissIndexConfig) -> faiss.Index:
        """An empty ``config.factory`` index trained on the sample ``train``."""
        if not config.factory:
            raise ConfigError("train_empty needs a FAISS factory (a compressed IVF/PQ setting)")
        sample = np.ascontiguousarray(train, dtype=np.float32)
        if sample.ndim != 2 or not len(sample):
            raise ConfigError(f"training sample of shape {sample.shape} is empty or not 2-d")
        index = _factory_index(config, sample.shape[1])
        if not index.is_trained:
            try:
                index.train(sample)
            except RuntimeError as exc:
                raise ConfigError(
                    f"cannot train {config.factory!r} on {len(sample)} vectors: {exc}"
                ) from exc
        return index

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def float_twin(self, vectors: np.ndarray, block: int = 65_536) -> FaissIndex:
        """This HNSW graph walked over float32 rows instead of its float16 codes, where FAISS
        has no SIMD float16 kernel for the width (see :func:`_hnsw_fp16`): for the build's
        batch searches (the neighbour table), not for serving.

        ``vectors`` are the catalog rows the index was built from (e.g. the memory-mapped
        ``vectors/fused.npy``); they are copied in stored order, block by block. Same graph,
        same entry point, same walk; each distance is the float32 inner product, exact where
        a code is ~1e-3 off, and 6× cheaper at 193 columns (0.16 against 1.0 ms a query at
        ef 150, 5,000 rows, one thread). Indexes at a SIMD width (where float16 is as fast)
        and indexes that are not HNSW over float16 codes (exact, float32 HNSW, IVF,
        refined) are returned as they are.

        Raises:
            ArtifactError: ``vectors`` do not have one row per indexed track of the index's
                width, or a sample of them does not match the stored codes (another build's
                vectors).
        """
        inner: Any = faiss.downcast_index(self._index)
        n = len(self)
        if (
            self._kind != "hnsw"
            or not n
            or isinstance(faiss.downcast_index(inner.storage), faiss.IndexFlat)
            or self.dim % _FP16_SIMD_WIDTH == 0  # SIMD float16 kernels: as fast as float32
        ):
            return self
        if vectors.ndim != 2 or vectors.shape != (n, self.dim):
            raise ArtifactError(
                f"vectors of shape {vectors.shape} do not match the index ({n} × {self.dim})"
            )
        stored = self._order if self._order is not None else np.arange(n, dtype=np.int64)
        check = np.unique(np.linspace(0, n - 1, min(n, 64)).astype(np.int64))
        codes = self._index.reconstruct_batch(check)[:, : self.dim]  # (padded: zero columns)
        rows = np.asarray(vectors[np.sort(stored[check])], dtype=np.float32)
        rows = rows[np.argsort(np.argsort(stored[check]))]
        if not np.allclose(codes, rows, atol=1e-2):
            raise ArtifactError("the vectors given do not match the index's stored codes")
        twin = faiss.IndexHNSWFlat(self.dim, self.config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        for start in range(0, n, block):
            part = np.sort(stored[start : start + block])
            x = np.asarray(vectors[part], dtype=np.float32)
            # Stored order inside the block (a sorted read of a memory map is sequential).
            x = x[np.argsort(np.argsort(stored[start : start + block]))]
            twin.storage.add(np.ascontiguousarray(x))
        twin.hnsw = inner.hnsw  # a copy of the graph (~2·M·4 bytes a row)
        twin.ntotal = n
        config = self.config.model_copy(update={"hnsw_storage": "flat"})
        return FaissIndex(twin, self.ids, config, self._order)

    @property
    def kind(self) -> str:
        """The FAISS index class in use (``IndexFlatIP``, ``IndexHNSWFlat``, ...)."""
        return type(faiss.downcast_index(self._index)).__name__

    def row_of(self, track_id: str) -> int | None:
        """The row of ``track_id``, or None when it is not indexed."""
        return self._row_of.get(track_id)

    def _params(
        self, k: int, selector: Any, ef: int | None = None, nprobe: int | None = None
    ) -> Any:
        ef = self.config.ef_search if ef is None else ef
        nprobe = self.config.nprobe if nprobe is None else nprobe
        if self._kind == "hnsw":
            # FAISS's unbounded-queue walk (the classic HNSW search, as in hnswlib) measured
            # 1.1-1.2x faster than its default bounded MinimaxHeap walk at equal recall, but it
            # ignores selectors: exclusions take the bounded walk.
            return _faiss.SearchParametersHNSW(
                sel=selector,
                efSearch=max(ef, k),
                bounded_queue=selector is not None,
            )
        if self._kind == "refined-hnsw":
            kf = float(self.config.refine_k_factor)
            base = _faiss.SearchParametersHNSW(sel=selector, efSearch=max(ef, int(k * kf)))
            return _faiss.IndexRefineSearchParameters(k_factor=kf, base_index_params=base)
        if self._kind == "ivf":
            return _faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)
        if self._kind == "refined-ivf":
            # The compressed setting: lists scanned on short codes, the best k·refine_k_factor
            # re-scored on the refinement codes.
            base = _faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)
            kf = float(self.config.refine_k_factor)
            return _faiss.IndexRefineSearchParameters(k_factor=kf, base_index_params=base)
        if self._kind == "flat" and selector is not None:
            return _faiss.SearchParameters(sel=selector)
        return None

    def _raw_search(
        self,
        q: np.ndarray,
        k: int,
        excluded: np.ndarray,
        ef: int | None = None,
        nprobe: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        if self._kind == "other":
            # Wrapped indexes (pre-transforms, refinement) do not all take selectors: oversample
            # and filter afterwards; the exhaustive pass below covers whatever is left unfilled.
            kk = min(len(self), k + len(excluded))
            scores, rows = self._index.search(q, kk)
            return scores, rows
        if not len(excluded) and self._kind in ("hnsw", "ivf", "flat"):
            key = (k, ef, nprobe)
            params = self._plain_params.get(key)
            if params is None:
                params = self._plain_params.setdefault(key, self._params(k, None, ef, nprobe))
            return self._index.search(q, k, params=params)
        # Locals keep the SWIG selector objects alive for the duration of the search.
        batch = faiss.IDSelectorBatch(excluded) if len(excluded) else None
        selector = faiss.IDSelectorNot(batch) if batch is not None else None
        params = self._params(k, selector, ef, nprobe)
        scores, rows = self._index.search(q, k, params=params)
        return scores, rows

    def _exact_vectors(self) -> np.ndarray:
        with self._exact_lock:
            if self._exact is None:
                ivf = faiss.try_extract_index_ivf(self._index)
                if ivf is not None:
                    ivf.make_direct_map()
                self._exact = self._index.reconstruct_n(0, len(self))
            return self._exact

    def search_rows(
        self,
        queries: np.ndarray,
        k: int,
        *,
        exclude_rows: np.ndarray | None = None,
        ef: int | None = None,
        nprobe: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` rows by inner product for each query.

        Args:
            queries: ``q × dim`` (or one ``dim`` vector).
            k: results per query.
            exclude_rows: rows that must never be returned.
            ef: HNSW beam width for this call (default ``config.ef_search``; raised to ``k``
                when smaller); ignored by other index kinds.
            nprobe: inverted lists visited for this call by IVF indexes (default
                ``config.nprobe``); ignored by other index kinds.

        Returns:
            ``(scores, rows)``, both ``q × k``: float32 scores, best first, and int64 catalog
            rows, padded with ``-1`` (score ``-inf``) only when fewer than ``k`` eligible rows
            exist.
        """
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if q.shape[1] != self.dim:
            raise ConfigError(f"query dim {q.shape[1]} does not match index dim {self.dim}")
        if self._pad_to is not None:
            wide = np.zeros((len(q), self._pad_to), dtype=np.float32)
            wide[:, : self.dim] = q
            q = wide
        n = len(self)
        if exclude_rows is None or not len(exclude_rows):
            excluded = _NO_ROWS
        else:
            excluded = np.unique(np.asarray(exclude_rows, np.int64))
            excluded = excluded[(excluded >= 0) & (excluded < n)]
            if self._to_stored is not None:
                excluded = np.sort(self._to_stored[excluded])
        scores, rows = self._search_stored(q, k, excluded, ef, nprobe)
        if self._to_catalog is not None:
            rows = self._to_catalog[rows]
        return scores, rows

    def _search_stored(
        self,
        q: np.ndarray,
        k: int,
        excluded: np.ndarray,
        ef: int | None = None,
        nprobe: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`search_rows` in stored-row numbering (``excluded`` sorted, in range)."""
        n = len(self)
        eligible = n - len(excluded)
        want = min(k, eligible)
        if want <= 0 or len(q) == 0:
            return (
                np.full((len(q), k), -np.inf, dtype=np.float32),
                np.full((len(q), k), -1, dtype=np.int64),
            )
        scores, rows = self._raw_search(q, k, excluded, ef, nprobe)
        bad = rows < 0
        if len(excluded):
            bad |= np.isin(rows, excluded)
        if want == k and rows.shape[1] == k and not bad.any():
            return scores, rows
        out_scores = np.full((len(q), k), -np.inf, dtype=np.float32)
        out_rows = np.full((len(q), k), -1, dtype=np.int64)
        short: list[int] = []
        for i in range(len(q)):
            good = ~bad[i]
            r, s = rows[i][good][:k], scores[i][good][:k]
            if len(r) < want:
                short.append(i)
                continue
            out_rows[i, : len(r)], out_scores[i, : len(r)] = r, s
        if short:
            logger.debug("exhaustive fallback for %d of %d queries", len(short), len(q))
            s_all = q[short] @ self._exact_vectors().T
            s_all[:, excluded] = -np.inf
            top = np.argpartition(-s_all, want - 1, axis=1)[:, :want]
            for j, i in enumerate(short):
                order = top[j][np.argsort(-s_all[j, top[j]], kind="stable")]
                out_rows[i, :want], out_scores[i, :want] = order, s_all[j, order]
        return out_scores, out_rows

    def search(
        self, queries: np.ndarray, k: int, *, exclude: Set[str] = frozenset()
    ) -> list[list[tuple[str, float]]]:
        """Top-``k`` ``(track_id, score)`` pairs per query, never returning ``exclude``."""
        rows_ex = np.fromiter(
            (r for t in exclude if (r := self._row_of.get(t)) is not None), dtype=np.int64
        )
        scores, rows = self.search_rows(queries, k, exclude_rows=rows_ex)
        return [
            [(str(self.ids[r]), float(s)) for r, s in zip(rr, ss, strict=True) if r >= 0]
            for rr, ss in zip(rows, scores, strict=True)
        ]

    def save(self, path: Path) -> str:
        """Write the index, ids and config to one ``.npz`` file; returns its sha256."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"format": _FORMAT, "config": self.config.model_dump()}
        order = self._order if self._order is not None else np.arange(len(self), dtype=np.int64)
        buf = io.BytesIO()
        np.savez(
            buf,
            index=faiss.serialize_index(
                self._index if self._pad_to is None else _unpadded_fp16(self._index, self.dim)
            ),
            ids=self.ids,
            order=order,
            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        )
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(buf.getbuffer())
        tmp.replace(path)
        return _sha256_file(path)

    @classmethod
    def load(cls, path: Path, expected_sha256: str | None = None) -> FaissIndex:
        """Load an index written by :meth:`save`.

        Raises:
            ArtifactError: when the file is missing, unreadable or its sha256 differs from
                ``expected_sha256``.
        """
        path = Path(path)
        if not path.is_file():
            raise ArtifactError(
                f"index file {path.name} (in {path.parent}) is missing; run `liner build`"
            )
        # Hash and parse the same bytes: the file cannot change between check and load.
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ArtifactError(
                f"cannot read index file {path.name} (in {path.parent}): {exc}"
            ) from exc
        if expected_sha256 is not None and hashlib.sha256(raw).hexdigest() != expected_sha256:
            raise ArtifactError(
                f"index file {path.name} (in {path.parent}) fails its sha256 check; rebuild "
                "artifacts"
            )
        try:
            with np.load(io.BytesIO(raw), allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                if meta.get("format") not in _FORMATS:
                    raise ArtifactError(
                        f"index file {path.name} (in {path.parent}) has unknown format "
                        f"{meta.get('format')}; "
                        "rebuild artifacts"
                    )
                index = faiss.deserialize_index(data["index"])
                ids = data["ids"]
                order = data["order"] if meta["format"] >= 2 else None
        except (OSError, ValueError, KeyError, RuntimeError, EOFError) as exc:
            raise ArtifactError(
                f"cannot read index file {path.name} (in {path.parent}): {exc}"
            ) from exc
        if order is not None and np.array_equal(order, np.arange(len(order))):
            order = None
        return cls(index, ids, FaissIndexConfig(**meta["config"]), order)


class IndexHolder:
    """Holds the served index; :meth:`swap` replaces it atomically while searches run.

    Readers call :meth:`get` once per request and use that object to the end, so a request
    never mixes two indexes; the old index is freed when its last reader finishes.
    """

    def __init__(self, index: FaissIndex) -> None:
        self._index = index
        self._lock = threading.Lock()

    def get(self) -> FaissIndex:
        """The current index (a plain reference read, atomic under the GIL)."""
        return self._index

    def swap(self, new: FaissIndex) -> None:
        """Install ``new`` for every later :meth:`get`."""
        with self._lock:
            old, self._index = self._index, new
        logger.info("swapped index (%d -> %d vectors)", len(old), len(new))


__all__ = ["FaissIndex", "FaissIndexConfig", "IndexHolder"]
