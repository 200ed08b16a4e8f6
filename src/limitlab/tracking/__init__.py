"""MLflow: where the store is, the pipeline run, nested trials, lineage tags, the registry."""

from limitlab.tracking.store import artifact_root, project_root, tracking_uri

__all__ = ["artifact_root", "project_root", "tracking_uri"]
