"""Passphrases and the recovery code: from a file, the environment or a hidden prompt.

A new passphrase (register, passwd, recover) must pass the passphrase rule (docs/format.md
section 18); at a prompt an empty answer lets Kluis make one.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from .output import err, out
from .shared import fail


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
    need_terminal(env)
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
        if not confirm or confirmed(value):
            return value


def need_terminal(env: str) -> None:
    """A prompt needs a terminal: without one, say where else a passphrase can come from."""
    if not sys.stdin.isatty():
        fail(f"error: no passphrase: set {env}, use --passphrase-file, or run in a terminal")


def confirmed(value: str) -> bool:
    """Whether the passphrase typed again is `value` (said so when it is not)."""
    again: str = typer.prompt(
        "Repeat for confirmation", default="", show_default=False, hide_input=True
    )
    if again != value:
        err.print("the two entries do not match", markup=False, highlight=False)
    return again == value


def usable_passphrase(value: str, source: str) -> str:
    """`value`, if it is text a key can be derived from (vault.kdf): a user error otherwise."""
    from vault.kdf import check_passphrase

    try:
        check_passphrase(value)
    except ValueError as exc:
        fail(f"error: the passphrase from {source}: {exc}")
    return value


def read_recovery_code() -> str:
    """KLUIS_RECOVERY_CODE, or the code typed or pasted at a hidden prompt as printed: over as
    many lines as it takes, up to the 24th word or an empty line."""
    from vault.recovery import RECOVERY_WORD_COUNT, recovery_words

    from ..terminal import read_hidden_lines

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
    from vault.passphrase import generate_passphrase, judge_passphrase

    if generate:
        if path is not None:
            fail("error: use either --generate-passphrase or a new passphrase file, not both")
        return generate_passphrase(context=[username]), True
    if path is not None or any(os.environ.get(name) for name in (env, fallback_env) if name):
        return read_secret(prompt, env, path, fallback_env=fallback_env), False
    need_terminal(env)
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
        if confirmed(value):
            return value, False


def show_generated(passphrase: str) -> None:
    out.print(
        "\nYour new PASSPHRASE, made by Kluis and shown only once. Write it down, or keep it in a"
        "\npassword manager:"
    )
    out.print(f"  {passphrase}", markup=False, highlight=False)
