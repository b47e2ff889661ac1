"""Track and listener embeddings: text, audio, collaborative, content projection, fusion."""

from recsys.embeddings.spaces import SPACES, EmbeddingSpaces
from recsys.embeddings.text import (
    TextEmbeddingCache,
    TextModel,
    embed_texts,
    embed_with_cache,
    load_text_model,
    track_text,
)

__all__ = [
    "SPACES",
    "EmbeddingSpaces",
    "TextEmbeddingCache",
    "TextModel",
    "embed_texts",
    "embed_with_cache",
    "load_text_model",
    "track_text",
]
