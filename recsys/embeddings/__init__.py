"""Track and listener embeddings: text, audio, collaborative, content projection, fusion.

Names are imported lazily (PEP 562) so that :mod:`recsys.embeddings.config` stays cheap to
import from :mod:`recsys.settings` and :mod:`recsys.index` without loading FAISS or torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "SPACES": "recsys.embeddings.spaces",
    "AlsConfig": "recsys.embeddings.config",
    "AudioEncoder": "recsys.embeddings.audio",
    "ContentProjection": "recsys.embeddings.projection",
    "DescriptorAudioEncoder": "recsys.embeddings.audio",
    "EmbeddingConfig": "recsys.embeddings.config",
    "EmbeddingSpaces": "recsys.embeddings.spaces",
    "FusionConfig": "recsys.embeddings.config",
    "KnnProjection": "recsys.embeddings.projection",
    "LibrosaAudioEncoder": "recsys.embeddings.audio",
    "PcaReducer": "recsys.embeddings.fusion",
    "ProjectionConfig": "recsys.embeddings.config",
    "VectorCache": "recsys.embeddings.text",
    "embed_texts": "recsys.embeddings.text",
    "embed_with_cache": "recsys.embeddings.text",
    "fit_als": "recsys.embeddings.collaborative",
    "fuse": "recsys.embeddings.fusion",
    "fuse_listeners": "recsys.embeddings.fusion",
    "fuse_tracks": "recsys.embeddings.fusion",
    "load_audio_encoder": "recsys.embeddings.audio",
    "load_text_model": "recsys.embeddings.text",
    "track_text": "recsys.embeddings.text",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'recsys.embeddings' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


__all__ = [
    "SPACES",
    "AlsConfig",
    "AudioEncoder",
    "ContentProjection",
    "DescriptorAudioEncoder",
    "EmbeddingConfig",
    "EmbeddingSpaces",
    "FusionConfig",
    "KnnProjection",
    "LibrosaAudioEncoder",
    "PcaReducer",
    "ProjectionConfig",
    "VectorCache",
    "embed_texts",
    "embed_with_cache",
    "fit_als",
    "fuse",
    "fuse_listeners",
    "fuse_tracks",
    "load_audio_encoder",
    "load_text_model",
    "track_text",
]
