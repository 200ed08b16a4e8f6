"""Limit policy: master scale, band ladder, affordability cap, band table."""

from limitlab.limits.policy import DECLINE, Policy, assign_limits, band_table

__all__ = ["DECLINE", "Policy", "assign_limits", "band_table"]
