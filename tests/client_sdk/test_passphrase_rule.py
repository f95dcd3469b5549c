"""The passphrase rule (format section 18, threat L17) wherever a passphrase is set.

`kluis register`, `kluis passwd` and `kluis recover` run as subprocesses against a real server;
a refused passphrase must exit 1 with one line naming the reason, and leave the server as it
was: the name still free, the old passphrase still the one that works, the session untouched.
The SDK applies the rule itself, before any request, so every client program gets it.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from mnemonic import Mnemonic

from client_sdk.api import kdf_to_json
from client_sdk.client import Client
from client_sdk.localserver import LocalServer
from client_sdk.transport import b64
from vault.bundle import seal_bundle
from vault.errors import WeakPassphrase
from vault.kdf import KdfParams, passphrase_keys
from vault.keys import PrivateIdentity
from vault.passphrase import GENERATED_WORDS, judge_passphrase
from vault.recovery import RecoveryCode

from .cli_runner import KLUIS, Person

STRONG = "Ik woon in Loppersum sinds 1985"
RECOVERY_ROW = re.compile(r"(\d+) ([a-z]+)")
GENERATED = re.compile(rf"^ {{2}}((?:[a-z]+ ){{{GENERATED_WORDS - 1}}}[a-z]+)$", re.MULTILINE)
WORDS = set(Mnemonic("english").wordlist)

# (passphrase, what the one-line error must say); the rule's vectors cover the rule itself.
WEAK = [
    ("1234", "too short: at least 12 characters"),
    ("1qaz2wsx3edc", "one of the most common passwords"),
    ("wachtwoord2024!", "too predictable"),
]


def refused(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    """Exit status 1, one line on stderr naming the reason, never the passphrase itself."""
    assert result.returncode == 1, (result.args, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: passphrase refused: ") and fragment in lines[0], lines[0]
    assert "Traceback" not in result.stderr and "SECURITY" not in result.stderr
    assert "RECOVERY" not in result.stdout and "created" not in result.stdout


def register(server: LocalServer, tmp: Path, name: str) -> tuple[Person, str]:
    person = Person(server.url, tmp / f"profile-{name}", STRONG)
    out = person.ok("register", name)
    rows = RECOVERY_ROW.findall(out.split("RECOVERY CODE")[1])
    words = [w for _, w in sorted((int(n), w) for n, w in rows)]
    assert len(words) == 24
    return person, " ".join(words)


def session_token(person: Person) -> str:
    token: str = json.loads((person.profile / "session.json").read_text())["token"]
    return token


def token_works(server: LocalServer, token: str) -> bool:
    answer = httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    return answer.status_code == 200


def generated_in(output: str) -> str:
    found = GENERATED.findall(output)
    assert len(found) == 1, output
    assert set(found[0].split()) <= WORDS and judge_passphrase(found[0]).accepted
    return str(found[0])


# -- register ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("passphrase", "says"), WEAK)
def test_register_refuses_a_weak_passphrase_and_registers_nothing(
    server: LocalServer, tmp_path: Path, passphrase: str, says: str
) -> None:
    name = f"kees-{len(passphrase)}"
    weak = Person(server.url, tmp_path / "weak", passphrase)
    result = weak.run("register", name)
    refused(result, says)
    assert passphrase not in result.stderr
    assert not (weak.profile / "session.json").exists()
    # the name is still free: nothing was registered
    Person(server.url, tmp_path / "strong", STRONG).ok("register", name)


def test_register_refuses_a_passphrase_made_of_the_username(
    server: LocalServer, tmp_path: Path
) -> None:
    passphrase = "Zwartenberg-Qvist-1978"
    refused(
        Person(server.url, tmp_path / "a", passphrase).run("register", "zwartenberg"),
        "too predictable",
    )
    Person(server.url, tmp_path / "b", passphrase).ok("register", "someone-else")


def test_register_with_a_generated_passphrase(server: LocalServer, tmp_path: Path) -> None:
    person = Person(server.url, tmp_path / "gen", "")
    out = person.ok("register", "gerda-gen", "--generate-passphrase", env={"KLUIS_PASSPHRASE": ""})
    assert "RECOVERY CODE" in out and "shown only once" in out
    passphrase = generated_in(out)
    Person(server.url, tmp_path / "again", passphrase).ok("login", "gerda-gen")


def test_a_generated_passphrase_and_a_given_one_do_not_mix(
    server: LocalServer, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(STRONG)
    person = Person(server.url, tmp_path / "mix", STRONG)
    result = person.run(
        "register", "mixed", "--generate-passphrase", "--passphrase-file", str(secret)
    )
    assert result.returncode == 1 and "either" in result.stderr, result.stderr
    assert not (person.profile / "session.json").exists()


# -- passwd -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("passphrase", "says"), WEAK)
def test_passwd_refuses_a_weak_passphrase_and_changes_nothing(
    server: LocalServer, tmp_path: Path, passphrase: str, says: str
) -> None:
    name = f"anna-pw-{len(passphrase)}"
    anna, _ = register(server, tmp_path, name)
    token = session_token(anna)
    result = anna.run("passwd", env={"KLUIS_NEW_PASSPHRASE": passphrase})
    refused(result, says)
    assert "Passphrase changed" not in result.stdout
    # refused before anything was sent: the same session, still live
    assert session_token(anna) == token and token_works(server, token)
    Person(server.url, tmp_path / "old", STRONG).ok("login", name)
    weak = Person(server.url, tmp_path / "weak", passphrase).run("login", name)
    assert weak.returncode == 1 and "wrong username or passphrase" in weak.stderr


def test_passwd_with_a_generated_passphrase(server: LocalServer, tmp_path: Path) -> None:
    anna, _ = register(server, tmp_path, "anna-pw-gen")
    out = anna.ok("passwd", "--generate-passphrase", env={"KLUIS_NEW_PASSPHRASE": ""})
    assert "Passphrase changed" in out
    Person(server.url, tmp_path / "new", generated_in(out)).ok("login", "anna-pw-gen")
    old = Person(server.url, tmp_path / "old", STRONG).run("login", "anna-pw-gen")
    assert old.returncode == 1 and "wrong username or passphrase" in old.stderr


# -- recover ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("passphrase", "says"), WEAK)
def test_recover_refuses_a_weak_passphrase_and_changes_nothing(
    server: LocalServer, tmp_path: Path, passphrase: str, says: str
) -> None:
    name = f"anna-rec-{len(passphrase)}"
    _, code = register(server, tmp_path, name)
    device = Person(server.url, tmp_path / "lost", passphrase)
    env = {"KLUIS_RECOVERY_CODE": code, "KLUIS_NEW_PASSPHRASE": passphrase}
    result = device.run("recover", name, env=env)
    refused(result, says)
    assert "Access restored" not in result.stdout
    assert not (device.profile / "session.json").exists()
    Person(server.url, tmp_path / "old", STRONG).ok("login", name)
    # the code still works, with a passphrase the rule accepts
    env["KLUIS_NEW_PASSPHRASE"] = "Mijn nieuwe zin na 14 maart"
    assert "Access restored" in device.ok("recover", name, env=env)


def test_recover_with_a_generated_passphrase(server: LocalServer, tmp_path: Path) -> None:
    _, code = register(server, tmp_path, "anna-rec-gen")
    device = Person(server.url, tmp_path / "lost", "")
    env = {"KLUIS_RECOVERY_CODE": code, "KLUIS_PASSPHRASE": ""}
    out = device.ok("recover", "anna-rec-gen", "--generate-passphrase", env=env)
    assert "Access restored" in out
    Person(server.url, tmp_path / "new", generated_in(out)).ok("login", "anna-rec-gen")


# -- login: an account from before the rule ----------------------------------------------------
def test_login_with_a_passphrase_from_before_the_rule_works_and_advises_a_change(
    server: LocalServer, tmp_path: Path
) -> None:
    # Registered by hand with the bytes the SDK wrote before the rule existed.
    name, weak = "oud-account", "wachtwoord2024!"
    identity = PrivateIdentity.generate(os.urandom(16), name)
    keys = passphrase_keys(weak, KdfParams.new())
    recovery = RecoveryCode.generate().keys()
    body = {
        "user_id": identity.user_id.hex(),
        "username": name,
        "display_name": name,
        "identity": b64(identity.public.encode()),
        "kdf": kdf_to_json(keys.params),
        "passphrase_bundle": b64(seal_bundle(identity, keys)),
        "recovery_bundle": b64(seal_bundle(identity, recovery)),
        "auth_key": b64(keys.auth_key),
        "recovery_auth_key": b64(recovery.auth_key),
    }
    httpx.post(f"{server.url}/api/v1/users", json=body).raise_for_status()
    result = Person(server.url, tmp_path / "old", weak).run("login", name)
    assert result.returncode == 0 and "Logged in as oud-account" in result.stdout, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("note: this passphrase would be refused today (too predictable")
    assert "kluis passwd" in line and weak not in line
    # after a change to a passphrase the rule accepts, no more note
    Person(server.url, tmp_path / "old", weak).ok("passwd", env={"KLUIS_NEW_PASSPHRASE": STRONG})
    result = Person(server.url, tmp_path / "new", STRONG).run("login", name)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    wrong = Person(server.url, tmp_path / "wrong", "1234").run("login", name)
    assert wrong.returncode == 1 and "note:" not in wrong.stderr  # no advice without a login


# -- at a terminal ----------------------------------------------------------------------------
def in_terminal(args: list[str], env: dict[str, str], answers: list[tuple[bytes, bytes]]) -> str:
    """Run `kluis` on a pseudo-terminal, typing each answer after its prompt appears."""
    pid, fd = pty.fork()
    if pid == 0:  # child: kluis with the pty as its terminal; never back into pytest
        try:
            os.execve(KLUIS, [KLUIS, *args], {**os.environ, **env})  # noqa: S606
        finally:
            os._exit(127)
    output = b""
    pending = list(answers)
    cursor = 0  # each prompt is looked for after the one answered before it
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
        # click writes a hidden prompt's text, then getpass turns echo off (dropping anything
        # typed ahead) and writes the last " ": answer only once the output ends with it.
        found = output.find(pending[0][0], cursor) if pending else -1
        if found >= 0 and output.endswith(b": "):
            cursor = len(output)
            os.write(fd, pending.pop(0)[1] + b"\n")
    if time.monotonic() >= deadline:  # still waiting for input it will never get: end it
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = output.decode("utf-8", "replace").replace("\r\n", "\n")
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # the terminal gets bold names
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert not pending, text
    return text


def test_at_a_terminal_a_weak_passphrase_is_explained_and_asked_again(
    server: LocalServer, tmp_path: Path
) -> None:
    env = {"KLUIS_SERVER": server.url, "KLUIS_PROFILE": str(tmp_path / "tty"), "COLUMNS": "200"}
    env["KLUIS_PASSPHRASE"] = ""
    text = in_terminal(
        ["register", "tty-anna"],
        env,
        [
            (b"Choose a passphrase", b"1234"),
            (b"Choose a passphrase", STRONG.encode()),
            (b"Repeat", STRONG.encode()),
        ],
    )
    assert "passphrase refused: too short: at least 12 characters" in text
    assert "Account tty-anna created" in text and STRONG not in text
    Person(server.url, tmp_path / "check", STRONG).ok("login", "tty-anna")


def test_at_a_terminal_an_empty_answer_generates_a_passphrase(
    server: LocalServer, tmp_path: Path
) -> None:
    env = {"KLUIS_SERVER": server.url, "KLUIS_PROFILE": str(tmp_path / "tty"), "COLUMNS": "200"}
    env["KLUIS_PASSPHRASE"] = ""
    text = in_terminal(["register", "tty-gen"], env, [(b"empty", b"")])
    assert "Account tty-gen created" in text
    Person(server.url, tmp_path / "check", generated_in(text)).ok("login", "tty-gen")


# -- the SDK, for any client program ----------------------------------------------------------
def test_the_sdk_refuses_before_sending_anything(closed_port_url: str, tmp_path: Path) -> None:
    # Nothing listens at closed_port_url: any request would fail as unreachable instead.
    with Client(closed_port_url, str(tmp_path / "sdk")) as client:
        with pytest.raises(WeakPassphrase) as caught:
            client.register("kees", "1234")
        assert caught.value.reason == "too_short"
        with pytest.raises(WeakPassphrase) as caught:
            client.register("kees", "kees kees kees kees")
        assert caught.value.reason == "predictable"
        code = " ".join(["abandon"] * 23 + ["art"])
        with pytest.raises(WeakPassphrase) as caught:
            client.recover("kees", code, "wachtwoord2024!")
        assert caught.value.reason == "predictable"


def test_the_sdk_refuses_a_weak_new_passphrase_before_logging_in_again(
    server: LocalServer, tmp_path: Path
) -> None:
    anna, _ = register(server, tmp_path, "anna-sdk")
    token = session_token(anna)
    with Client(server.url, str(anna.profile)) as client:
        with pytest.raises(WeakPassphrase) as caught:
            client.change_passphrase(STRONG, "anna-sdk anna-sdk")
        assert caught.value.reason == "predictable"
    assert session_token(anna) == token and token_works(server, token)
    Person(server.url, tmp_path / "old", STRONG).ok("login", "anna-sdk")
