"""S22: the server shows one device keys it does not show everyone else, or a log history of
its own. Every key the client uses must be in the key transparency log at a checkpoint the
pinned log key signed (and the trusted witnesses cosigned), every checkpoint must extend the
last one the device accepted, and the owner of a name finds entries it did not make.

The operator holds the log's keys (`logoperator`): it can append entries and sign checkpoints
at will, and rewrite any answer (`RewritingTransport`). Each lie ends in exit status 3 (or a
SecurityError in the SDK) with nothing wrapped for the operator.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from client_sdk import UnverifiedKeyError
from vault.checkpoint import Checkpoint, sign_checkpoint
from vault.cosignature import Cosigner
from vault.errors import IntegrityError, RollbackError, SignatureError
from vault.keys import PrivateIdentity
from vault.note import Ed25519Signer

from . import logoperator
from .harness import EXIT_SECURITY, RewritingTransport, World, rewrite_json, world

__all__ = ["world"]


def grants_to(world: World, dossier: str, user_id: str) -> int:
    return len(world.db.grants(dossier, user_id))


def forged_identity(world: World, username: str) -> bytes:
    """An identity record for `username` with keys the operator holds, self-signed."""
    user_id = bytes.fromhex(world.db.one("SELECT user_id FROM users WHERE username = ?", username))
    return PrivateIdentity.generate(user_id, username).public.encode()


def fail_closed(result: Any, pattern: str) -> None:
    assert result.returncode == EXIT_SECURITY, (result.stdout, result.stderr)
    assert "SECURITY CHECK FAILED" in result.stderr
    assert re.search(pattern, result.stderr), result.stderr


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- a key that is not in the log ---------------------------------------------------------------
def test_a_contacts_key_that_is_not_in_the_log_is_never_used(world: World) -> None:
    """The operator swaps a user's keys in its database without logging them: a device that
    never saw the user must not wrap anything to them (no pin can help it: first sight)."""
    dirk = world.person("dirk-kt")
    dossier, _ = world.dossier_with(("brief.txt", b"hello"))
    forged = forged_identity(world, dirk.name)
    world.db.execute("UPDATE users SET identity = ? WHERE username = ?", forged, dirk.name)
    result = world.anna.run_cli("share", dossier, dirk.name)
    # the server proves the entry of dirk's real record: the forged one is not that entry
    fail_closed(result, "IntegrityError.*inclusion proof")
    assert grants_to(world, dossier, dirk.user_id) == 0


def test_a_forged_inclusion_proof_is_refused(world: World) -> None:
    """The operator shows a key with a proof of another entry's place: the rebuilt entry does
    not lead to the signed root."""
    erik = world.person("erik-kt")
    dossier, _ = world.dossier_with(("brief.txt", b"hello"))
    forged = b64(forged_identity(world, erik.name))

    def swap(body: dict[str, Any]) -> dict[str, Any]:
        body["identity"] = forged
        return body

    proxy = RewritingTransport(rewrite_json("GET", rf".*/users/{erik.name}", swap))
    with pytest.raises(IntegrityError):
        world.anna.device(proxy).share(dossier, erik.name)
    assert grants_to(world, dossier, erik.user_id) == 0


def test_a_proof_left_out_is_refused(world: World) -> None:
    fenna = world.person("fenna-kt")
    dossier, _ = world.dossier_with(("brief.txt", b"hello"))

    def strip(body: dict[str, Any]) -> dict[str, Any]:
        body["log"] = None
        return body

    proxy = RewritingTransport(rewrite_json("GET", rf".*/users/{fenna.name}", strip))
    with pytest.raises(IntegrityError, match="not in the key transparency log"):
        world.anna.device(proxy).share(dossier, fenna.name)
    assert grants_to(world, dossier, fenna.user_id) == 0


# -- checkpoints: forks, rollbacks, missing cosignatures, a swapped key -------------------------
def test_a_forked_checkpoint_is_refused(world: World) -> None:
    """After the device accepted a checkpoint, the operator shows a tree of the same size with
    another root, signed with the real log key: a fork, named as such."""
    gerrit = world.person("gerrit-kt")
    world.anna.client.fingerprint(gerrit.name)  # the device accepts the log's checkpoint
    held = world.anna.client.keylog.checkpoint()
    assert held is not None
    fork = logoperator.signed_checkpoint(
        world.server, held.checkpoint.size, secrets.token_bytes(32)
    ).decode()

    def forked(body: dict[str, Any]) -> dict[str, Any]:
        body["head"]["checkpoint"] = fork
        body["head"]["consistency"] = []
        return body

    proxy = RewritingTransport(rewrite_json("GET", r".*/users/bob", forked))
    with pytest.raises(IntegrityError, match="different trees"):
        world.anna.device(proxy).contact("bob")
    kept = world.anna.client.keylog.checkpoint()
    assert kept is not None and kept.checkpoint == held.checkpoint  # the fork was not kept


def test_a_rolled_back_log_is_refused(world: World) -> None:
    """The operator answers with an older checkpoint than the device accepted (a proxy), or its
    server says its log is behind the device (409 log_behind): both are a rollback, exit 3."""
    world.person("hanna-kt")
    older = world.anna.client.keylog.checkpoint()
    assert older is not None
    world.person("ids-kt")  # the log grows
    world.anna.device().contact("hanna-kt")
    newer = world.anna.client.keylog.checkpoint()
    assert newer is not None and newer.checkpoint.size > older.checkpoint.size

    def rolled_back(body: dict[str, Any]) -> dict[str, Any]:
        body["head"]["checkpoint"] = older.note.decode()
        body["head"]["consistency"] = []
        return body

    proxy = RewritingTransport(rewrite_json("GET", r".*/users/bob", rolled_back))
    with pytest.raises(RollbackError):
        world.anna.device(proxy).contact("bob")

    def behind(request: httpx.Request) -> httpx.Response | None:
        if "since" not in request.url.params:
            return None
        problem = {"type": "about:blank", "status": 409, "code": "log_behind", "detail": "behind"}
        return httpx.Response(
            409, json=problem, headers={"content-type": "application/problem+json"}
        )

    with pytest.raises(RollbackError, match="rolled back"):
        world.anna.device(RewritingTransport(answer=behind)).contact("bob")
    kept = world.anna.client.keylog.checkpoint()
    assert kept is not None and kept.checkpoint == newer.checkpoint


def test_a_checkpoint_without_the_witnesses_the_device_requires_is_refused(
    world: World, tmp_path: Path
) -> None:
    """A device that requires a witness (say the village association's) refuses a checkpoint
    that witness did not cosign: the server alone could be showing it a private tree."""
    jan = world.person("jan-kt")
    witness = Cosigner("dorpsbelang/witness", secrets.token_bytes(32)).verifier.vkey
    laptop = world.person(jan.name, register=False, profile="jan-kt-witnessed")
    laptop.ok("login", jan.name)
    dossier = laptop.client.create_dossier("Schade")
    result = laptop.run_cli(
        "share", dossier, "bob", env={"KLUIS_LOG_WITNESSES": witness, "KLUIS_LOG_QUORUM": "1"}
    )
    fail_closed(result, "SignatureError.*0 of the 1 witness cosignatures")
    assert grants_to(world, dossier, world.bob.user_id) == 0
    # the policy is kept on the device: the next command without it still requires the witness
    fail_closed(laptop.run_cli("share", dossier, "bob"), "witness cosignatures")
    assert grants_to(world, dossier, world.bob.user_id) == 0
    # and a login on a device requiring the witness keeps no session
    other = world.person(jan.name, register=False, profile="jan-kt-witnessed-2")
    witnessed = {"KLUIS_LOG_WITNESSES": witness, "KLUIS_LOG_QUORUM": "1"}
    fail_closed(other.run_cli("login", jan.name, env=witnessed), "witness cosignatures")
    assert not (other.profile / "session.json").exists()


def test_a_log_key_other_than_the_pinned_one_is_refused(world: World) -> None:
    """The device pinned the log's key. A log key given later that differs, or a checkpoint
    signed by another key under the same origin (the operator started a new log in place of
    the old), is exit 3."""
    kees = world.person("kees-kt")
    dossier, _ = world.dossier_with(("brief.txt", b"hello"))
    world.anna.client.fingerprint(kees.name)
    origin = logoperator.log_keys(world.server).origin
    other = Ed25519Signer(origin, secrets.token_bytes(32))
    result = world.anna.run_cli(
        "share", dossier, kees.name, env={"KLUIS_LOG_KEY": other.verifier.vkey}
    )
    fail_closed(result, "KeyMismatchError.*log key")
    assert grants_to(world, dossier, kees.user_id) == 0

    held = world.anna.client.keylog.checkpoint()
    assert held is not None
    swapped = sign_checkpoint(held.checkpoint, other).decode()

    def new_log(body: dict[str, Any]) -> dict[str, Any]:
        body["head"]["checkpoint"] = swapped
        body["head"]["consistency"] = []
        return body

    proxy = RewritingTransport(rewrite_json("GET", rf".*/users/{kees.name}", new_log))
    with pytest.raises(SignatureError, match=r"trusted key|log's key"):
        world.anna.device(proxy).share(dossier, kees.name)
    assert grants_to(world, dossier, kees.user_id) == 0


def test_a_device_given_the_right_log_key_pins_it_and_a_wrong_one_refuses_the_server(
    world: World,
) -> None:
    lies = world.person("lies-kt")
    right = logoperator.log_keys(world.server).verifier_key
    origin = logoperator.log_keys(world.server).origin
    wrong = Ed25519Signer(origin, secrets.token_bytes(32)).verifier.vkey
    fresh = world.person(lies.name, register=False, profile="lies-kt-wrong")
    fail_closed(fresh.run_cli("login", lies.name, env={"KLUIS_LOG_KEY": wrong}), "log key")
    assert not (fresh.profile / "session.json").exists()  # the refused login left no session
    good = world.person(lies.name, register=False, profile="lies-kt-right")
    good.ok("login", lies.name)
    assert "fingerprint" in good.run_cli("fingerprint", "bob", env={"KLUIS_LOG_KEY": right}).stdout


# -- self-monitoring -----------------------------------------------------------------------------
def test_the_audit_finds_a_key_for_my_name_that_i_did_not_make(world: World) -> None:
    """The operator logs keys of its own under marijke's name (they go to everyone, so every
    lookup proves them): her device's audit finds the entry and names it."""
    marijke = world.person("marijke-kt")
    first = marijke.run_cli("keys", "audit")
    assert first.returncode == 0, first.stderr
    assert "nothing under your names that you did not make" in first.stdout
    again = marijke.run_cli("keys", "audit")  # incremental: nothing new of hers
    assert again.returncode == 0, again.stderr

    forged = forged_identity(world, marijke.name)
    # logged beside her real entry, which the server keeps proving to her own device
    size = logoperator.log_identity(world.server, marijke.user_id, forged, take_over=False)
    result = marijke.run_cli("keys", "audit")
    fail_closed(result, f"IntegrityError.*entry {size - 1} gives {marijke.name} a key")
    # and the audit does not move past the entry: the next one finds it again
    fail_closed(marijke.run_cli("keys", "audit"), f"entry {size - 1}")
    # anyone's key history of her name shows the second key, and that it is not the one shown
    history = world.anna.ok("keys", "history", marijke.name).splitlines()
    assert len(history) == 2, history
    assert history[0].endswith("identity 1  (shown now)")
    assert history[1] == f"entry {size - 1}: identity 1"


def test_a_checkpoint_from_elsewhere_is_compared(world: World, tmp_path: Path) -> None:
    """`kluis checkpoint` prints a checkpoint another resident can compare with
    `--check`; a checkpoint of the same size with another root is a fork (exit 3); a file
    that is no checkpoint of this log is the user's mistake (exit 1)."""
    world.person("nel-kt")
    printed = world.bob.ok("checkpoint")
    theirs = tmp_path / "nieuwsbrief.txt"
    theirs.write_text(printed)
    world.person("otto-kt")  # the log grows: an older checkpoint is still consistent
    result = world.anna.run_cli("checkpoint", "--check", str(theirs))
    assert result.returncode == 0, result.stderr
    assert "consistent" in result.stdout

    size = Checkpoint.parse(printed.split("\n\n")[0] + "\n").size
    fork = logoperator.signed_checkpoint(world.server, size, secrets.token_bytes(32))
    theirs.write_bytes(fork)
    fail_closed(world.anna.run_cli("checkpoint", "--check", str(theirs)), "IntegrityError")
    theirs.write_text("not a checkpoint\n")
    result = world.anna.run_cli("checkpoint", "--check", str(theirs))
    assert result.returncode == 1, result.stderr


def test_pins_made_before_the_log_are_checked_against_it_on_first_use(world: World) -> None:
    """A profile from before the log pinned pia. The operator has since logged keys of its own
    for her (the log shows them to everyone) and serves them: the device's first use of the
    log checks every pin in one batch lookup and refuses, before any other contact is used."""
    pia = world.person("pia-kt")
    device = world.person("anna", register=False, profile="anna-before-the-log")
    device.ok("login", "anna")
    device.client.fingerprint(pia.name)
    trust = device.profile / "trust.json"
    state = json.loads(trust.read_text())
    del state["key_logs"]  # as a profile written before the log existed
    trust.write_text(json.dumps(state))
    forged = forged_identity(world, pia.name)
    logoperator.log_identity(world.server, pia.user_id, forged)
    world.db.execute("UPDATE users SET identity = ? WHERE username = ?", forged, pia.name)
    proxy = RewritingTransport()
    with pytest.raises(UnverifiedKeyError, match="log shows other keys for 'pia-kt'"):
        device.device(proxy).contact("bob")
    assert proxy.sent("POST", r".*/log/lookup")
    assert not proxy.sent("GET", r".*/users/bob")  # nothing else was asked before the check
