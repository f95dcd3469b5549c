"""Sharing: share (with a user, or with an organisation as @NAME), revoke, and what others
shared with me (shared)."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from ..typed import typed_recipient, typed_username
from .names import readable_names
from .organisations import status_of
from .output import CONTROLS, Columns, err, out, plain, print_json, when
from .shared import (
    DEFAULT_SERVER,
    JsonOpt,
    ProfileOpt,
    ServerOpt,
    client,
    command,
    fail,
    no_such_user_hint,
)

MAX_EXPIRY_DAYS = 10 * 366  # a share ends within ten years, or never (no --expires)


def parse_expiry(text: str | None) -> int:
    """`30d`, `12h`, `2w` from now, or a date `2027-01-31` (the end of that day on this
    computer's clock, as `when` shows times); at most MAX_EXPIRY_DAYS ahead, and in the
    future."""
    if not text:
        return 0
    current = int(time.time())
    match = re.fullmatch(r"(\d+)\s*([hdw])", text.strip().lower())
    if match:
        hours = {"h": 1, "d": 24, "w": 24 * 7}[match.group(2)]
        count = int(match.group(1))
        if count == 0:
            fail(f"error: the expiry {text!r} is not in the future: use for example 30d, 12h or 2w")
        if count * hours > MAX_EXPIRY_DAYS * 24:
            too_far(text)
        return current + count * hours * 3600
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d")
        end = int(day.replace(hour=23, minute=59, second=59).astimezone().timestamp())
    except (ValueError, OverflowError, OSError):
        fail(f"error: cannot read the expiry {text!r}: use for example 30d, 12h, 2w or 2027-01-31")
    if end <= current:
        fail(f"error: the expiry date {text!r} has passed: a share must expire in the future")
    if end > current + MAX_EXPIRY_DAYS * 24 * 3600:
        too_far(text)
    return end


def too_far(text: str) -> NoReturn:
    fail(
        f"error: the expiry {text!r} is more than {MAX_EXPIRY_DAYS // 366} years away: choose "
        "a nearer one, or leave out --expires for a share that lasts until you revoke it"
    )


@command
def share(
    target: str,
    username: str,
    write: Annotated[bool, typer.Option("--write", help="Also allow adding documents.")] = False,
    expires: Annotated[
        str | None, typer.Option(metavar="WHEN", help="For example 30d, 2w or 2027-01-31.")
    ] = None,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    allow_unverified: Annotated[
        bool, typer.Option("--allow-unverified", help="Share with an unverified organisation.")
    ] = False,
) -> None:
    """Share a dossier or one document with a user, or with an organisation as @NAME."""
    if username.startswith("@"):  # an organisation
        name = typed_recipient(username)
        expires_at = parse_expiry(expires)
        return share_with_organisation(target, name, write, expires_at, allow_unverified,
                                       server, profile)  # fmt: skip
    username = typed_username(username)
    expires_at = parse_expiry(expires)
    with client(server, profile) as c, no_such_user_hint(c, username):
        result = c.share(target, username, write=write, expires_at=expires_at)
    who = result.recipient
    plain(f"Shared with {who.username} ({result.grants} key(s) wrapped for {who.fingerprint}).")
    if result.unconfirmed:
        because = f" ({result.not_adopted_because})" if result.not_adopted_because else ""
        plain(
            f"Note: version {', '.join(map(str, result.unconfirmed))} of this document was not "
            f"shared: you have not confirmed it{because}.",
            console=err,
        )
    if not result.recipient_verified:
        plain(
            f"Note: {who.username}'s fingerprint is not verified. Compare it with them, then run "
            f"`kluis verify {who.username} '<fingerprint>'`.",
            console=err,
        )


@command
def revoke(
    target: str, username: str, server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None
) -> None:
    """Revoke a share. New documents and versions get a new key the user never receives."""
    username = typed_recipient(username)
    with client(server, profile) as c:
        revocation = c.revocation(target, username)  # refused if they hold no share of their own
        for line in revocation.lines():  # names from others print as text, never as controls
            plain(line.translate(CONTROLS))
        epoch = c.revoke(target, username, revocation)
    plain(
        f"Access of {username} revoked."
        + (f" Dossier key rotated (epoch {epoch})." if epoch else "")
    )
    out.print("What they already downloaded stays with them: revocation cannot take copies back.")


@command
def shared(
    server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None, as_json: JsonOpt = False
) -> None:
    """What others shared with you: one line for each share, with its title or file name."""
    with client(server, profile) as c:
        items = c.shared_with_me()
        names = readable_names(c, [(i.dossier_id, i.document_id) for i in items])
    rows: list[dict[str, Any]] = [
        {
            "kind": i.kind,
            "dossier": i.dossier_id,
            "document": i.document_id,
            "title": names.get(i.dossier_id),
            "name": names.get(i.document_id) if i.document_id else None,
            # a document: the versions whose keys the share holds; a dossier: the key epochs
            "numbers": list(i.numbers),
            "from": i.granter,
            "from_verified": i.granter_verified,
            "rights": i.rights,
            "expires": i.expires_at,
            "shared": i.issued_at,
            "signature": "verified",
        }
        for i in items
    ]
    if as_json:
        return print_json(rows)
    table = Columns(
        "kind", "id", "name", "from", "rights", "versions", "expires", "signature",
        names=("name",),
    )  # fmt: skip
    for i in items:  # one item for each share, whatever number of keys it holds
        versions = ", ".join(map(str, i.numbers)) if i.document_id else "all"
        table.add_row(
            i.kind,
            (i.document_id or i.dossier_id)[:12],
            names.get(i.document_id or i.dossier_id, ""),
            i.granter + ("" if i.granter_verified else " (unverified)"),
            i.rights,
            versions,
            when(i.expires_at),
            "verified",
        )
    table.print()
    return None


def share_with_organisation(
    target: str,
    name: str,
    write: bool,
    expires_at: int,
    allow_unverified: bool,
    server: str,
    profile: Path | None,
) -> None:
    """`kluis share TARGET @NAME`: refused for an unverified organisation unless allowed."""
    with client(server, profile) as c:
        result, org = c.share_with_organisation(
            target, name[1:], write=write, expires_at=expires_at, allow_unverified=allow_unverified
        )
    plain(
        f"Shared with organisation {org.name} ({result.grants} key(s) wrapped for its current "
        f"keys; fingerprint {org.fingerprint})."
    )
    plain(f"status: {status_of(org)}")
    if not org.verified:
        plain(
            f"Note: {org.name} is not verified. Compare its fingerprint with one on a letter from "
            f"them, then run `kluis org verify {org.name} '<fingerprint>'`.",
            console=err,
        )
