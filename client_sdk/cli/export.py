"""`kluis export`: a dossier as standard age files that open without Kluis."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .dossiers import receipts_note, sync_note, unconfirmed_note
from .output import err, plain
from .passphrases import read_secret
from .shared import DEFAULT_SERVER, ProfileOpt, ServerOpt, client, command


@command
def export(
    dossier: str,
    output: Annotated[
        Path, typer.Option("-o", "--output", metavar="DIR", help="Directory to write to.")
    ],
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    passphrase_file: Annotated[
        Path | None,
        typer.Option(
            "--passphrase-file", metavar="FILE", help="Passphrase for the exported key file."
        ),
    ] = None,
) -> None:
    """Export a dossier as standard age files that open without Kluis."""
    passphrase = read_secret(
        "Passphrase to protect the exported key file",
        "KLUIS_EXPORT_PASSPHRASE",
        passphrase_file,
        confirm=True,
    )
    with client(server, profile) as c:
        dossier_id = c.resolve_dossier(dossier)
        synced = c.sync(dossier_id)  # as the owner: adopt what her grants allow (a write)
        sync_note(synced)
        result = c.export(dossier_id, output, passphrase, listing=synced.listing)
        exported = [i for i in result.listed if i.confirmed]
        receipted = c.acknowledge(dossier_id, exported)  # received through organisations
    plain(
        f"Exported {len(result.files)} version(s) of {result.documents} document(s) to "
        f"{result.directory}"
    )
    if result.unconfirmed:
        plain(
            f"Left out {len(result.unconfirmed)} unconfirmed document(s): the dossier's owner "
            "has confirmed no version of them (`kluis ls` marks them UNCONFIRMED).",
            console=err,
        )
    for info in result.newer_unconfirmed:
        plain(unconfirmed_note(info), console=err)
    for info, number, author in result.older_unconfirmed:
        plain(
            f"Left out version {number} of {info.name} (by {author}): the dossier's owner has "
            "not confirmed it (her signed index lists only the latest version of a document).",
            console=err,
        )
    plain(f"Open them all with one passphrase: sh {result.directory / 'open.sh'}  (see README.txt)")
    receipts_note(receipted)
