"""`kluis web`: the web app. `kluis web --server URL [--port P]` serves the one this package
ships on this computer against a remote server; `kluis web verify URL` checks what a server
sends."""

from __future__ import annotations

from typing import Annotated

import typer

from .output import plain
from .shared import command

DEFAULT_PORT = 8765  # client_sdk.webserve.DEFAULT_PORT (not imported here: `--help` stays cheap)


@command
def web_verify(url: str) -> None:
    """Compare the web app a server sends with the one in this Kluis package (exit 3 when not)."""
    from client_sdk.webverify import web_verify_command

    web_verify_command(url, echo=plain)


@command
def web_serve(
    ctx: typer.Context,
    server: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="The Kluis server the page talks to (it must allow this page's origin: "
            "KLUIS_WEB_ORIGINS).",
        ),
    ] = None,
    port: Annotated[
        int, typer.Option(metavar="PORT", help="Port on 127.0.0.1 (0: any free port).")
    ] = DEFAULT_PORT,
) -> None:
    """The web app of this Kluis package, checked and served on 127.0.0.1 against --server URL
    (exit 3 when the installed files were changed); or a subcommand."""
    if ctx.invoked_subcommand is not None:
        if server is not None:
            raise typer.BadParameter("--server is for `kluis web` itself, not for a subcommand")
        return
    if server is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(2)
    from client_sdk.webserve import web_serve_command

    web_serve_command(server, port, echo=plain)
