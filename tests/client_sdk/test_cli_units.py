"""Unit tests of the `kluis` CLI helpers that need no server: expiry parsing, exit statuses,
passphrase sources and the small formatters."""

from __future__ import annotations

import calendar
import errno
import importlib
import json
import pkgutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from rich.cells import cell_len
from typer.testing import CliRunner

import client_sdk
import vault
from client_sdk.cli import main, output, passphrases, shared, sharing
from client_sdk.client import Client
from client_sdk.errors import (
    AmbiguousId,
    ApiError,
    ClientError,
    Conflict,
    DamagedProfile,
    Forbidden,
    NotFound,
    NotLoggedIn,
    PayloadTooLarge,
    RateLimited,
    ServerUnreachable,
    TamperedLogError,
    Unauthorized,
    UnconfirmedVersionError,
    UnknownId,
    UnverifiedKeyError,
    WithheldDocumentError,
)
from client_sdk.sharing import UnverifiedOrganisation
from vault.errors import (
    DowngradeError,
    ExpiredError,
    IntegrityError,
    InvalidRecoveryCode,
    KeyMismatchError,
    MalformedError,
    RollbackError,
    SecurityError,
    SignatureError,
    VaultError,
    WeakPassphrase,
    WrongPassphrase,
)

DAY = 24 * 3600


def _from_now(text: str) -> tuple[int, int, int]:
    before = int(time.time())
    value = sharing.parse_expiry(text)
    after = int(time.time())
    return before, value, after


# -- parse_expiry: durations ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30d", 30 * DAY),
        ("12h", 12 * 3600),
        ("2w", 14 * DAY),
        ("1h", 3600),
        (" 2W ", 14 * DAY),
        ("30 d", 30 * DAY),
        ("365D", 365 * DAY),
    ],
)
def test_a_duration_counts_from_now(text: str, seconds: int) -> None:
    before, value, after = _from_now(text)
    assert before + seconds <= value <= after + seconds


def test_a_date_means_the_end_of_that_day_on_this_computers_clock() -> None:
    end_of_day = int(time.mktime((2027, 1, 31, 23, 59, 59, 0, 0, -1)))
    assert sharing.parse_expiry("2027-01-31") == end_of_day
    assert sharing.parse_expiry(" 2027-01-31 ") == end_of_day


def test_a_leap_day_is_a_date() -> None:
    assert sharing.parse_expiry("2028-02-29") == int(
        time.mktime((2028, 2, 29, 23, 59, 59, 0, 0, -1))
    )


@pytest.mark.parametrize("text", [None, ""])
def test_no_expiry_means_never(text: str | None) -> None:
    assert sharing.parse_expiry(text) == 0


@pytest.mark.parametrize(
    "text",
    [
        "garbage",
        "30",
        "d",
        "30x",
        "30m",
        "-1d",
        "1.5d",
        "30 days",
        "d30",
        "2027-13-01",
        "2027-02-30",
        "2027-1-32",
        "31-01-2027",
        "2027/01/31",
        "2027-01-31T12:00",
        "tomorrow",
    ],
)
def test_garbage_is_a_user_error_with_one_line(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as raised:
        sharing.parse_expiry(text)
    assert raised.value.exit_code == shared.EXIT_USER_ERROR
    message = capsys.readouterr().err
    assert len(message.strip().splitlines()) == 1
    assert message.startswith("error: ") and repr(text) in message
    assert "30d" in message and "2027-01-31" in message


# -- parse_expiry: bounds ------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["3661d", "523w", "87841h", "99999999d", "9" * 40 + "d"])
def test_an_expiry_more_than_ten_years_away_is_refused(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as raised:
        sharing.parse_expiry(text)
    assert raised.value.exit_code == shared.EXIT_USER_ERROR
    message = capsys.readouterr().err
    assert message.startswith("error: ") and "10 years away" in message and repr(text) in message
    assert len(message.strip().splitlines()) == 1


def test_ten_years_is_the_limit() -> None:
    before, value, after = _from_now("3660d")
    assert before + 3660 * DAY <= value <= after + 3660 * DAY
    far = time.localtime(time.time() + 11 * 366 * DAY)
    with pytest.raises(typer.Exit):
        sharing.parse_expiry(time.strftime("%Y-%m-%d", far))


@pytest.mark.parametrize("text", ["0d", "0h", "0w", "2020-01-01", "1970-01-01"])
def test_an_expiry_now_or_in_the_past_is_refused(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as raised:
        sharing.parse_expiry(text)
    assert raised.value.exit_code == shared.EXIT_USER_ERROR
    message = capsys.readouterr().err
    assert message.startswith("error: ") and "future" in message


def test_today_is_a_valid_expiry_date() -> None:
    today = time.strftime("%Y-%m-%d", time.localtime())
    assert sharing.parse_expiry(today) > time.time()


# -- the error-to-exit-status mapping ------------------------------------------------------------
def _raising(exc: BaseException) -> None:
    @shared.command
    def failing() -> None:
        raise exc

    failing()


SECURITY_FAILURES = [
    IntegrityError("payload: chunk 1 failed authentication"),
    MalformedError("server answer: not an id"),
    SignatureError("bad signature"),
    KeyMismatchError("not the pinned key"),
    UnverifiedKeyError("the keys of 'bob' changed"),
    RollbackError("older version"),
    DowngradeError("weaker parameters"),
    TamperedLogError("access log: entry 2 was altered"),
    WithheldDocumentError("the server withholds 1 document(s)"),
    SecurityError("a check failed"),
]
USER_ERRORS = [
    WrongPassphrase(),
    InvalidRecoveryCode("word 4 is not in the recovery word list"),
    WeakPassphrase("too_short", "too short: at least 12 characters"),
    ExpiredError("the grant expired"),
    VaultError("a vault operation failed"),
    ClientError("you may read this dossier but not add to it"),
    NotLoggedIn(),
    DamagedProfile("trust.json is damaged: it is not valid JSON"),
    UnknownId("no dossier with id 'ff'"),
    AmbiguousId("'a' matches 2 dossiers"),
    UnconfirmedVersionError("version 3 by bob is not confirmed by the dossier's owner"),
    UnverifiedOrganisation("ncg is not verified"),
    ServerUnreachable("cannot reach the Kluis server"),
    ApiError(418, "teapot", "server: I'm a teapot"),
    Unauthorized(401, "unauthorized", "server: invalid credentials"),
    Forbidden(403, "forbidden", "server: not yours"),
    NotFound(404, "not_found", "server: no such user"),
    Conflict(409, "conflict", "server: exists"),
    PayloadTooLarge(413, "too_large", "server: too large"),
    RateLimited(429, "rate_limited", "server: try again in 3 seconds"),
    FileNotFoundError(2, "No such file or directory", "/proc/x.pdf"),
    PermissionError(13, "Permission denied"),
    IsADirectoryError(21, "Is a directory", "out"),
]
# A bug in Kluis, never reported as the user's mistake nor as a failed security check.
INTERNAL_ERRORS = [
    ValueError("bad value"),
    KeyError("x"),
    TypeError("unsupported operand"),
    AttributeError("'NoneType' object has no attribute 'x'"),
    RuntimeError(),
    AssertionError("unreachable"),
]


def _every_error_type() -> set[type[Exception]]:
    """Every exception type of the vault and the client (all their modules imported)."""
    for package in (vault, client_sdk):
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")

    def below(cls: type[Exception]) -> set[type[Exception]]:
        return {cls}.union(*(below(sub) for sub in cls.__subclasses__()))

    return below(VaultError)


def test_the_table_names_every_error_type_and_its_exit_status() -> None:
    """Each error type the vault or the client defines is in the lists above, and maps to the
    exit status of its list: 3 for security failures only, which a lying or broken server
    causes (what the user types is checked before it reaches code that raises them)."""
    listed = {type(e) for e in [*SECURITY_FAILURES, *USER_ERRORS]}
    assert _every_error_type() <= listed, _every_error_type() - listed
    for exc in SECURITY_FAILURES:
        assert shared.exit_status(exc)[0] == 3, exc
    for exc in USER_ERRORS:
        assert shared.exit_status(exc)[0] == 1, exc
    for exc in INTERNAL_ERRORS:
        assert shared.exit_status(exc)[0] == 70, exc
    assert shared.exit_status(KeyboardInterrupt())[0] == 130


@pytest.mark.parametrize("exc", INTERNAL_ERRORS, ids=lambda e: type(e).__name__)
def test_a_bug_exits_70_asking_for_a_report(
    exc: Exception, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as raised:
        _raising(exc)
    assert raised.value.exit_code == shared.EXIT_INTERNAL == 70
    message = capsys.readouterr().err
    assert message.startswith(f"internal error ({type(exc).__name__}")
    assert "bug in Kluis" in message and "report" in message
    assert "SECURITY" not in message and "Traceback" not in message
    assert len(message.strip().splitlines()) == 1


def test_an_os_error_names_the_file_not_the_errno(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit):
        _raising(FileNotFoundError(2, "No such file or directory", "/proc/x.pdf"))
    assert capsys.readouterr().err == "error: /proc/x.pdf: No such file or directory\n"


@pytest.mark.parametrize("exc", SECURITY_FAILURES, ids=lambda e: type(e).__name__)
def test_security_failures_exit_3_naming_the_check(
    exc: Exception, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as raised:
        _raising(exc)
    assert raised.value.exit_code == shared.EXIT_SECURITY == 3
    message = capsys.readouterr().err
    assert message.startswith(f"SECURITY CHECK FAILED ({type(exc).__name__}): ")
    assert str(exc) in message
    assert len(message.strip().splitlines()) == 1


@pytest.mark.parametrize("exc", USER_ERRORS, ids=lambda e: type(e).__name__)
def test_user_errors_exit_1_with_one_line(
    exc: Exception, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as raised:
        _raising(exc)
    assert raised.value.exit_code == shared.EXIT_USER_ERROR == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ")
    assert "SECURITY" not in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert captured.out == ""


def test_an_interrupt_exits_130(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as raised:
        _raising(KeyboardInterrupt())
    assert raised.value.exit_code == 130
    assert capsys.readouterr().err.strip() == "interrupted"


def test_markup_in_an_error_message_is_printed_literally(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(typer.Exit):
        _raising(UnknownId("no dossier with id '[bold]x[/bold]' that you can see"))
    assert "'[bold]x[/bold]'" in capsys.readouterr().err


def test_success_passes_the_return_value_through() -> None:
    @shared.command
    def fine(x: int) -> int:
        return x + 1

    assert fine(1) == 2


# -- where passphrases come from -----------------------------------------------------------------
def test_a_passphrase_file_wins_and_only_the_line_end_is_stripped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLUIS_PASSPHRASE", "from the environment")
    secret = tmp_path / "pass"
    secret.write_text("  spaces stay  \r\n", encoding="utf-8")
    assert passphrases.read_secret("p", "KLUIS_PASSPHRASE", secret) == "  spaces stay  "


def test_the_environment_is_used_without_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLUIS_PASSPHRASE", "from the environment")
    assert passphrases.read_secret("p", "KLUIS_PASSPHRASE", None) == "from the environment"


@pytest.mark.parametrize("value", [None, ""])
def test_no_passphrase_and_no_terminal_is_a_user_error(
    value: str | None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if value is None:
        monkeypatch.delenv("KLUIS_PASSPHRASE", raising=False)
    else:
        monkeypatch.setenv("KLUIS_PASSPHRASE", value)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    with pytest.raises(typer.Exit) as raised:
        passphrases.read_secret("p", "KLUIS_PASSPHRASE", None)
    assert raised.value.exit_code == 1
    message = capsys.readouterr().err
    assert message.startswith("error: no passphrase")
    assert "KLUIS_PASSPHRASE" in message and "--passphrase-file" in message


def test_allow_env_false_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLUIS_PASSPHRASE", "must not be used")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    with pytest.raises(typer.Exit):
        passphrases.read_secret("p", "KLUIS_PASSPHRASE", None, allow_env=False)


def test_a_missing_passphrase_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        passphrases.read_secret("p", "KLUIS_PASSPHRASE", tmp_path / "absent")


# -- formatting ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (1_572_864, "1.5 MiB"),
        (3 * 1024**3, "3.0 GiB"),
        (5000 * 1024**3, "5000.0 GiB"),
    ],
)
def test_size_text(n: int, text: str) -> None:
    assert output.size_text(n) == text


@pytest.fixture
def amsterdam(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This computer's clock in Amsterdam (CET, CEST in summer), by a POSIX TZ rule."""
    monkeypatch.setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_when(amsterdam: None) -> None:
    assert output.when(0) == "-"
    assert output.when(86400 + 3600 + 60) == "1970-01-02 02:01"  # 01:01 UTC, in winter
    assert output.when(calendar.timegm((2026, 7, 1, 12, 0, 0))) == "2026-07-01 14:00"  # summer


def test_an_expiry_date_ends_at_midnight_on_this_computers_clock(amsterdam: None) -> None:
    end = sharing.parse_expiry("2027-01-31")
    assert end == calendar.timegm((2027, 1, 31, 22, 59, 59))  # 23:59:59 in Amsterdam
    assert output.when(end) == "2027-01-31 23:59"


@pytest.mark.parametrize(
    ("lc_time", "shown"),
    [("C", "%Y-%m-%d"), ("C.UTF-8", "%Y-%m-%d"), ("POSIX", "%Y-%m-%d"), ("", "%Y-%m-%d"),
     ("nl_NL.UTF-8", "%x"), ("de_DE@euro", "%x")],
)  # fmt: skip
def test_dates_are_written_the_way_the_locale_writes_them(lc_time: str, shown: str) -> None:
    assert output.date_format(lc_time) == shown


# -- the command line in process (no server) ------------------------------------------------------
runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(main.app, ["--help"])
    assert result.exit_code == 0
    for name in ("register", "login", "dossier", "add", "get", "share", "revoke", "export"):
        assert name in result.output


def test_whoami_without_a_session_is_a_user_error(tmp_path: Path) -> None:
    result = runner.invoke(
        main.app, ["whoami", "--profile", str(tmp_path / "empty"), "--server", "http://127.0.0.1:9"]
    )
    assert result.exit_code == 1
    assert "not logged in" in result.output


def test_an_unknown_command_is_a_usage_error() -> None:
    assert runner.invoke(main.app, ["frobnicate"]).exit_code == 2


def test_a_far_future_timestamp_is_printed_not_an_error() -> None:
    # Regression test of a bug since fixed. It was: when() formatted with datetime, which stops
    # at the year 9999; a signed grant may expire later (expires_at is a u64, from another client
    # or from before --expires had bounds), and then the `shared` table of its recipient failed
    # with "error: year 275817 is out of range".
    for ts in (253_402_300_800, 8_640_000_000_000, 2**64 - 1):  # the year 10000 and beyond
        assert output.when(ts) == "after 9999-12-31"
    assert output.when(253_402_300_799) == "9999-12-31 23:59"
    assert output.when(-(2**63)) == "before 0001-01-01"  # a server may send anything in a log


# -- exit statuses through the command line machinery (typer's CliRunner) -------------------------
# A throw-away Typer app whose commands carry the real `shared.command` decorator: what reaches the
# user is the exit status and stderr that click produces, not just the exception in the wrapper.
errors_app = typer.Typer()


@errors_app.command()
@shared.command
def fail_with(kind: str) -> None:
    raise {
        "integrity": IntegrityError("payload: chunk 2 failed authentication"),
        "tampered-log": TamperedLogError("access log: entry 3 was altered"),
        "changed-key": UnverifiedKeyError("the keys of 'bob' changed"),
        "downgrade": DowngradeError("weaker key-derivation parameters"),
        "unknown-id": UnknownId("no dossier with id 'ff' that you can see"),
        "unreachable": ServerUnreachable("cannot reach the Kluis server at http://x"),
        "forbidden": Forbidden(403, "forbidden", "server: not yours"),
        "wrong-passphrase": WrongPassphrase(),
        "unauthorized": Unauthorized(401, "unauthorized", "server: invalid credentials"),
    }[kind]


@errors_app.command()
@shared.command
def succeed() -> None:
    output.out.print("fine")


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("integrity", "IntegrityError"),
        ("tampered-log", "TamperedLogError"),
        ("changed-key", "UnverifiedKeyError"),
        ("downgrade", "DowngradeError"),
    ],
)
def test_a_security_failure_exits_3_through_the_cli(kind: str, name: str) -> None:
    result = runner.invoke(errors_app, ["fail-with", kind])
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith(f"SECURITY CHECK FAILED ({name}): ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("kind", "fragment"),
    [
        ("unknown-id", "no dossier with id 'ff'"),
        ("unreachable", "cannot reach"),
        ("forbidden", "server: not yours"),
        ("wrong-passphrase", "passphrase"),
        ("unauthorized", "not logged in (or session expired): run `kluis login USERNAME`"),
    ],
)
def test_a_user_error_exits_1_through_the_cli(kind: str, fragment: str) -> None:
    result = runner.invoke(errors_app, ["fail-with", kind])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ") and fragment in result.stderr
    assert "SECURITY" not in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_success_exits_0_through_the_cli() -> None:
    result = runner.invoke(errors_app, ["succeed"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "fine\n", "")


def test_the_real_app_maps_an_unreachable_server_to_1(tmp_path: Path, closed_port_url: str) -> None:
    result = runner.invoke(
        main.app,
        ["login", "anna", "--server", closed_port_url, "--profile", str(tmp_path / "p")],
        env={"KLUIS_PASSPHRASE": "some passphrase"},
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: cannot reach the Kluis server at {closed_port_url} (ConnectError)"
    )


def test_the_real_app_maps_a_bad_expiry_to_1(tmp_path: Path, closed_port_url: str) -> None:
    result = runner.invoke(
        main.app,
        ["share", "ab", "bob", "--expires", "someday", "--server", closed_port_url],
        env={"KLUIS_PROFILE": str(tmp_path / "p")},
    )
    assert result.exit_code == 1
    assert "cannot read the expiry 'someday'" in result.stderr


# The real app, with one client method replaced by one that raises: what is tested is how the
# command line reports the exception, not the client.
DOCUMENT_ID = "8efb542945ec686402d220e2ece2efba"


def _client_method_raises(monkeypatch: pytest.MonkeyPatch, method: str, exc: Exception) -> None:
    def raising(*args: object, **kwargs: object) -> None:
        raise exc

    monkeypatch.setattr(Client, method, raising)


def _synced_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """`kluis get` takes the named step `sync` for the document's dossier before `get`: both
    server calls, here answered without a server, so that the failing `get` is reached."""
    from client_sdk.sharing import Synced

    monkeypatch.setattr(Client, "document_versions", lambda self, doc: ("0" * 32, []))
    monkeypatch.setattr(Client, "sync", lambda self, dossier, **kwargs: Synced())


def test_a_bug_in_a_command_exits_70_without_a_traceback(
    tmp_path: Path, closed_port_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _client_method_raises(monkeypatch, "whoami", KeyError("session"))
    monkeypatch.delenv("KLUIS_DEBUG", raising=False)
    result = runner.invoke(
        main.app, ["whoami", "--server", closed_port_url, "--profile", str(tmp_path / "p")]
    )
    assert result.exit_code == shared.EXIT_INTERNAL == 70
    assert result.stderr.startswith("internal error (KeyError: 'session'): this is a bug in Kluis")
    assert "report it" in result.stderr and "KLUIS_DEBUG=1" in result.stderr
    assert "Traceback" not in result.stderr and "SECURITY" not in result.stderr
    assert result.stdout == ""


def test_kluis_debug_shows_the_traceback_of_a_bug(
    tmp_path: Path, closed_port_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _client_method_raises(monkeypatch, "whoami", KeyError("session"))
    result = runner.invoke(
        main.app,
        ["whoami", "--server", closed_port_url, "--profile", str(tmp_path / "p")],
        env={"KLUIS_DEBUG": "1"},
    )
    assert result.exit_code == 70
    assert "Traceback" in result.stderr and "KeyError" in result.stderr


def test_a_full_disk_while_writing_a_document_names_the_file(
    tmp_path: Path, closed_port_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write to a full disk fails with an OSError that names no file (the open succeeded):
    the message names the file being written, exit 1."""
    _client_method_raises(monkeypatch, "get", OSError(errno.ENOSPC, "No space left on device"))
    _synced_first(monkeypatch)
    target = tmp_path / "out" / "rapport.pdf"
    result = runner.invoke(
        main.app,
        ["get", DOCUMENT_ID, "-o", str(target), "--server", closed_port_url],
        env={"KLUIS_PROFILE": str(tmp_path / "p")},
    )
    assert result.exit_code == 1
    assert result.stderr == f"error: {target}: No space left on device\n"


def test_a_full_disk_while_writing_the_profile_names_the_profile(
    tmp_path: Path, closed_port_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _client_method_raises(monkeypatch, "logout", OSError(errno.ENOSPC, "No space left on device"))
    profile = tmp_path / "p"
    result = runner.invoke(
        main.app, ["logout", "--server", closed_port_url, "--profile", str(profile)]
    )
    assert result.exit_code == 1
    assert result.stderr == f"error: {profile}: No space left on device\n"


def test_a_missing_permission_names_the_path(
    tmp_path: Path, closed_port_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    denied = tmp_path / "gesloten" / "rapport.pdf"
    _client_method_raises(
        monkeypatch, "get", PermissionError(errno.EACCES, "Permission denied", str(denied))
    )
    _synced_first(monkeypatch)
    result = runner.invoke(
        main.app,
        ["get", DOCUMENT_ID, "--server", closed_port_url],
        env={"KLUIS_PROFILE": str(tmp_path / "p")},
    )
    assert result.exit_code == 1
    assert result.stderr == f"error: {denied}: Permission denied\n"


# -- output --------------------------------------------------------------------------------------


def test_columns_pad_every_column_to_its_widest_cell(capsys: pytest.CaptureFixture[str]) -> None:
    table = output.Columns("id", "name", "size")
    table.add_row("7f2a", "rapport-schade-hoofdstraat.pdf", "1.2 MiB")
    table.add_row("e1c5", "foto.jpg", 200)
    table.print()
    assert capsys.readouterr().out.splitlines() == [
        "id    name                            size",
        "7f2a  rapport-schade-hoofdstraat.pdf  1.2 MiB",
        "e1c5  foto.jpg                        200",
    ]


def test_columns_print_names_literally(capsys: pytest.CaptureFixture[str]) -> None:
    table = output.Columns("name", "author", names=("name",))
    table.add_row("[red]rood[/red] :smile:.txt", "anna")
    table.print()
    marked = capsys.readouterr().out.splitlines()[1]
    assert marked == "[red]rood[/red] :smile:.txt  anna"


def test_one_long_name_does_not_widen_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    # Issue 15, point 9: one 255-character name made the whole `ls` table 300 columns wide.
    long_name = "x" * 251 + ".pdf"
    status = "verified; version 12 unconfirmed, not yet in owner's index"
    table = output.Columns("name", "author", "signature", names=("name",))
    table.add_row(long_name, "bert", status)
    table.add_row("brief.txt", "anna", "verified")
    table.print()
    _, long, short = capsys.readouterr().out.splitlines()
    name_cell = long.split("  ")[0]
    assert len(name_cell) == output.NAME_CELLS
    assert name_cell.startswith("xxxx") and name_cell.endswith("\u2026xxxxxx.pdf")
    assert long.endswith(f"  bert    {status}")  # other columns are never cut
    assert short.startswith("brief.txt" + " " * (output.NAME_CELLS - len("brief.txt")) + "  anna")


@pytest.mark.parametrize(
    ("text", "shortened"),
    [
        ("schaderapport.pdf", "schaderapport.pdf"),
        ("a" * 40, "a" * 40),
        ("a" * 41, "a" * 29 + "\u2026" + "a" * 10),
        ("地" * 30, "地" * 14 + "\u2026" + "地" * 5),
    ],
)
def test_shorten_fits_the_cells_on_screen(text: str, shortened: str) -> None:
    assert output.shorten(text) == shortened
    assert cell_len(output.shorten(text)) <= output.NAME_CELLS


def test_columns_show_control_characters_as_replacement_characters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    table = output.Columns("title")
    table.add_row("Schade\x1b[2J\x07\x9b31m\x7f Hoofdstraat\r\n12")
    table.print()
    out = capsys.readouterr().out
    assert out == "title\nSchade\ufffd[2J\ufffd\ufffd31m\ufffd Hoofdstraat\ufffd\ufffd12\n"


def test_columns_align_wide_characters_by_their_width_on_screen(
    capsys: pytest.CaptureFixture[str],
) -> None:
    table = output.Columns("name", "size")
    table.add_row("地震.jpg", "1")  # two cells per character on a terminal
    table.add_row("abcdefgh", "2")
    table.print()
    assert capsys.readouterr().out.splitlines()[1:] == ["地震.jpg  1", "abcdefgh  2"]


def test_a_json_list_is_one_item_per_line_and_valid_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = [{"name": "brief é.pdf", "size": 1}, {"name": "[b]", "size": 2}]
    output.print_json(rows)
    out = capsys.readouterr().out
    assert json.loads(out) == rows
    assert out.splitlines() == [
        "[",
        json.dumps(rows[0], ensure_ascii=False) + ",",
        json.dumps(rows[1]),
        "]",
    ]
    output.print_json([])
    assert json.loads(capsys.readouterr().out) == []


def test_the_kinds_in_org_create_help_are_the_clients() -> None:
    """Written out in the CLI so that its help does not load the organisations' key code."""
    from client_sdk.cli.organisations import KIND_HELP
    from client_sdk.organisations import KINDS

    assert f"One of: {', '.join(KINDS)}." == KIND_HELP


def test_help_loads_neither_the_client_nor_httpx_nor_the_cryptography() -> None:
    """Start-up (issue 21): `kluis --help` builds the app from the command modules alone."""
    code = (
        "import sys\n"
        "from client_sdk.cli.main import app\n"
        "heavy = ['client_sdk.client', 'httpx', 'cryptography', 'nacl', 'argon2', 'server',\n"
        "         'importlib.metadata']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


def test_a_command_does_not_load_httpx_s_own_command_line(
    closed_port_url: str, tmp_path: Path
) -> None:
    """Start-up (issue 21): a command that goes to a server loads the client and httpx, but not
    httpx's own command line (click, pygments), which `kluis` never runs."""
    code = (
        "import sys\n"
        "from client_sdk.cli.main import main\n"
        f"sys.argv = ['kluis', 'ls', 'abcdef12', '--server', {closed_port_url!r},\n"
        f"            '--profile', {str(tmp_path / 'profile')!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as end:\n"
        "    print('exit', end.code)\n"
        "heavy = ['httpx._main', 'click', 'pygments', 'pydantic']\n"
        "print(sorted(m for m in heavy if sys.modules.get(m) is not None))\n"
        "print('client_sdk.client' in sys.modules, 'httpx' in sys.modules)\n"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert ran.stdout.splitlines() == ["exit 1", "[]", "True True"], (ran.stdout, ran.stderr)
