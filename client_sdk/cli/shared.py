"""What every command shares: its options, the client it opens, and how an error ends it.

`exit_status` is the one mapping from an exception to the exit status and the message the user
sees (the statuses are listed in this package's docstring and in docs/user-guide.md).
"""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from vault.errors import SecurityError, VaultError

from ..errors import AmbiguousId, NotFound, Unauthorized
from .output import CONTROLS, err, shorten

if TYPE_CHECKING:
    from ..client import Client
    from ..keylog import LogSettings

DEFAULT_SERVER = "http://127.0.0.1:8000"
EXIT_USER_ERROR = 1
EXIT_SECURITY = 3
EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h): a bug in Kluis
EXIT_INTERRUPTED = 130
SESSION_EXPIRED = "not logged in (or session expired): run `kluis login USERNAME`"

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
NewPassFileOpt = Annotated[
    Path | None,
    typer.Option("--new-passphrase-file", metavar="FILE", help="Read the new passphrase here."),
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
            f"  {i[:12]}  {shorten(label.translate(CONTROLS), 60)}" for i, label in exc.candidates
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
    # Imported here: importlib.metadata (with email and zipfile) is only needed for
    # `--version` and the internal-error message, not on every start (issue 21).
    import importlib.metadata

    try:
        return importlib.metadata.version("kluis")
    except importlib.metadata.PackageNotFoundError:
        return "(version unknown)"


# A write to a full disk fails without a file name (the open succeeded, a write did not).
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


@contextmanager
def writing_to(path: Path) -> Iterator[None]:
    """A full disk met while writing `path` is reported with `path` named: the OSError of a
    failed write carries no file name of its own."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None and exc.errno in _DISK_FULL:
            raise OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(path)) from exc
        raise


def log_settings(
    log_key: str | None = None, witnesses: list[str] | None = None, quorum: int | None = None
) -> LogSettings:
    """The key transparency log as the user gave it, by option or else by environment:
    `KLUIS_LOG_KEY` (the log's verifier key, `<origin>+<key ID>+<base64>`; a value of 64 hex
    digits is the server's own seed of the same name, not a verifier key, and is left to it),
    `KLUIS_LOG_WITNESSES` (witness verifier keys, separated by spaces) and `KLUIS_LOG_QUORUM`."""
    from ..keylog import LogSettings

    if log_key is None:
        log_key = os.environ.get("KLUIS_LOG_KEY") or None
        if log_key is not None and "+" not in log_key:
            log_key = None
    if witnesses is None and os.environ.get("KLUIS_LOG_WITNESSES"):
        witnesses = os.environ["KLUIS_LOG_WITNESSES"].split()
    if quorum is None and os.environ.get("KLUIS_LOG_QUORUM"):
        try:
            quorum = int(os.environ["KLUIS_LOG_QUORUM"])
        except ValueError:
            fail("error: KLUIS_LOG_QUORUM is a number of witnesses")
    return LogSettings(log_key, None if witnesses is None else tuple(witnesses), quorum)


@contextmanager
def client(server: str, profile: Path | None, log: LogSettings | None = None) -> Iterator[Client]:
    """The client of this device's profile; a full disk met on the way names the profile."""
    # Imported here, not at the top: `kluis --help` and a command's own usage error never load
    # the client, the vault's cryptography or httpx (start-up time, issue 21).
    from ..client import Client

    settings = log or log_settings()
    with (
        Client(server, str(profile) if profile else None, log=settings) as c,
        writing_to(c.profile.dir),
    ):
        yield c


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
