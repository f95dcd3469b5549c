"""`kluis witness`: run a witness for one or more Kluis logs (C2SP tlog-witness)."""

from __future__ import annotations

import typer


def witness(ctx: typer.Context) -> None:
    """Run a witness for Kluis logs (C2SP tlog-witness); see `kluis witness --help`."""
    # The witness is its own small program with its own options (argparse), like `kluis server`.
    from client_sdk.witness import run

    raise typer.Exit(run(ctx.args))
