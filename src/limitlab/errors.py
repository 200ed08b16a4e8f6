"""One base for every refusal: bad input (params, data, requests) or a bad project state.

The CLI turns any :class:`LimitlabError` into one line on stderr and exit code 2; the model
server into a 4xx answer. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class LimitlabError(Exception):
    """A refusal that names what was refused, the value and what was expected."""


class InputError(LimitlabError, ValueError):
    """A value given to limitlab (a column, a row, an argument) cannot be used."""


class StateError(LimitlabError, RuntimeError):
    """The project is not in a state that allows the request (missing outputs, an unfinished
    study, an unknown registry version, an infeasible policy)."""
