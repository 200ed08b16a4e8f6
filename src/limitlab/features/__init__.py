"""Scikit-learn transformers, fitted on the training split only."""

from limitlab.features.transformers import DerivedRatios, build_feature_pipeline

__all__ = ["DerivedRatios", "build_feature_pipeline"]
