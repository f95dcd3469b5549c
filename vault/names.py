"""Usernames and organisation names (docs/format.md section 3), in a module of their own so that
code the server may import (the transparency log's entries, vault.logentry) checks names by the
same rule as identity records without importing the secret-key code of vault.keys."""

from __future__ import annotations

import re
from typing import Final

from .errors import MalformedError

__all__ = ["USERNAME_MAX", "USERNAME_PATTERN", "check_username"]

USERNAME_MAX: Final = 64
USERNAME_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def check_username(username: str) -> str:
    """Return `username` if it is valid in an identity record, else raise MalformedError."""
    if not isinstance(username, str) or not USERNAME_PATTERN.fullmatch(username):
        raise MalformedError(
            "a username is 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter "
            "or digit"
        )
    return username
