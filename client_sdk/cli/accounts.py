"""Accounts on this device: register, login, logout, whoami, passwd, recover, and the
fingerprints of other people (fingerprint, verify)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from ..typed import typed_username
from .output import err, out, plain
from .passphrases import new_passphrase, read_recovery_code, read_secret, show_generated
from .shared import (
    DEFAULT_SERVER,
    GenerateOpt,
    NewPassFileOpt,
    PassFileOpt,
    ProfileOpt,
    ServerOpt,
    client,
    command,
    no_such_user_hint,
)


@command
def register(
    username: str,
    display_name: Annotated[
        str, typer.Option(metavar="NAME", help="Name shown to people you share with.")
    ] = "",
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    passphrase_file: PassFileOpt = None,
    generate: GenerateOpt = False,
) -> None:
    """Create an account. Prints your recovery code once: write it down."""
    from vault.recovery import format_recovery_code

    username = typed_username(username)
    passphrase, generated = new_passphrase(
        "Choose a passphrase", "KLUIS_PASSPHRASE", passphrase_file, username, generate=generate
    )
    with client(server, profile) as c:
        code = c.register(username, passphrase, display_name)
        out.print(f"Account [bold]{escape(username)}[/bold] created. Your fingerprint:")
        out.print(f"  {c.whoami().fingerprint}")
    if generated:
        show_generated(passphrase)
    out.print(
        "\nYour RECOVERY CODE. Write it on paper now and keep it somewhere safe. It is shown only"
        "\nthis once. Without it and without your passphrase, nobody can open your dossiers,"
        "\nnot even Kluis.\n"
    )
    out.print(format_recovery_code(code.words), markup=False, highlight=False)


@command
def login(
    username: str,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    passphrase_file: PassFileOpt = None,
) -> None:
    """Log in on this device."""
    from vault.passphrase import judge_passphrase

    username = typed_username(username)
    passphrase = read_secret("Passphrase", "KLUIS_PASSPHRASE", passphrase_file)
    with client(server, profile) as c:
        identity = c.login(username, passphrase)
    out.print(f"Logged in as [bold]{escape(username)}[/bold] ({identity.fingerprint})")
    verdict = judge_passphrase(passphrase, [username])
    if not verdict.accepted:  # set before the rule existed (threat L17): say so, lock no one out
        err.print(
            f"note: this passphrase would be refused today ({verdict.message()}); "
            "whoever runs the server could guess it: change it with `kluis passwd`",
            markup=False,
            highlight=False,
        )


@command
def logout(server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None) -> None:
    """Log out and remove the unlocked keys from this device."""
    with client(server, profile) as c:
        c.logout()
    out.print("Logged out.")


@command
def whoami(server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None) -> None:
    """Show who you are logged in as, and your fingerprint."""
    with client(server, profile) as c:
        me = c.whoami(check=True)  # a session ended elsewhere is no login
    plain(f"{me.username}\nfingerprint: {me.fingerprint}")


@command
def passwd(
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    passphrase_file: PassFileOpt = None,
    new_passphrase_file: NewPassFileOpt = None,
    generate: GenerateOpt = False,
) -> None:
    """Change your passphrase (your keys and shares stay the same)."""
    with client(server, profile) as c:
        username = c.session.username
        current = read_secret("Current passphrase", "KLUIS_PASSPHRASE", passphrase_file)
        new, generated = new_passphrase(
            "New passphrase", "KLUIS_NEW_PASSPHRASE", new_passphrase_file, username,
            generate=generate,
        )  # fmt: skip
        c.change_passphrase(current, new)
    out.print(
        "Passphrase changed. Your other devices are logged out: log in there with the new one."
    )
    if generated:
        show_generated(new)


@command
def recover(
    username: str,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    new_passphrase_file: NewPassFileOpt = None,
    generate: GenerateOpt = False,
) -> None:
    """Regain access with your recovery code and choose a new passphrase."""
    username = typed_username(username)
    from vault.recovery import parse_recovery_code

    code = read_recovery_code()
    parse_recovery_code(code)  # a typo is reported before the new passphrase is asked for
    # KLUIS_NEW_PASSPHRASE as for `passwd`; KLUIS_PASSPHRASE still works for older scripts.
    new, generated = new_passphrase(
        "New passphrase",
        "KLUIS_NEW_PASSPHRASE",
        new_passphrase_file,
        username,
        generate=generate,
        fallback_env="KLUIS_PASSPHRASE",
    )
    with client(server, profile) as c:
        identity = c.recover(username, code, new)
    out.print(f"Access restored for [bold]{escape(username)}[/bold] ({identity.fingerprint}).")
    if generated:
        show_generated(new)


@command
def fingerprint(
    username: str, server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None
) -> None:
    """Show a user's fingerprint and whether you verified it."""
    username = typed_username(username)
    with client(server, profile) as c, no_such_user_hint(c, username):
        contact = c.fingerprint(username)
    state = "verified" if contact.verified else "NOT verified (pinned on first use)"
    plain(f"{username}\nfingerprint: {contact.identity.fingerprint}\nstatus: {state}")
    if not contact.verified:
        plain(
            f"Compare it with {username} in person or with a letter, then run "
            f"`kluis verify {username} '<fingerprint>'`."
        )


@command
def verify(
    username: str, fingerprint: str, server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None
) -> None:
    """Mark a user's keys as verified after comparing the fingerprint out of band."""
    username = typed_username(username)
    with client(server, profile) as c, no_such_user_hint(c, username):
        c.verify_contact(username, fingerprint)
    plain(f"{username} is verified on this device.")
