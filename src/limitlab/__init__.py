"""limitlab: credit-limit modelling workbench."""

__version__ = "0.1.0"
