"""`kluis server`: runs the server as a program of its own (`python -m server`), so the client
never imports the server's code."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer


def server(
    ctx: typer.Context,
    command: Annotated[
        str,
        typer.Argument(
            help="serve, migrate (the database schema), cleanup, or admin (operator commands: "
            "admin verify-org NAME --fingerprint FP, unverify-org NAME, list-orgs)."
        ),
    ] = "serve",
    host: Annotated[
        str, typer.Option(metavar="ADDRESS", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="Port to listen on.")] = 8000,
    data_dir: Annotated[
        Path, typer.Option(metavar="DIR", help="Where the database and blobs live.")
    ] = Path("./data"),
) -> None:
    """Run the Kluis server (settings: KLUIS_* variables, docs/deployment.md)."""
    # A separate program: the client never imports the server's code.
    if command == "admin":  # server/admin.py: the rest of the line is its own
        argv = [sys.executable, "-m", "server", "admin", *ctx.args]
        os.execv(sys.executable, [*argv, "--data-dir", str(data_dir)])  # noqa: S606 (no shell)
    if ctx.args:
        raise typer.BadParameter(f"unexpected arguments: {' '.join(ctx.args)}")
    argv = [sys.executable, "-m", "server", command, "--host", host, "--port", str(port)]
    os.execv(sys.executable, [*argv, "--data-dir", str(data_dir)])  # noqa: S606 (no shell)
