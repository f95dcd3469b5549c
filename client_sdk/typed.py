"""What a person types: usernames and organisation names, folded and checked before use.

Names are case-insensitive for people: `Anna`, `ANNA` and `anna` are one account, and `@NCG`
is the organisation `ncg`. The rule of docs/format.md section 3 allows lower case only, so the
ASCII capitals A-Z are folded to a-z (and nothing else: no Unicode case mapping) before a name
is checked, sent or printed. A name that still breaks the rule is the typist's mistake: a
`ClientError` (exit status 1) that quotes what was typed, never the `MalformedError` (a
security failure, exit status 3) that the same rule raises for a record from the server.
"""

from __future__ import annotations

from vault.errors import MalformedError
from vault.names import check_username

from .errors import ClientError

__all__ = ["fold_name", "typed_name", "typed_org_name", "typed_recipient", "typed_username"]

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
RULE = "1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"


def fold_name(text: str) -> str:
    """`text` with the ASCII capitals A-Z in lower case; every other character as it is."""
    return text.translate(_ASCII_LOWER)


def typed_name(text: str, what: str) -> str:
    """A name a person typed, folded (`fold_name`) and checked by the rule of section 3.

    `what` says what the name is ("username", "organisation name"), for the message."""
    folded = fold_name(text)
    try:
        return check_username(folded)
    except MalformedError:
        raise ClientError(f"{text!r} is not a valid {what}: {what}s are {RULE}") from None


def typed_username(text: str) -> str:
    return typed_name(text, "username")


def typed_org_name(text: str) -> str:
    """An organisation's name, typed with or without its `@`; returned without it."""
    return typed_name(text.removeprefix("@"), "organisation name")


def typed_recipient(text: str) -> str:
    """Whom to share with or revoke: a username, or an organisation as `@name` (kept)."""
    return "@" + typed_org_name(text) if text.startswith("@") else typed_username(text)
