"""Liner Notes recommender core: domain, store, ingestion, embeddings, retrieval, pipeline."""

__version__ = "0.1.0"

__all__ = ["__version__"]
