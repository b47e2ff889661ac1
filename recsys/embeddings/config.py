"""Configuration of the embedding build: modalities, fusion weights and index parameters.

This module imports only pydantic, so :class:`recsys.settings.LinerSettings` can nest
:class:`EmbeddingConfig` without loading FAISS or torch.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FaissIndexConfig(BaseModel):
    """How a :class:`recsys.index.FaissIndex` is built and searched.

    Defaults: below 50k vectors exact search costs well under a millisecond per query on one
    core, so approximation buys nothing. Above, HNSW32 built with ``ef_construction=100``:
    ``python -m benchmarks.retrieval`` (clustered 128-d vectors, one thread) reaches
    recall@10 ≥ 0.95 at ``ef_search`` ≈ 20-30, and harder low-dimensional sets
    (``tests/recsys/test_index.py``) need ≈ 100, so the served ``ef_search=128`` keeps a
    margin; raise it for recall, lower it for speed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    factory: str | None = None
    """FAISS ``index_factory`` string; overrides the size-based choice when set."""
    exact_below: int = 50_000
    """Catalogs smaller than this use exact ``IndexFlatIP`` search."""
    hnsw_m: int = 32
    """HNSW graph degree (memory ~ 2·M·4 bytes per vector on top of the vector)."""
    ef_construction: int = 100
    """HNSW build-time beam width: higher builds slower and recalls slightly better."""
    ef_search: int = 128
    """HNSW search-time beam width (raised to ``k`` when ``k`` is larger)."""
    nprobe: int = 32
    """Inverted lists visited per query for IVF factories."""
    train_size: int = 200_000
    """Vectors sampled to train IVF / PQ / SQ factories."""
    seed: int = 0
    """Seed for the training sample."""


class FusionConfig(BaseModel):
    """Weights of each modality in the fused space.

    The fused vector is the concatenation of ``sqrt(weight) ×`` each L2-normalised modality
    vector, normalised again, so the fused inner product is the weighted mean of per-modality
    cosines. Defaults come from ``python -m benchmarks.modalities --quick`` (weights tuned on
    half the listeners over text and audio in {0, .1, .2, .3, .5}, collab the rest;
    Recall@100 on the other half): HetRec Last.fm,
    where listening data is dense as in a running service, picked text 0.3 / audio 0.1 /
    collab 0.6; TidyTuesday playlists (sparse co-listening) picked 0.5 / 0.1 / 0.4.
    Caveat: on HetRec raw ALS dot products still retrieve better than the fusion (0.47 vs
    0.38), probably because the fused space compares ALS vectors by cosine and so drops the
    popularity their norms carry; keep ALS as its own candidate source beside the fused index.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    text_weight: float = Field(default=0.3, ge=0)
    """Weight of the text modality."""
    audio_weight: float = Field(default=0.1, ge=0)
    """Weight of the audio modality."""
    collab_weight: float = Field(default=0.6, ge=0)
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
    alpha: float = 10.0
    """Confidence = 1 + alpha · log1p(weighted plays)."""
    threads: int = 1
    """CPU threads (keep small on shared machines)."""
    min_plays: int = 3
    """Tracks with fewer listeners than this take the content projection instead."""


class ProjectionConfig(BaseModel):
    """Ridge regression from content (text + audio) to the collaborative space."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ridge_alpha: float = 1.0
    """L2 penalty of the ridge regression."""


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
