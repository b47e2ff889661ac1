"""Storage backends behind one interface."""

from recsys.store.base import IngestBatch, QuarantineRecord, Store, StoreSummary

__all__ = ["IngestBatch", "QuarantineRecord", "Store", "StoreSummary"]
