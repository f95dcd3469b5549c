"""Ids: made here, checked when the server sends one, and found from what a person types.

An id is 16 random bytes in lower-case hex (docs/format.md). A person may type its beginning,
or a name (a dossier's title, a document's file name), which `by_id_or_name` resolves.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable

from vault.errors import MalformedError

from .errors import AmbiguousId, UnknownId

ID_PATTERN = re.compile(r"[0-9a-f]{32}")


def new_id() -> str:
    return secrets.token_hex(16)


def check_id(value: str, what: str) -> str:
    if not ID_PATTERN.fullmatch(value):
        raise MalformedError(f"server answer: {what} is not an id")
    return value


HEX = re.compile(r"[0-9a-f]*")
MAX_CANDIDATES = 20


def by_id_or_name(
    text: str,
    ids: Iterable[str],
    names: Callable[[], dict[str, tuple[str, str]]],
    what: str,
    by: str,
) -> str:
    """The one id of `ids` that `text` names, else UnknownId or AmbiguousId (with candidates).

    An id, or the beginning of exactly one id, names that one: the names are then not read.
    Otherwise `names()` gives {id: (name, label)}, read only now because reading them means
    decrypting and verifying (a title, a file name; one that fails a check stops the lookup,
    lest a server hide one of two alike to steer the choice): a whole name, in any case, names its
    object if only one has it; else every id and name that begins with `text` is a candidate.
    `what` ("dossier") and `by` ("id or title") word the messages; `label` shows a
    candidate."""
    prefix = text.lower()
    id_hits = sorted({i for i in ids if i.startswith(prefix)}) if HEX.fullmatch(prefix) else []
    if len(id_hits) == 1:
        return id_hits[0]
    if ID_PATTERN.fullmatch(prefix):  # a whole id that is none of these: no name is one
        raise UnknownId(f"no {what} with the id {text!r} that you can see")
    known = names()
    folded = text.casefold()
    exact = sorted(i for i, (name, _) in known.items() if name.casefold() == folded)
    if len(exact) == 1:
        return exact[0]
    begins = {i for i, (name, _) in known.items() if name.casefold().startswith(folded)}
    hits = exact or sorted(set(id_hits) | begins)
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise UnknownId(f"no {what} with the {by} {text!r} that you can see")
    raise AmbiguousId(
        f"{text!r} matches {len(hits)} {what}s; type more of the {by}:",
        [(i, known[i][1] if i in known else "") for i in hits[:MAX_CANDIDATES]],
    )
