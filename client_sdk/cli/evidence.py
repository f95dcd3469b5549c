"""`kluis evidence`: a folder that proves, without Kluis, that a document existed by a time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .output import plain
from .shared import DEFAULT_SERVER, ProfileOpt, ServerOpt, client, command


@command
def evidence(
    document: str,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", metavar="DIR", help="New folder to write (default: bewijs-NAME)."
        ),
    ] = None,
    version: Annotated[
        int | None,
        typer.Option(metavar="N", help="Which version (default: the latest confirmed one)."),
    ] = None,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
) -> None:
    """Write an evidence package: proof, checkable without Kluis, that a document existed by
    a time (needs KLUIS_LOG_KEY, and KLUIS_LOG_WITNESSES for a time the witnesses vouch for)."""
    # Imported here: building the app for --help stays cheap (client_sdk/cli/main.py).
    from client_sdk.evidence import dutch_time, english_time

    with client(server, profile) as c:
        document_id = c.resolve_document(document)
        target = output or Path(f"bewijs-{document_id[:8]}")
        path, proof = c.evidence_package(document_id, target, version=version)
    when = proof.proven.existed_by
    plain(f"{path.parent}  (version {proof.record.version}, every proof checked)")
    if when is None:
        plain("In het logboek; geen getuigen vereist, dus geen tijd. / In the log; no time.")
    else:
        plain(f"Dit bestand bestond uiterlijk op {dutch_time(when)}.")
        plain(f"This file existed no later than {english_time(when)}.")
    plain(f"Zelf controleren / check it yourself: python3 {path.parent / 'verify.py'}")
