"""Configuration of the embedding build: modalities, fusion weights and index parameters.

This module imports only pydantic, so :class:`recsys.settings.LinerSettings` can nest
:class:`EmbeddingConfig` without loading FAISS or torch.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class FaissIndexConfig(BaseModel):
    """How a :class:`recsys.index.FaissIndex` is built and searched.

    Defaults: below 50k vectors exact search costs well under a millisecond per query on one
    core, so approximation buys nothing. Above, HNSW M=16 (``ef_construction=100``) over
    float16 vectors, rows stored in k-means locality order. Chosen with
    ``python -m benchmarks.retrieval --quick`` (100k clustered 128-d vectors, one thread,
    libraries timed interleaved 100 queries at a time, ef matched in steps of 1 to recall@10
    ≥ 0.95): recall 0.950 at ``ef_search`` 24, **1.42× hnswlib** (its faster M, 16, needs
    ef 25) and 2.06× voyager, at 400 bytes per vector (hnswlib 660). What each choice buys, same
    run: float32 storage in the same order 1.10× hnswlib (656 B); float16 in catalog order
    1.23×, so the locality order alone is worth 1.15× (1.10-1.18× in exploratory runs, on
    either storage). Searching without exclusions on FAISS's unbounded-queue walk rather than
    its default bounded one added 1.18× (float16, catalog order). Float16 scores differ from
    float32 by ~1e-3 and left recall unchanged (0.9501 vs 0.9502). M=32 bought nothing for the
    peers at 100k. At 1M (``results/retrieval_1m.json``) the same defaults run 1.23× hnswlib
    and 2.41× voyager at recall 0.959 (all at ef 256). SQ8 codes with float re-scoring
    (``hnsw_storage="sq8"``) measured 0.93-1.25× hnswlib (before the changes above) for 784
    bytes per vector: an option, not the default. Harder low-dimensional sets
    (``tests/recsys/test_index.py``) need ef ≈ 100 and the 1M benchmark set 256 (0.92 at 128),
    so the served ``ef_search`` is 256: recall@10 ≥ 0.95 at both scales. The pipeline's
    candidate searches ask for k = 150-300 anyway (ef is raised to k). Lower it for speed on
    small catalogs.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    factory: str | None = None
    """FAISS ``index_factory`` string; overrides the size-based choice when set."""
    exact_below: int = 50_000
    """Catalogs smaller than this use exact ``IndexFlatIP`` search."""
    hnsw_m: int = 16
    """HNSW graph degree (memory ~ 2·M·4 bytes per vector on top of the vector)."""
    hnsw_storage: Literal["fp16", "flat", "sq8"] = "fp16"
    """Vectors the HNSW graph walk reads: float16 (``fp16``, scores exact to ~1e-3), float32
    (``flat``) or 8-bit scalar quantised (``sq8``, top ``k × refine_k_factor`` re-scored on float
    vectors). FAISS has SIMD float16 kernels only for widths that are a multiple of 8; at any
    other width (the fused space is 192 + the audio block's columns wide) each float16
    distance runs one component at a time: at 193 columns (FAISS 1.15.1, 5k rows, one
    thread) an HNSW build took 9.0 against 0.6 CPU-s over float32 and a search at ef 150
    1.0 against 0.16 ms, while at 64, 200, 208 and 224 columns float16 cost the same as
    float32 or less. The build then makes the ``fp16`` graph over the float32 rows
    (:func:`recsys.index._hnsw_fp16`) and the neighbour table walks it over float32 rows;
    served searches pad the loaded float16 codes and each query with zero columns up to the
    next multiple of 8 (no score changes; the artifacts keep their width), so they take the
    SIMD kernel too (:func:`recsys.index._padded_fp16`; 0.32× per search at 193 columns)."""
    locality_order: bool = True
    """Store HNSW rows in k-means order so graph neighbours are close in memory (results are
    mapped back to catalog rows); off stores them in catalog order."""
    refine_k_factor: int = Field(default=2, ge=1)
    """With ``sq8``, or a factory with a refinement stage (``Refine(...)``): the
    ``k × refine_k_factor`` best by code are re-scored by the finer codes or exact vectors."""
    ef_construction: int = 100
    """HNSW build-time beam width: higher builds slower and recalls slightly better."""
    ef_search: int = 256
    """HNSW search-time beam width (raised to ``k`` when ``k`` is larger)."""
    nprobe: int = 32
    """Inverted lists visited per query for IVF factories."""
    train_size: int = 200_000
    """Vectors sampled to train IVF / PQ / SQ factories."""
    seed: int = 0
    """Seed for the training sample."""


class FusionConfig(BaseModel):
    """Weights of each modality in the fused space.

    Listener · track in the fused space is ``w_text·cos(text) + w_audio·cos(audio) +
    w_collab·(û·v)/s``: content cosines plus ALS's own dot product with the item norm kept
    (weights are divided by their sum); track vectors stay unit-norm through a pad block (see
    :mod:`recsys.embeddings.fusion`).

    How the defaults were chosen (``python -m benchmarks.modalities --quick``): on each dataset
    a grid over text and audio weights in {0, .05, .1, .2, .3, .5, .7} (collab the rest) is
    scored by Recall@100 on 150 validation listeners; the defaults are the grid point whose
    *smallest* lift over the best single modality on the validation listeners is largest
    across HetRec Last.fm and TidyTuesday playlists (the issue asks fusion to beat every
    modality on both). That is text 0.1 / audio 0 / collab 0.9 (lift ≥ 1.04 on both). On the
    150 reporting listeners it gives 0.490 on HetRec (ALS 0.468, text 0.228) and 0.221 on
    TidyTuesday (text 0.207, ALS 0.056). TidyTuesday alone prefers 0.3 / 0.1 / 0.6 (0.349):
    raise content weights for catalogs whose listening is sparse and mostly one-off.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    text_weight: float = Field(default=0.1, ge=0)
    """Weight of the text modality."""
    audio_weight: float = Field(default=0.0, ge=0)
    """Weight of the audio modality."""
    collab_weight: float = Field(default=0.9, ge=0)
    """Weight of the collaborative modality (ALS, or the content projection for cold tracks)."""
    text_dim: int = Field(default=64, ge=1)
    """Text is PCA-reduced to this many dimensions inside the fused vector."""
    audio_dim: int = Field(default=32, ge=1)
    """Audio features are standardised and PCA-reduced to at most this many dimensions."""


class AlsConfig(BaseModel):
    """Implicit ALS on listening events (``implicit`` library, CPU)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    factors: int = 64
    """Latent dimensions."""
    regularization: float = 0.05
    """L2 regularisation."""
    iterations: int = 15
    """ALS sweeps."""
    alpha: float = 1.0
    """Confidence = 1 + alpha · log1p(weighted plays). 1, not 10: on HetRec (temporal split,
    699 test listeners) ALS ranks with NDCG@10 0.263 at alpha 1, 0.251 at 2, 0.198 at 10, and
    the build's ALS is a served candidate source and reranker feature."""
    threads: int = 1
    """CPU threads (keep small on shared machines)."""
    min_plays: int = 1
    """Tracks with fewer listeners than this take the content projection instead. Since the
    fused space keeps ALS item norms, a track's few plays give it a short (low-weight) but
    real vector; replacing tracks with 1-2 listeners by the projection (``min_plays=3``)
    dropped fused track → track precision from 0.35 to 0.10 on HetRec Last.fm
    (``python -m benchmarks.modalities --quick``)."""


class ProjectionConfig(BaseModel):
    """Content (text + audio) → collaborative mapping for tracks without plays.

    Default ``auto``: the build tries kNN (similarity-weighted mean of the ALS factors of the k
    nearest warm tracks in content space, k in {5, 10, 20, 50}) and ridge regression (alpha in
    {0.1, 1, 10, 100}) and keeps the one that best places held-out warm tracks among their ALS
    neighbours (:func:`~recsys.embeddings.projection.select_projection`). No single mapping
    wins everywhere: in ``python -m benchmarks.modalities --quick`` kNN (k = 5) retrieves
    held-out HetRec artists' co-listening neighbours 50× better than random where ridge is at
    chance, while on TidyTuesday ridge is 3× better than kNN.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["auto", "knn", "ridge"] = "auto"
    """``auto`` (chosen by validation per build), ``knn``
    (:class:`~recsys.embeddings.projection.KnnProjection`) or ``ridge``
    (:class:`~recsys.embeddings.projection.ContentProjection`)."""
    neighbours: int = Field(default=10, ge=1)
    """Neighbours averaged by the ``knn`` mapping."""
    ridge_alpha: float = 1.0
    """L2 penalty of the ``ridge`` mapping."""


class EmbeddingConfig(BaseModel):
    """Everything `liner build` needs to know about embeddings and indexes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fusion: FusionConfig = Field(default_factory=FusionConfig)
    """Fused-space weights and sizes."""
    als: AlsConfig = Field(default_factory=AlsConfig)
    """Collaborative model."""
    projection: ProjectionConfig = Field(default_factory=ProjectionConfig)
    """Cold-start content projection."""
    index: FaissIndexConfig = Field(default_factory=FaissIndexConfig)
    """Index type and parameters for every space."""
    neighbours: int = Field(default=150, ge=0)
    """Item-to-item neighbours stored per track at build time (the default item-to-item
    quota); a request asking for more falls back to searching. 0 stores none."""
    audio_encoder: str | None = None
    """``module:Class`` of a custom :class:`~recsys.embeddings.audio.AudioEncoder` (e.g. a CLAP
    or MERT wrapper); its constructor receives ``weights_path``. None: librosa features when
    tracks have audio files, else the ``audio_*`` descriptors."""
    audio_encoder_weights: str | None = None
    """Local path handed to the custom encoder as ``weights_path``."""
    audio_seconds: float = 30.0
    """Seconds of audio the librosa encoder reads per track."""
    audio_sample_rate: int = 16_000
    """Sample rate the librosa encoder resamples to."""


__all__ = ["AlsConfig", "EmbeddingConfig", "FaissIndexConfig", "FusionConfig", "ProjectionConfig"]
