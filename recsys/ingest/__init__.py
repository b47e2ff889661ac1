"""Ingestion of a data folder (docs/data-format.md) into the store, all or nothing."""

from recsys.ingest.run import IngestReport, build_batch, catalog_summary, run_ingest
from recsys.ingest.validate import IngestValidationError

__all__ = [
    "IngestReport",
    "IngestValidationError",
    "build_batch",
    "catalog_summary",
    "run_ingest",
]
