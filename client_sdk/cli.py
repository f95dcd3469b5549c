"""The `kluis` command line.

Exit status (`exit_status`): 0 success; 1 what the user can fix: a mistake in what they typed
(naming what they typed), an unknown user or dossier, a wrong passphrase, a server that cannot be
reached, a local file or folder that cannot be read or written; 3 only what a lying or broken
server could cause: a security check failed (integrity, signature, key mismatch, rollback,
downgrade), named in the message, and then no output file is written; 70 (EX_SOFTWARE) a bug in
Kluis, with a request to report it; 130 interrupted.

Names people type (usernames, organisation names, `@name`) are case-insensitive: A-Z are folded
to a-z before use (client_sdk.typed).

Every command takes `--server URL` (env KLUIS_SERVER) and `--profile DIR` (env KLUIS_PROFILE).
Passphrases come from a prompt, or from env KLUIS_PASSPHRASE or `--passphrase-file`. A new one
(register, passwd, recover) must pass the passphrase rule (docs/format.md section 18), or can be
generated: `--generate-passphrase`, or an empty answer at the prompt.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import json
import locale
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TransferSpeedColumn,
)

from vault.errors import ExpiredError, SecurityError, VaultError
from vault.kdf import check_passphrase
from vault.passphrase import generate_passphrase, judge_passphrase
from vault.recovery import (
    RECOVERY_WORD_COUNT,
    format_recovery_code,
    parse_recovery_code,
    recovery_words,
)

from .client import Client
from .documents import storable_file
from .errors import AmbiguousId, ClientError, NotFound, Unauthorized
from .terminal import read_hidden_lines
from .typed import typed_recipient, typed_username

DEFAULT_SERVER = "http://127.0.0.1:8000"
EXIT_USER_ERROR = 1
EXIT_SECURITY = 3
EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h): a bug in Kluis
EXIT_INTERRUPTED = 130
MAX_EXPIRY_DAYS = 10 * 366  # a share ends within ten years, or never (no --expires)
SESSION_EXPIRED = "not logged in (or session expired): run `kluis login USERNAME`"

app = typer.Typer(
    name="kluis",
    help="Kluis: an end-to-end encrypted vault for your damage dossier.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
dossier_app = typer.Typer(help="Create and list dossiers.", no_args_is_help=True)
app.add_typer(dossier_app, name="dossier")


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

# Names, titles and usernames come from other people and from the server: they are printed as
# Text or escaped, never read as rich markup, and `:name:` in them is no emoji code.
out = Console(soft_wrap=True, emoji=False)
err = Console(stderr=True, soft_wrap=True, emoji=False)

ServerOpt = Annotated[
    str,
    typer.Option("--server", envvar="KLUIS_SERVER", metavar="URL", help="Kluis server address."),
]
ProfileOpt = Annotated[
    Path | None,
    typer.Option(
        "--profile",
        envvar="KLUIS_PROFILE",
        metavar="DIR",
        help="Profile directory of this device.",
    ),
]
PassFileOpt = Annotated[
    Path | None,
    typer.Option("--passphrase-file", metavar="FILE", help="Read the passphrase from this file."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
GenerateOpt = Annotated[
    bool,
    typer.Option(
        "--generate-passphrase", help="Let Kluis make a strong passphrase (shown once) and use it."
    ),
]

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = EXIT_USER_ERROR) -> NoReturn:
    err.print(message, markup=False, highlight=False)
    raise typer.Exit(code)


def os_error_text(exc: OSError) -> str:
    """`path: No such file or directory`, not `[Errno 2] No such file or directory: 'path'`."""
    if exc.strerror and exc.filename is not None:
        names = [str(exc.filename)] + ([str(exc.filename2)] if exc.filename2 else [])
        return f"{' -> '.join(names)}: {exc.strerror}"
    return exc.strerror or str(exc) or type(exc).__name__


def exit_status(exc: BaseException) -> tuple[int, str]:
    """The exit status and the message for an exception that ends a command.

    3 only for a security failure, which only a lying or broken server causes: what the user
    types is checked before it reaches code that raises those (client_sdk.typed). Everything
    else the user can do something about is 1. Anything unforeseen is a bug in Kluis: 70."""
    if isinstance(exc, SecurityError):
        return EXIT_SECURITY, f"SECURITY CHECK FAILED ({type(exc).__name__}): {exc}"
    if isinstance(exc, Unauthorized):
        # Login and recovery turn their own refusals into WrongPassphrase; any other 401
        # means the session this device holds is missing, expired or ended elsewhere.
        return EXIT_USER_ERROR, f"error: {SESSION_EXPIRED}"
    if isinstance(exc, AmbiguousId) and exc.candidates:  # one line for each to choose from
        rows = [
            f"  {i[:12]}  {shorten(label.translate(_CONTROLS), 60)}" for i, label in exc.candidates
        ]
        return EXIT_USER_ERROR, "\n".join([f"error: {exc}", *rows])
    if isinstance(exc, VaultError):  # ClientError, WrongPassphrase, ExpiredError, ...
        return EXIT_USER_ERROR, f"error: {exc}"
    if isinstance(exc, OSError):  # this computer's files and folders
        return EXIT_USER_ERROR, f"error: {os_error_text(exc)}"
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted"
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return EXIT_INTERNAL, (
        f"internal error ({detail}): this is a bug in Kluis, not a mistake of yours and not a "
        f"failed security check. Please report it, with the command you ran and this message "
        f"(kluis {kluis_version()}); KLUIS_DEBUG=1 shows the details."
    )


# typer's own exceptions carry an exit status or a usage error of their own: passed through.
_TYPER_OWN: tuple[type[BaseException], ...] = (
    typer.Exit,
    typer.Abort,
    next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"),
)


def command(func: F) -> F:
    """Run a command; an exception that ends it is reported as `exit_status` says."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except _TYPER_OWN:
            raise
        except (Exception, KeyboardInterrupt) as exc:
            code, message = exit_status(exc)
            if code == EXIT_INTERNAL and os.environ.get("KLUIS_DEBUG"):
                err.print_exception()
            fail(message, code)

    return wrapper  # type: ignore[return-value]


def kluis_version() -> str:
    try:
        return importlib.metadata.version("kluis")
    except importlib.metadata.PackageNotFoundError:
        return "(version unknown)"


def client(server: str, profile: Path | None) -> Client:
    return Client(server, str(profile) if profile else None)


@contextmanager
def no_such_user_hint(c: Client, username: str) -> Iterator[None]:
    """A user the server does not know, whose name an organisation has: say to write `@name`."""
    try:
        yield
    except NotFound:
        if not c.user_exists(username) and c.organisation_exists(username):
            fail(
                f"error: there is no user {username!r}; {username} is an organisation: write "
                f"@{username} to share with it (`kluis org show {username}` shows its fingerprint)"
            )
        raise


def read_secret(
    prompt: str,
    env: str,
    path: Path | None,
    *,
    confirm: bool = False,
    allow_env: bool = True,
    fallback_env: str | None = None,
) -> str:
    """A passphrase from `path`, else the environment, else a hidden prompt (asked again, with
    the reason, while it is empty or the confirmation differs)."""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            fail(f"error: {path} is not UTF-8 text: write the passphrase in it as plain text")
        if not text:
            fail(f"error: {path} is empty: write the passphrase in it, on its first line")
        return usable_passphrase(text, str(path))
    for name in (env, fallback_env):
        if allow_env and name and os.environ.get(name):
            return usable_passphrase(os.environ[name], name)
    if not sys.stdin.isatty():
        fail(f"error: no passphrase: set {env}, use --passphrase-file, or run in a terminal")
    while True:
        value: str = typer.prompt(prompt, default="", show_default=False, hide_input=True)
        if not value:
            err.print(
                "nothing was typed (what you type is not shown): type the passphrase, or press "
                "Ctrl-C to stop",
                markup=False,
                highlight=False,
            )
            continue
        value = usable_passphrase(value, "the prompt")
        if not confirm:
            return value
        again: str = typer.prompt(
            "Repeat for confirmation", default="", show_default=False, hide_input=True
        )
        if again == value:
            return value
        err.print("the two entries do not match", markup=False, highlight=False)


def usable_passphrase(value: str, source: str) -> str:
    """`value`, if it is text a key can be derived from (vault.kdf): a user error otherwise."""
    try:
        check_passphrase(value)
    except ValueError as exc:
        fail(f"error: the passphrase from {source}: {exc}")
    return value


def read_recovery_code() -> str:
    """KLUIS_RECOVERY_CODE, or the code typed or pasted at a hidden prompt as printed: over as
    many lines as it takes, up to the 24th word or an empty line."""
    code = os.environ.get("KLUIS_RECOVERY_CODE")
    if code:
        return code
    if not sys.stdin.isatty():
        fail("error: no recovery code: set KLUIS_RECOVERY_CODE, or run in a terminal")
    return read_hidden_lines(
        "Recovery code (24 words, as printed): ",
        lambda text: len(recovery_words(text)) >= RECOVERY_WORD_COUNT,
    )


def new_passphrase(
    prompt: str,
    env: str,
    path: Path | None,
    username: str,
    *,
    generate: bool,
    fallback_env: str | None = None,
) -> tuple[str, bool]:
    """The passphrase to set, and whether Kluis generated it (then show it once, after success).

    From a file or the environment it is taken as given: the SDK refuses a weak one (exit 1).
    At a terminal an empty answer generates one, and one the rule refuses is explained and
    asked for again before anything is sent."""
    if generate:
        if path is not None:
            fail("error: use either --generate-passphrase or a new passphrase file, not both")
        return generate_passphrase(context=[username]), True
    if path is not None or any(os.environ.get(name) for name in (env, fallback_env) if name):
        return read_secret(prompt, env, path, fallback_env=fallback_env), False
    if not sys.stdin.isatty():
        fail(f"error: no passphrase: set {env}, use --passphrase-file, or run in a terminal")
    while True:
        value: str = typer.prompt(
            f"{prompt} (empty: Kluis makes one)", default="", show_default=False, hide_input=True
        )
        if not value:
            return generate_passphrase(context=[username]), True
        verdict = judge_passphrase(value, [username])
        if not verdict.accepted:
            err.print(f"passphrase refused: {verdict.message()}", markup=False, highlight=False)
            continue
        again: str = typer.prompt(
            "Repeat for confirmation", default="", show_default=False, hide_input=True
        )
        if again == value:
            return value, False
        err.print("the two entries do not match", markup=False, highlight=False)


def show_generated(passphrase: str) -> None:
    out.print(
        "\nYour new PASSPHRASE, made by Kluis and shown only once. Write it down, or keep it in a"
        "\npassword manager:"
    )
    out.print(f"  {passphrase}", markup=False, highlight=False)


def parse_expiry(text: str | None) -> int:
    """`30d`, `12h`, `2w` from now, or a date `2027-01-31` (the end of that day on this
    computer's clock, as `when` shows times); at most MAX_EXPIRY_DAYS ahead, and in the
    future."""
    if not text:
        return 0
    current = int(time.time())
    match = re.fullmatch(r"(\d+)\s*([hdw])", text.strip().lower())
    if match:
        hours = {"h": 1, "d": 24, "w": 24 * 7}[match.group(2)]
        count = int(match.group(1))
        if count == 0:
            fail(f"error: the expiry {text!r} is not in the future: use for example 30d, 12h or 2w")
        if count * hours > MAX_EXPIRY_DAYS * 24:
            too_far(text)
        return current + count * hours * 3600
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d")
        end = int(day.replace(hour=23, minute=59, second=59).astimezone().timestamp())
    except (ValueError, OverflowError, OSError):
        fail(f"error: cannot read the expiry {text!r}: use for example 30d, 12h, 2w or 2027-01-31")
    if end <= current:
        fail(f"error: the expiry date {text!r} has passed: a share must expire in the future")
    if end > current + MAX_EXPIRY_DAYS * 24 * 3600:
        too_far(text)
    return end


def too_far(text: str) -> NoReturn:
    fail(
        f"error: the expiry {text!r} is more than {MAX_EXPIRY_DAYS // 366} years away: choose "
        "a nearer one, or leave out --expires for a share that lasts until you revoke it"
    )


def date_format(lc_time: str) -> str:
    """The date as the locale `lc_time` writes it (`%x`), or 2026-11-28 where no locale is
    chosen (C, POSIX: `%x` would be the American 11/28/26)."""
    plain = lc_time.split(".")[0].split("@")[0] in ("", "C", "POSIX")
    return "%Y-%m-%d" if plain else "%x"


DATE_FORMAT = "%Y-%m-%d"  # `main` sets the user's: date_format(LC_TIME)


def when(ts: int) -> str:
    """A time on this computer's clock (its time zone), the date as the user's locale writes
    it; any value the server or a signed grant carries prints without error."""
    if not ts:
        return "-"
    try:
        local = datetime.fromtimestamp(ts, UTC).astimezone()
        return local.strftime(f"{DATE_FORMAT} %H:%M")
    except (OverflowError, OSError, ValueError):
        return "after 9999-12-31" if ts > 0 else "before 0001-01-01"


def size_text(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def plain(text: str, console: Console = out) -> None:
    """Print a line literally: no markup, no highlighting (it may hold names from others)."""
    console.print(text, markup=False, highlight=False)


# C0 and C1 control characters, DEL: a name from someone else must not steer the terminal.
_CONTROLS = dict.fromkeys([*range(0x20), *range(0x7F, 0xA0)], "\ufffd")


NAME_CELLS = 40  # the widest a name or title is shown in a table; --json has it whole


def shorten(text: str, cells: int = NAME_CELLS) -> str:
    """`text` in at most `cells` cells on screen: its start, an ellipsis, and its last few
    characters (a file name keeps its extension)."""
    if (len(text) if text.isascii() else cell_len(text)) <= cells:
        return text
    tail = ""
    for char in reversed(text[-10:]):
        if cell_len(char + tail) > cells // 4:
            break
        tail = char + tail
    room = cells - 1 - cell_len(tail)
    head = ""
    for char in text:
        if cell_len(head + char) > room:
            break
        head += char
    return f"{head}\u2026{tail}"


class Columns:
    """A plain table: each column padded to its widest cell, nothing wrapped or styled.

    Every cell prints literally (names come from other people: no markup, and control
    characters shown as U+FFFD). Plain because a listing may have ten thousand rows, which
    rich's Table lays out in 15 seconds and squeezes into the terminal's width. The columns
    named in `names` hold names and titles, which may be long (a file name up to 255
    characters, a title 1024): they are shortened to NAME_CELLS with an ellipsis, so that one
    long name does not widen the whole table."""

    def __init__(self, *header: str, names: tuple[str, ...] = ()) -> None:
        self.rows: list[list[str]] = [list(header)]
        self.short = [column in names for column in header]

    def add_row(self, *values: object) -> None:
        cells = (str(v).translate(_CONTROLS) for v in values)
        self.rows.append([shorten(c) if s else c for c, s in zip(cells, self.short, strict=True)])

    def print(self) -> None:
        # Width on screen: wide characters (地震.jpg) take two cells; ASCII is the fast path.
        shown = [[len(c) if c.isascii() else cell_len(c) for c in row] for row in self.rows]
        widths = [max(row[i] for row in shown) for i in range(len(shown[0]))]

        def line(row: list[str], lengths: list[int]) -> str:
            padded = (c + " " * (w - n) for c, n, w in zip(row, lengths, widths, strict=True))
            return "  ".join(padded).rstrip() + "\n"

        sys.stdout.write("".join(map(line, self.rows, shown)))


def print_json(data: Any) -> None:
    """A list prints one item per line: readable, and each line goes through the C encoder
    (`indent` would use the pure-Python one, half a second for 10,000 documents). Not rich's
    highlighted JSON either, for the same reason."""
    if isinstance(data, list):
        items = ",\n".join(json.dumps(item, ensure_ascii=False) for item in data)
        sys.stdout.write(f"[\n{items}\n]\n" if items else "[]\n")
    else:
        sys.stdout.write(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


@contextmanager
def transfer_bars() -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    """Progress bars on stderr: `bar(label, total)` returns the callback for one transfer.
    Only on a terminal: elsewhere (a script, a log file) they would leave an empty line."""
    if not err.is_terminal:
        yield lambda label, total: lambda done: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        transient=True,
    ) as bars:

        def bar(label: str, total: int) -> Callable[[int], None]:
            task = bars.add_task(label, total=total or None)
            return lambda done: bars.update(task, completed=done)

        yield bar


# -- server ------------------------------------------------------------------------------------
@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
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


# -- accounts ----------------------------------------------------------------------------------
@app.command()
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


@app.command()
@command
def login(
    username: str,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    passphrase_file: PassFileOpt = None,
) -> None:
    """Log in on this device."""
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


@app.command()
@command
def logout(server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None) -> None:
    """Log out and remove the unlocked keys from this device."""
    with client(server, profile) as c:
        c.logout()
    out.print("Logged out.")


@app.command()
@command
def whoami(server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None) -> None:
    """Show who you are logged in as, and your fingerprint."""
    with client(server, profile) as c:
        me = c.whoami(check=True)  # a session ended elsewhere is no login
    plain(f"{me.username}\nfingerprint: {me.fingerprint}")


@app.command()
@command
def passwd(
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    passphrase_file: PassFileOpt = None,
    new_passphrase_file: Annotated[
        Path | None,
        typer.Option("--new-passphrase-file", metavar="FILE", help="Read the new passphrase here."),
    ] = None,
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


@app.command()
@command
def recover(
    username: str,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    new_passphrase_file: Annotated[
        Path | None,
        typer.Option("--new-passphrase-file", metavar="FILE", help="Read the new passphrase here."),
    ] = None,
    generate: GenerateOpt = False,
) -> None:
    """Regain access with your recovery code and choose a new passphrase."""
    username = typed_username(username)
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


@app.command()
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


@app.command()
@command
def verify(
    username: str, fingerprint: str, server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None
) -> None:
    """Mark a user's keys as verified after comparing the fingerprint out of band."""
    username = typed_username(username)
    with client(server, profile) as c, no_such_user_hint(c, username):
        c.verify_contact(username, fingerprint)
    plain(f"{username} is verified on this device.")


# -- dossiers ----------------------------------------------------------------------------------
@dossier_app.command("create")
@command
def dossier_create(
    title: str, server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None
) -> None:
    """Create a dossier; prints its id."""
    with client(server, profile) as c:
        plain(c.create_dossier(title))


@dossier_app.command("list")
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


# -- documents ---------------------------------------------------------------------------------
@app.command()
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
        epoch_note(c.sync(dossier_id))
        with transfer_bars() as bar:
            infos = c.add_many(
                dossier_id,
                files,
                title=title,
                progress=lambda path: bar(path.name, path.stat().st_size),
            )
    for info in infos:
        plain(f"{info.document_id}  {info.name}  ({size_text(info.size)})")


def epoch_note(epoch: int) -> None:
    """Say that `Client.sync` started a new dossier epoch before writing."""
    if epoch:
        plain(
            f"Started key epoch {epoch}: an organisation you share this dossier with removed a "
            "member, who cannot read what is added from now on.",
            console=err,
        )


def refuse_copies(copies: list[tuple[Path, Any]]) -> None:
    """Issue 15, point 8: a file the dossier holds already is not silently added again."""
    if not copies:
        return
    if len(copies) == 1:
        [(path, info)] = copies
        fail(
            f"error: {path.name} is already in this dossier as document {info.document_id[:12]} "
            f"(version {info.version}: the same name, size and date). A new version of it: "
            f"`kluis update {info.document_id[:12]} {path}`; another document anyway: --again"
        )
    held = ", ".join(f"{path.name} ({info.document_id[:12]})" for path, info in copies)
    fail(
        f"error: {len(copies)} files are already in this dossier (the same name, size and date): "
        f"{held}. A new version of one: `kluis update ID FILE`; new documents anyway: --again"
    )


@app.command()
@command
def update(
    document: str, file: Path, server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None
) -> None:
    """Add a new version of a document."""
    storable_file(file)  # before anything goes to the server
    with client(server, profile) as c:
        document_id = c.resolve_document(document)
        epoch_note(c.sync(c.document_versions(document_id)[0]))
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


@app.command()
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
        infos = c.documents(dossier_id)
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


def receipts_note(organisations: list[str]) -> None:
    """Say which organisations signed a receipt for what was just opened through them."""
    for name in organisations:
        plain(f"Signed a receipt for @{name} of what you received through it.", console=err)


@app.command()
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
        with transfer_bars() as bar:
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


# -- sharing -----------------------------------------------------------------------------------
@app.command()
@command
def share(
    target: str,
    username: str,
    write: Annotated[bool, typer.Option("--write", help="Also allow adding documents.")] = False,
    expires: Annotated[
        str | None, typer.Option(metavar="WHEN", help="For example 30d, 2w or 2027-01-31.")
    ] = None,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    allow_unverified: Annotated[
        bool, typer.Option("--allow-unverified", help="Share with an unverified organisation.")
    ] = False,
) -> None:
    """Share a dossier or one document with a user, or with an organisation as @NAME."""
    if username.startswith("@"):  # an organisation: client_sdk/org_cli.py
        from .org_cli import share_with_organisation

        name = typed_recipient(username)
        expires_at = parse_expiry(expires)
        return share_with_organisation(target, name, write, expires_at, allow_unverified,
                                       server, profile)  # fmt: skip
    username = typed_username(username)
    expires_at = parse_expiry(expires)
    with client(server, profile) as c, no_such_user_hint(c, username):
        result = c.share(target, username, write=write, expires_at=expires_at)
    who = result.recipient
    plain(f"Shared with {who.username} ({result.grants} key(s) wrapped for {who.fingerprint}).")
    if result.unconfirmed:
        because = f" ({result.not_adopted_because})" if result.not_adopted_because else ""
        plain(
            f"Note: version {', '.join(map(str, result.unconfirmed))} of this document was not "
            f"shared: you have not confirmed it{because}.",
            console=err,
        )
    if not result.recipient_verified:
        plain(
            f"Note: {who.username}'s fingerprint is not verified. Compare it with them, then run "
            f"`kluis verify {who.username} '<fingerprint>'`.",
            console=err,
        )


@app.command()
@command
def revoke(
    target: str, username: str, server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None
) -> None:
    """Revoke a share. New documents and versions get a new key the user never receives."""
    username = typed_recipient(username)
    with client(server, profile) as c:
        revocation = c.revocation(target, username)  # refused if they hold no share of their own
        for line in revocation.lines():  # names from others print as text, never as controls
            plain(line.translate(_CONTROLS))
        epoch = c.revoke(target, username, revocation)
    plain(
        f"Access of {username} revoked."
        + (f" Dossier key rotated (epoch {epoch})." if epoch else "")
    )
    out.print("What they already downloaded stays with them: revocation cannot take copies back.")


@app.command()
@command
def shared(
    server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None, as_json: JsonOpt = False
) -> None:
    """What others shared with you: one line for each share, with its title or file name."""
    with client(server, profile) as c:
        items = c.shared_with_me()
        names = readable_names(c, [(i.dossier_id, i.document_id) for i in items])
    rows: list[dict[str, Any]] = [
        {
            "kind": i.kind,
            "dossier": i.dossier_id,
            "document": i.document_id,
            "title": names.get(i.dossier_id),
            "name": names.get(i.document_id) if i.document_id else None,
            # a document: the versions whose keys the share holds; a dossier: the key epochs
            "numbers": list(i.numbers),
            "from": i.granter,
            "from_verified": i.granter_verified,
            "rights": i.rights,
            "expires": i.expires_at,
            "shared": i.issued_at,
            "signature": "verified",
        }
        for i in items
    ]
    if as_json:
        return print_json(rows)
    table = Columns(
        "kind", "id", "name", "from", "rights", "versions", "expires", "signature",
        names=("name",),
    )  # fmt: skip
    for i in items:  # one item for each share, whatever number of keys it holds
        versions = ", ".join(map(str, i.numbers)) if i.document_id else "all"
        table.add_row(
            i.kind,
            (i.document_id or i.dossier_id)[:12],
            names.get(i.document_id or i.dossier_id, ""),
            i.granter + ("" if i.granter_verified else " (unverified)"),
            i.rights,
            versions,
            when(i.expires_at),
            "verified",
        )
    table.print()
    return None


def document_labels(names: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """{document id: (file name, how a table shows it)}: by its name, and where two documents
    share one, with the start of its id too."""
    count: dict[str, int] = {}
    for name, _ in names.values():
        count[name] = count.get(name, 0) + 1
    return {
        d: (name, name if count[name] == 1 else f"{name} ({d[:8]})")
        for d, (name, _) in names.items()
    }


def readable_names(c: Client, pairs: list[tuple[str, str | None]]) -> dict[str, str]:
    """{id: title or file name} of the dossiers and documents in `pairs` (dossier id, document
    id or None) whose names this device can decrypt, each verified; others are left out, and
    show by id. So is a dossier that fails a check: the listing of grants says what verifies
    (and `ls` or `get` of that dossier fails closed); a name is only shown here."""
    wanted: dict[str, set[str]] = {}
    for dossier_id, document_id in pairs:
        wanted.setdefault(dossier_id, set()).update([document_id] if document_id else [])
    names: dict[str, str] = {}
    for dossier_id, documents in wanted.items():
        try:
            dossier = c.load_dossier(dossier_id)
            listed = c.document_names([dossier_id]) if documents else {}
        except (ClientError, ExpiredError, SecurityError):
            continue  # no longer mine to read (revoked, expired), or it fails a check: by id
        if dossier.metadata is not None:
            names[dossier_id] = dossier.metadata.title
        names.update({d: name for d, (name, _) in listed.items()})
    return names


@app.command()
@command
def log(
    dossier: str,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The dossier's access log, its hash chain verified; documents by their file names."""
    with client(server, profile) as c:
        dossier_id = c.resolve_dossier(dossier)
        entries = c.access_log(dossier_id)
        documents = document_labels(c.document_names([dossier_id]))
        names = {e.actor_id: c.contact_by_id(e.actor_id).identity.username for e in entries}
        names.update(
            {
                e.subject_id: c.contact_by_id(e.subject_id).identity.username
                for e in entries
                if e.subject_id
            }
        )
    rows: list[dict[str, Any]] = [
        {
            "seq": e.seq,
            "at": e.at,
            "who": names[e.actor_id],
            "action": e.action,
            "document": e.document_id,
            "name": documents[e.document_id][0] if e.document_id in documents else None,
            "version": e.version,
            "subject": names.get(e.subject_id) if e.subject_id else None,
        }
        for e in entries
    ]
    if as_json:
        return print_json(rows)
    # The version tells apart lines that would look the same: a document shared with its
    # versions 1 and 2 is two lines, as are the downloads of two versions.
    table = Columns(
        "#", "when", "who", "action", "document", "version", "user", names=("document",)
    )
    for r in rows:
        document = r["document"] or ""
        table.add_row(
            r["seq"],
            when(r["at"]),
            r["who"],
            r["action"],
            documents[document][1] if document in documents else document[:12],
            r["version"] or "",
            r["subject"] or "",
        )
    table.print()
    out.print("Log chain verified.")
    return None


@app.command()
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
        result = c.export(dossier_id, output, passphrase)
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


@app.command()
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
        from .demo_web import run_web_demo

        return run_web_demo(out)
    from .demo import run_demo

    run_demo(out)
    return None


def main() -> None:
    global DATE_FORMAT
    # The user's way of writing dates (LC_ALL, LC_TIME, LANG); C if theirs is not installed.
    with contextlib.suppress(locale.Error):
        DATE_FORMAT = date_format(locale.setlocale(locale.LC_TIME, ""))
    app()


from .org_cli import register as _register_organisations  # noqa: E402  (it imports this module)

_register_organisations(app)
