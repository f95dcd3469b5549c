"""Dossiers and their documents: dossier create/list, add, update, ls, get."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from .output import Columns, err, plain, print_json, size_text, transfer_bars, when
from .shared import (
    DEFAULT_SERVER,
    JsonOpt,
    ProfileOpt,
    ServerOpt,
    client,
    command,
    fail,
    writing_to,
)


@command
def dossier_create(
    title: str, server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None
) -> None:
    """Create a dossier; prints its id."""
    with client(server, profile) as c:
        plain(c.create_dossier(title))


@command
def dossier_list(
    server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None, as_json: JsonOpt = False
) -> None:
    """List your dossiers and the ones shared with you."""
    with client(server, profile) as c:
        rows: list[dict[str, Any]] = [
            {
                "id": d.dossier_id,
                "title": d.title,
                "owner": d.owner.username,
                "role": d.role,
                "documents": len(d.index.entries),
                "created": d.created_at,
            }
            for d in c.dossiers()
        ]
    if as_json:
        return print_json(rows)
    table = Columns("id", "title", "owner", "role", "documents", names=("title",))
    for r in rows:
        table.add_row(r["id"][:12], r["title"], r["owner"], r["role"], r["documents"])
    table.print()
    return None


@command
def add(
    dossier: str,
    files: list[Path],
    title: Annotated[str, typer.Option(metavar="TEXT", help="A title for the document(s).")] = "",
    again: Annotated[
        bool,
        typer.Option(
            "--again",
            help="Add a file as a new document even if the dossier holds it already.",
        ),
    ] = False,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
) -> None:
    """Encrypt files into a dossier (a file it holds already: see `kluis update`)."""
    from ..documents import storable_file

    seen: dict[Path, Path] = {}
    for file in files:
        storable_file(file, title)  # all of them, before anything goes to the server
        if file.resolve() in seen and not again:
            fail(f"error: {file} is given twice: it would become two documents")
        seen[file.resolve()] = file
    with client(server, profile) as c:
        dossier_id = c.resolve_dossier(dossier)
        if not again:
            refuse_copies(c.copies_in(dossier_id, files))
        sync_note(c.sync(dossier_id))
        with transfer_bars() as bar:
            infos = c.add_many(
                dossier_id,
                files,
                title=title,
                progress=lambda path: bar(path.name, path.stat().st_size),
            )
    for info in infos:
        plain(f"{info.document_id}  {info.name}  ({size_text(info.size)})")


def sync_note(synced: Any) -> None:
    """Say what the named step `Client.sync` wrote: the versions by others it adopted into
    the owner's index, and a new dossier epoch it started."""
    for info in synced.adopted:
        plain(
            f"Adopted version {info.version} of {info.name} ({info.document_id[:12]}) by "
            f"{info.author} into your signed index: your write grants allow it.",
            console=err,
        )
    if synced.epoch:
        plain(
            f"Started key epoch {synced.epoch}: an organisation you share this dossier with "
            "removed a member, who cannot read what is added from now on.",
            console=err,
        )


def receipts_note(organisations: list[str]) -> None:
    """Say which organisations signed a receipt for what was just opened through them."""
    for name in organisations:
        plain(f"Signed a receipt for @{name} of what you received through it.", console=err)


def refuse_copies(copies: list[tuple[Path, Any]]) -> None:
    """Issue 15, point 8: a file the dossier holds already is not silently added again."""
    if not copies:
        return
    if len(copies) == 1:
        [(path, info)] = copies
        fail(
            f"error: {path.name} is already in this dossier as document {info.document_id[:12]} "
            f"(version {info.version}: the same name and content). A new version of it: "
            f"`kluis update {info.document_id[:12]} {path}`; another document anyway: --again"
        )
    held = ", ".join(f"{path.name} ({info.document_id[:12]})" for path, info in copies)
    fail(
        f"error: {len(copies)} files are already in this dossier (the same name and content): "
        f"{held}. A new version of one: `kluis update ID FILE`; new documents anyway: --again"
    )


@command
def update(
    document: str, file: Path, server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None
) -> None:
    """Add a new version of a document."""
    from ..documents import storable_file

    storable_file(file)  # before anything goes to the server
    with client(server, profile) as c:
        document_id = c.resolve_document(document)
        sync_note(c.sync(c.document_versions(document_id)[0], document_id=document_id))
        with transfer_bars() as bar:
            info = c.update(document_id, file, progress=bar(file.name, file.stat().st_size))
    plain(f"{info.document_id}  {info.name}  version {info.version}")


def document_row(info: Any) -> dict[str, Any]:
    return {
        "id": info.document_id,
        "name": info.name,
        "title": info.title,
        "version": info.version,
        "size": info.size,
        "created": info.created,
        "author": info.author,
        "author_verified": info.author_verified,
        "signature": "verified",
        "confirmed_by_owner": info.confirmed,
        # a document shared on its own: a newer version exists that was not shared with you
        "newer_version_not_shared": info.newer_version or None,
        # a newer version the owner has not confirmed (named, not opened), and its author
        "newer_unconfirmed_version": info.unconfirmed_version or None,
        "newer_unconfirmed_author": info.unconfirmed_author or None,
        # as the owner: why that version (or this one, if unconfirmed) was not adopted
        "not_adopted_because": info.not_adopted_because or None,
        # as the owner: a version her write grants allow, which `sync` adopts
        "adoptable_version": info.adoptable_version or None,
    }


def newer_version_note(info: Any) -> str:
    return (
        f"Note: {info.name} ({info.document_id[:12]}) has a newer version {info.newer_version} "
        f"that was not shared with you; you have version {info.version}."
    )


def unconfirmed_note(info: Any) -> str:
    """A newer version exists that the owner has not confirmed (K4): say so, and why if known."""
    n, doc = info.unconfirmed_version, info.document_id[:12]
    if info.not_adopted_because:  # the owner: her client did not adopt it, and says why
        status = f"you did not adopt into your index: {info.not_adopted_because}"
    else:
        status = "the dossier's owner has not confirmed"
    return (
        f"Note: {info.name} ({doc}) has a newer version {n} by {info.unconfirmed_author} that "
        f"{status}; you have version {info.version}, the latest confirmed one. "
        f"`kluis get {doc} --version {n} --unconfirmed` opens it anyway."
    )


def not_adopted_note(info: Any) -> str:
    """As the owner: a version by someone else that her client did not sign into her index."""
    n = info.unconfirmed_version or info.version
    who = info.unconfirmed_author or info.author
    return (
        f"Note: version {n} by {who} of {info.name} ({info.document_id[:12]}) was not "
        f"adopted into your index: {info.not_adopted_because}."
    )


@command
def ls(
    dossier: str,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List a dossier's documents; every signature is checked."""
    with client(server, profile) as c:
        dossier_id = c.resolve_dossier(dossier)
        synced = c.sync(dossier_id)  # as the owner: adopt what her grants allow (a write)
        sync_note(synced)
        infos = c.documents(dossier_id, listing=synced.listing)  # one listing fetch, not two
        receipted = c.acknowledge(dossier_id, infos)  # what I received through organisations
    rows = [document_row(i) for i in infos]
    if as_json:
        return print_json(rows)
    table = Columns("id", "name", "version", "size", "date", "author", "signature", names=("name",))
    for r in rows:
        author = r["author"] + ("" if r["author_verified"] else " (unverified)")
        if not r["confirmed_by_owner"]:
            sig = "verified, UNCONFIRMED: not yet in owner's index"
        elif r["newer_unconfirmed_version"]:
            n = r["newer_unconfirmed_version"]
            sig = f"verified; version {n} unconfirmed, not yet in owner's index"
        elif r["newer_version_not_shared"]:
            sig = f"verified, version {r['newer_version_not_shared']} not shared with you"
        else:
            sig = "verified"
        table.add_row(
            r["id"][:12],
            r["name"],
            r["version"],
            size_text(r["size"]),
            when(r["created"]),
            author,
            sig,
        )
    table.print()
    for info in infos:
        if info.not_adopted_because:
            plain(not_adopted_note(info), console=err)
    receipts_note(receipted)
    return None


@command
def get(
    document: str,
    output: Annotated[
        str | None,
        typer.Option(
            "-o", "--output", metavar="PATH", help="Where to write it (ending in /: a folder)."
        ),
    ] = None,
    version: Annotated[
        int | None,
        typer.Option(metavar="N", help="Which version (default: the latest confirmed one)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    unconfirmed: Annotated[
        bool,
        typer.Option(
            "--unconfirmed",
            help="Also open a version the dossier's owner has not confirmed (labelled so).",
        ),
    ] = False,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
) -> None:
    """Download, decrypt and verify a document (the latest version its owner confirmed)."""
    target = Path(output) if output else None
    with client(server, profile) as c:
        document_id = c.resolve_document(document)
        # As the owner: adopt what her grants allow of this document first (a write).
        sync_note(c.sync(c.document_versions(document_id)[0], document_id=document_id))
        with transfer_bars() as bar, writing_to(target or Path.cwd()):
            if output and output.endswith(("/", os.sep)):  # a folder, made if need be
                Path(output).mkdir(parents=True, exist_ok=True)
            info, path = c.get(
                document_id,
                target,
                version=version,
                overwrite=force,
                progress=bar("download", 0),
                unconfirmed=unconfirmed,
            )
        receipted = c.acknowledge(info.dossier_id, [info])  # received through organisations
    if info.confirmed:
        plain(f"{path}  (version {info.version}, by {info.author}, signature verified)")
    else:
        plain(
            f"{path}  (version {info.version}, by {info.author}, signature verified; UNCONFIRMED: "
            f"the dossier's owner has not confirmed this version, so nothing shows that "
            f"{info.author} was allowed to write it)"
        )
    if info.newer_version:
        plain(newer_version_note(info), console=err)
    if info.unconfirmed_version:
        plain(unconfirmed_note(info), console=err)
    receipts_note(receipted)
