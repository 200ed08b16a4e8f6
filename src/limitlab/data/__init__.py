"""Dataset specs, sources, validation and quarantine."""

from limitlab.data.ingest import IngestResult, ingest
from limitlab.data.specs import DataError, DatasetSpec, resolve_spec

__all__ = ["DataError", "DatasetSpec", "IngestResult", "ingest", "resolve_spec"]
