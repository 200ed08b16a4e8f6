"""Limit policy: master scale, products, caps, segments, economics, reasons, optimisation.

Pure functions over arrays and data frames; the policy itself is data (:class:`Policy`).
"""

from limitlab.limits.decide import APPROVE, DECLINE, decide, grade_of
from limitlab.limits.policy import Policy
from limitlab.limits.reasons import REASON_COLUMNS, principal_reasons

__all__ = [
    "APPROVE",
    "DECLINE",
    "REASON_COLUMNS",
    "Policy",
    "decide",
    "grade_of",
    "principal_reasons",
]
