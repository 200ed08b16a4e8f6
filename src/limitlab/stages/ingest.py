"""``limitlab ingest``: validate the raw data; kept rows, refused rows with reasons, the spec."""

from __future__ import annotations

from limitlab import paths
from limitlab.config import Params
from limitlab.data.ingest import ingest_to_files, stop_above_quarantine_share
from limitlab.data.specs import resolve_spec
from limitlab.io import write_json

PARAMS = ("data", "limits.product_column", "limits.products")
CODE = ("config.py", "data", "errors.py", "io.py", "paths.py")


def run(params: Params) -> dict:
    """Write the kept rows, the quarantine and the typed spec, part by part; stop when too many
    were refused (after writing the quarantine, so the user can read why). With
    ``limits.product_column``, a row naming a product the policy does not offer is refused
    here."""
    spec = resolve_spec(params.data)
    column = params.limits.product_column
    products = (column, list(params.limits.products)) if column else None
    limit = params.data.max_quarantine_share
    spec, metrics = ingest_to_files(spec, limit, paths.ACCEPTED, paths.QUARANTINE,
                                    products=products)  # fmt: skip
    spec.to_json(paths.SPEC)
    write_json(paths.metrics_path("ingest"), metrics)
    stop_above_quarantine_share(spec, metrics, limit)
    return metrics
