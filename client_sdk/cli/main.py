"""The `kluis` program: every command, in the order `kluis --help` lists them.

Each command lives in the module of its group; this module only puts them on the app. None of
them imports the client or the vault's cryptography at the top, so building the app (for
`--help`, or before running one command) stays cheap.

Adding a command group (one block per module, appended, so that blocks merge side by side):

1. Write `client_sdk/cli/NAME.py` importing at its top only `typer`, `rich.markup` and this
   package's light modules (`shared`, `output`, `passphrases`, `names`); import the client
   (`shared.client`), `vault` and httpx inside the command functions (issue 21: every import
   at the top is paid by every `kluis` command, `--help` included; `tests/client_sdk/
   test_cli_units.py` checks what `--help` loads).
2. Add `NAME` to the `from . import (...)` list below, and at the end of the registrations
   either `app.command()(NAME.command)` for a top-level command or a block of its own:

       NAME_app = typer.Typer(help="...", no_args_is_help=True)
       NAME_app.command("verb")(NAME.NAME_verb)
       app.add_typer(NAME_app, name="NAME")
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated, Any

import typer

from . import (
    accounts,
    activity,
    business,
    demo,
    dossiers,
    evidence,
    export,
    groups,
    keys,
    notify,
    organisations,
    server,
    sharing,
    web,
    witness,
)
from .coercion import use_plain_coercion
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
use_plain_coercion()


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
    evidence.evidence,
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

# -- village groups and personal messages (client_sdk/cli/groups.py) --------------------------
group_app = typer.Typer(
    help="Village groups: create them, invite and accept, members, remove.", no_args_is_help=True
)
group_app.command("create")(groups.group_create)
group_app.command("invite")(groups.group_invite)
group_app.command("accept")(groups.group_accept)
group_app.command("remove")(groups.group_remove)
group_app.command("archive")(groups.group_archive)
group_app.command("members")(groups.group_members)
group_app.command("ls")(groups.group_ls)
app.add_typer(group_app, name="group")
for village_command in (
    groups.post,
    groups.news,
    groups.chat,
    groups.msg,
    groups.agenda,
    groups.event,
):
    app.command()(village_command)

business_app = typer.Typer(
    help="The business directory: publish your organisation's profile, search businesses.",
    no_args_is_help=True,
)
business_app.command("profile")(business.business_profile)
business_app.command("search")(business.business_search)
app.add_typer(business_app, name="business")

notify_app = typer.Typer(
    help="E-mail notifications: a mail when something new is waiting for you.",
    no_args_is_help=True,
)
notify_app.command("on")(notify.notify_on)
notify_app.command("off")(notify.notify_off)
notify_app.command("status")(notify.notify_status)
app.add_typer(notify_app, name="notify")

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
    # httpx imports its own command line at import time (click, pygments, rich.syntax), which
    # `kluis` never runs: marked absent, httpx falls back to a stub and every command that
    # talks to a server starts about 0.03 CPU-seconds sooner (docs/performance.md, issue 21).
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    use_the_users_date_format()
    app()
