"""`kluis demo`: the whole flow against a throw-away server, or (--web) a server with the web
app and three seeded accounts."""

from __future__ import annotations

from typing import Annotated

import typer

from .output import out
from .shared import command


@command
def demo(
    web: Annotated[
        bool,
        typer.Option(
            "--web",
            help="Instead: start a server with the web app and a resident, a contractor and a "
            "municipality account, print the address and passphrase, run until Ctrl+C.",
        ),
    ] = False,
) -> None:
    """Walk through Kluis with a temporary server: upload, share, open, log, revoke."""
    if web:
        from ..demo_web import run_web_demo

        return run_web_demo(out)
    from ..demo import run_demo

    run_demo(out)
    return None
