"""Credentials never leave in what limitlab logs or prints."""

from __future__ import annotations

import re

_URL_PASSWORD = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^@\s]*@")


def mask_secrets(text: str) -> str:
    """``scheme://user:password@host`` with the password replaced by ``***``."""
    return _URL_PASSWORD.sub(r"\1***@", text)
