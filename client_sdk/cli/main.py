"""The `kluis` program: every command, in the order `kluis --help` lists them.

Each command lives in the module of its group; this module only puts them on the app. None of
them imports the client or the vault's cryptography at the top, so building the app (for
`--help`, or before running one command) stays cheap.
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated, Any

import typer

from . import (
    accounts,
    activity,
    demo,
    dossiers,
    export,
    keys,
    organisations,
    server,
    sharing,
    web,
    witness,
)
from .output import use_the_users_date_format
from .shared import kluis_version

app = typer.Typer(
    name="kluis",
    help="Kluis: an end-to-end encrypted vault for your damage dossier.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"kluis {kluis_version()}\n")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            expose_value=True,
            help="Show Kluis's version and exit.",
        ),
    ] = False,
) -> None:
    """Kluis: an end-to-end encrypted vault for your damage dossier."""


def _plain_parameter_help() -> None:
    """Help as people read it: `--force`, `DOCUMENT`, `--output PATH`.

    typer 0.29 shows the Python type of every parameter (`--force <bool>`, `document <str>`)
    and a required argument as `{document}`. For this program only, and only where typer has
    these methods, a flag shows no type, an option its metavar, and an argument its name in
    capitals (in brackets if it may be left out)."""
    core = importlib.import_module("typer.core")
    argument, option = getattr(core, "TyperArgument", None), getattr(core, "TyperOption", None)

    def arg_name(self: Any) -> str:
        return str(self.metavar or self.name or "").upper()

    def arg_usage(self: Any) -> str:
        name = arg_name(self) if self.required else f"[{arg_name(self)}]"
        return name + ("..." if self.nargs != 1 else "")

    def arg_display(self: Any) -> str:
        return arg_name(self) + ("..." if self.nargs != 1 else "")

    if argument is not None and hasattr(argument, "_usage_display_name"):
        argument._usage_display_name = arg_usage
        argument._rich_display_name = arg_display
        argument.display_name_raw = property(arg_name)
        argument.display_type_rich = lambda self, ctx: None
    if option is not None and hasattr(option, "display_type_rich"):
        typed = option.display_type_rich

        def option_display(self: Any, ctx: Any) -> str | None:
            if self.is_flag:
                return None
            if self.metavar is not None:
                return str(self.metavar)
            shown = typed(self, ctx)
            return shown.strip("<>").upper() if isinstance(shown, str) else shown

        option.display_type_rich = option_display


_plain_parameter_help()


app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(
    server.server
)
for each_command in (
    accounts.register,
    accounts.login,
    accounts.logout,
    accounts.whoami,
    accounts.passwd,
    accounts.recover,
    accounts.fingerprint,
    accounts.verify,
    dossiers.add,
    dossiers.update,
    dossiers.ls,
    dossiers.get,
    sharing.share,
    sharing.revoke,
    sharing.shared,
    activity.log,
    export.export,
    demo.demo,
    activity.inbox,
    activity.receipts,
):
    app.command()(each_command)

dossier_app = typer.Typer(help="Create and list dossiers.", no_args_is_help=True)
dossier_app.command("create")(dossiers.dossier_create)
dossier_app.command("list")(dossiers.dossier_list)
app.add_typer(dossier_app, name="dossier")

org_app = typer.Typer(
    help="Organisations: create them, manage members, check their fingerprints.",
    no_args_is_help=True,
)
org_app.command("create")(organisations.org_create)
org_app.command("add-member")(organisations.org_add_member)
org_app.command("remove-member")(organisations.org_remove_member)
org_app.command("list")(organisations.org_list)
org_app.command("show")(organisations.org_show)
org_app.command("verify")(organisations.org_verify)
app.add_typer(org_app, name="org")

# the key transparency log (client_sdk/cli/keys.py)
keys_app = typer.Typer(
    help="The key transparency log: key history, self-monitoring.", no_args_is_help=True
)
keys_app.command("history")(keys.keys_history)
keys_app.command("audit")(keys.keys_audit)
app.add_typer(keys_app, name="keys")
app.command("checkpoint")(keys.checkpoint)

web_app = typer.Typer(
    help="The web app: serve this package's on this computer, or check what a server sends.",
    invoke_without_command=True,
)
web_app.callback()(web.web_serve)
web_app.command("verify")(web.web_verify)
app.add_typer(web_app, name="web")

app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)(witness.witness)


def main() -> None:
    use_the_users_date_format()
    app()
