"""L14, L15, S18-S21 and the access log: login downgrades, oracles, revocation, recovery,
enumeration, what a database dump yields, and rewritten history."""

from __future__ import annotations

import base64
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from client_sdk import TamperedLogError
from client_sdk.errors import RateLimited
from vault.errors import (
    DowngradeError,
    ExpiredError,
    KeyMismatchError,
    SecurityError,
    VaultError,
    WrongPassphrase,
)
from vault.kdf import KdfParams, passphrase_keys
from vault.keys import PrivateIdentity
from vault.kinds import Rights
from vault.logchain import entry_hash

from .harness import (
    PASSPHRASE,
    RewritingTransport,
    World,
    assert_fail_closed,
    forge_version,
    json_answer,
    rewrite_json,
    stored_bytes,
    world,
)

__all__ = ["world"]


# -- L14 KDF downgrade -----------------------------------------------------------------------
def weak_prelogin(request: httpx.Request, response: httpx.Response) -> httpx.Response | None:
    if request.url.path.endswith("/auth/prelogin"):
        body = response.json()
        body["kdf"]["memory_kib"] = 8192
        body["kdf"]["iterations"] = 1
        return json_answer(response, body)
    return None


def test_l14_weak_kdf_parameters_are_refused_before_anything_is_sent(world: World) -> None:
    proxy = RewritingTransport(weak_prelogin)
    device = world.person("anna", register=False, profile="anna-l14")
    with pytest.raises(DowngradeError) as refused:
        device.device(proxy).login("anna", PASSPHRASE)
    assert_fail_closed(refused, "DowngradeError")
    assert proxy.seen == ["POST /api/v1/auth/prelogin"]  # no login key derived or sent
    assert proxy.sent("POST", r".*/auth/login") == []


@pytest.mark.parametrize(
    "change",
    [
        {"iterations": 2},
        {"memory_kib": 65535},
        {"parallelism": 4},
        {"algorithm": "argon2i"},
        {"memory_kib": 1 << 30},  # a server trying to exhaust the client
    ],
    ids=["iterations", "memory", "parallelism", "algorithm", "huge-memory"],
)
def test_l14_every_weakened_parameter_is_refused_without_a_login(
    world: World, change: dict[str, Any]
) -> None:
    def rewrite(body: dict[str, Any]) -> dict[str, Any]:
        body["kdf"].update(change)
        return body

    proxy = RewritingTransport(rewrite_json("POST", r".*/auth/prelogin", rewrite))
    device = world.person("anna", register=False, profile=f"anna-l14-{next(iter(change))}")
    with pytest.raises(SecurityError):
        device.device(proxy).login("anna", PASSPHRASE)
    assert proxy.sent("POST", r".*/auth/login") == []


def test_l14_parameters_below_what_this_device_used_before_are_refused(world: World) -> None:
    device = world.person("anna", register=False, profile="anna-l14b")
    device.client.profile.raise_kdf_floor("anna", 131072, 4)  # this device once used stronger
    proxy = RewritingTransport()
    with pytest.raises(DowngradeError):
        device.device(proxy).login("anna", PASSPHRASE)
    assert proxy.sent("POST", r".*/auth/login") == []


# -- L15 decryption oracle -------------------------------------------------------------------
def test_l15_a_tampered_bundle_looks_exactly_like_a_wrong_passphrase(world: World) -> None:
    world.person("carol-l15")
    laptop = world.person("carol-l15", register=False, profile="carol-l15-a")
    with pytest.raises(WrongPassphrase) as wrong:
        laptop.client.login("carol-l15", PASSPHRASE + " typo")
    wrong_cli = laptop.run_cli("login", "carol-l15", env={"KLUIS_PASSPHRASE": "typo"})
    bundle = bytearray(
        world.db.one("SELECT passphrase_bundle FROM users WHERE username = 'carol-l15'")
    )
    bundle[-5] ^= 1
    world.db.execute(
        "UPDATE users SET passphrase_bundle = ? WHERE username = 'carol-l15'", bytes(bundle)
    )
    proxy = RewritingTransport()
    with pytest.raises(WrongPassphrase) as tampered:
        laptop.device(proxy).login("carol-l15", PASSPHRASE)
    assert type(tampered.value) is type(wrong.value)
    assert str(tampered.value) == str(wrong.value)
    assert proxy.seen[-1] == "POST /api/v1/auth/login"  # nothing derived is sent afterwards
    tampered_cli = laptop.run_cli("login", "carol-l15")
    assert (tampered_cli.returncode, tampered_cli.stderr, tampered_cli.stdout) == (
        wrong_cli.returncode,
        wrong_cli.stderr,
        wrong_cli.stdout,
    )
    assert wrong_cli.returncode != 0
    assert laptop.client.profile.load_session() is None


def test_l15_every_kind_of_damaged_bundle_reads_as_a_wrong_passphrase(world: World) -> None:
    """format.md section 4: bad magic, purpose, lengths, trailing bytes, a failing tag: all
    are reported exactly as a wrong passphrase (no MalformedError that would tell them apart)."""
    world.person("mia-l15")
    laptop = world.person("mia-l15", register=False, profile="mia-l15-laptop")
    with pytest.raises(WrongPassphrase) as wrong:
        laptop.client.login("mia-l15", "not the passphrase")
    original: bytes = world.db.one("SELECT passphrase_bundle FROM users WHERE username = 'mia-l15'")
    damaged = {
        "magic": b"XXXX" + original[4:],
        "purpose": original[:5] + b"\x02" + original[6:],
        "user-id": original[:6] + bytes([original[6] ^ 1]) + original[7:],
        "truncated": original[:-1],
        "short": original[:20],
        "trailing": original + b"\x00",
        "tag": original[:-1] + bytes([original[-1] ^ 1]),
    }
    for what, bundle in damaged.items():
        world.db.execute(
            "UPDATE users SET passphrase_bundle = ? WHERE username = 'mia-l15'", bundle
        )
        with pytest.raises(VaultError) as tampered:  # whichever, compared below
            laptop.client.login("mia-l15", PASSPHRASE)
        assert (type(tampered.value), str(tampered.value)) == (
            type(wrong.value),
            str(wrong.value),
        ), what
    world.db.execute("UPDATE users SET passphrase_bundle = ? WHERE username = 'mia-l15'", original)
    laptop.client.login("mia-l15", PASSPHRASE)  # the untouched bundle still opens


# -- S18 revocation --------------------------------------------------------------------------
GRANT_COLUMNS = (
    "grant_id, kind, document_id, number, recipient_id, rights, expires_at, dossier_id, "
    'granter_id, "grant", created_at'
)


def give_back(w: World, rows: list[tuple[Any, ...]]) -> None:
    """The operator re-inserts grant rows it was told to delete."""
    for row in rows:
        w.db.execute(
            f"INSERT OR IGNORE INTO grants ({GRANT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",  # noqa: S608
            *row,
        )


def test_s18_revoked_users_cannot_read_later_documents_even_with_their_old_rows(
    world: World, tmp_path: Path
) -> None:
    dossier, [old] = world.dossier_with(("voor.txt", b"before the revoke"))
    world.anna.client.share(dossier, "bob")
    assert [d.name for d in world.bob.client.documents(dossier)] == ["voor.txt"]
    old_rows = world.db.rows(
        f"SELECT {GRANT_COLUMNS} FROM grants WHERE dossier_id = ? AND recipient_id = ?",  # noqa: S608
        dossier,
        world.bob.user_id,
    )
    world.anna.client.revoke(dossier, "bob")
    later = world.anna.client.add(dossier, world.file("na.txt", b"written after")).document_id
    world.anna.client.update(old, world.file("voor.txt", b"second version, after the revoke"))
    give_back(world, old_rows)
    for doc in (later, old):
        out = tmp_path / f"{doc}.txt"
        with pytest.raises(SecurityError) as refused:
            world.bob.client.get(doc, out)
        assert_fail_closed(refused, "epoch|key", output=out)
        assert_fail_closed(world.bob.run_cli("get", doc, "-o", str(out)), "key", output=out)
    assert list(tmp_path.iterdir()) == []


def test_s18_an_expired_share_stays_expired_when_the_server_extends_it(
    world: World, tmp_path: Path
) -> None:
    """The expiry inside the signed grant counts, not the server's `expires_at` column."""
    dossier, [doc] = world.dossier_with(("tijdelijk.txt", b"for a short while"))
    world.anna.client.share(dossier, "bob", expires_at=int(time.time()) + 2)
    assert [d.name for d in world.bob.client.documents(dossier)] == ["tijdelijk.txt"]
    time.sleep(3)
    world.db.execute(
        "UPDATE grants SET expires_at = 0 WHERE dossier_id = ? AND recipient_id = ?",
        dossier,
        world.bob.user_id,
    )
    out = tmp_path / "t.txt"
    with pytest.raises((SecurityError, ExpiredError)):
        world.bob.client.get(doc, out)
    result = world.bob.run_cli("get", doc, "-o", str(out))
    assert result.returncode != 0, result.stdout
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_s18_a_revoke_the_server_only_pretends_to_carry_out_gives_no_new_key(
    world: World, tmp_path: Path
) -> None:
    """The server answers anna's DELETE of carol's grants with 204 but keeps them. The rotation
    must still leave carol out (it runs before the DELETE, from anna's own verified grants):
    the new epoch key is never wrapped for her, so she cannot read documents added after."""
    carol = world.person("carol-s18-fake")
    dossier, _ = world.dossier_with(("voor.txt", b"before the revoke"))
    world.anna.client.share(dossier, carol.name)

    def pretend(request: httpx.Request) -> httpx.Response | None:
        if request.method == "DELETE" and request.url.path.endswith("/grants"):
            return httpx.Response(204)  # "done", and nothing was deleted
        return None

    proxy = RewritingTransport(answer=pretend)
    with world.anna.device(proxy) as owner:
        assert owner.revoke(dossier, carol.name) == 2
    assert proxy.sent("DELETE", r".*/grants")  # the revoke was asked for, and faked
    epochs = sorted(g.number for g in world.db.signed_grants(dossier, carol.user_id))
    assert epochs == [1], (
        f"the revoked user holds grants for epochs {epochs}: the rotation wrapped the new key "
        "for everyone the server still listed, the user being revoked included"
    )
    later = world.anna.client.add(dossier, world.file("na.txt", b"written after the revoke"))
    out = tmp_path / "na.txt"
    with pytest.raises(SecurityError) as refused:
        carol.client.get(later.document_id, out)
    assert_fail_closed(refused, "epoch|key", output=out)


def test_s18_a_revoked_writer_cannot_write_again_with_the_grant_rows_given_back(
    world: World,
) -> None:
    """anna gives carol write access, then revokes it (epoch 2). The operator copies carol's
    old rows back: an epoch-1 WRITE grant that anna really signed. carol writes a new document
    with the epoch-1 key she kept. anna's client must not sign it into her index: a write
    grant for a key epoch that revocation ended gives no right to write now."""
    carol = world.person("carol-s18-writer")
    dossier, _ = world.dossier_with(("voor.txt", b"before the revoke"))
    world.anna.client.share(dossier, carol.name, write=True)
    old_key = carol.client.load_dossier(dossier).keys[1]
    old_rows = world.db.rows(
        f"SELECT {GRANT_COLUMNS} FROM grants WHERE dossier_id = ? AND recipient_id = ?",  # noqa: S608
        dossier,
        carol.user_id,
    )
    assert world.anna.client.revoke(dossier, carol.name) == 2
    give_back(world, old_rows)
    assert [g.rights for g in world.db.signed_grants(dossier, carol.user_id)] == [Rights.WRITE]
    planted = forge_version(
        world,
        carol.keys,
        dossier_id=dossier,
        document_id=os.urandom(16).hex(),
        version=1,
        epoch=1,
        dossier_key=old_key,
        content=b"written after the revoke",
    )
    listing = {d.document_id: d for d in world.anna.client.documents(dossier)}
    assert listing[planted].author == carol.name
    assert not listing[planted].confirmed
    assert planted not in world.db.indexed(dossier), (
        "anna's client signed a document written after the revoke by the revoked writer into "
        "her index: her old (epoch 1) write grant, re-added by the server, still counted"
    )


def test_s18_a_rotation_takes_rights_and_expiry_from_the_signed_grant_not_the_row(
    world: World,
) -> None:
    """anna shares read-only with bob for a day. The operator rewrites bob's row to say
    write, never expiring. When anna revokes carol, the rotation re-wraps the new key for bob
    as her signed grant says: read only, same expiry."""
    carol = world.person("carol-s18-rights")
    dossier, _ = world.dossier_with(("a.txt", b"a"))
    expires_at = int(time.time()) + 86400
    world.anna.client.share(dossier, world.bob.name, expires_at=expires_at)
    world.anna.client.share(dossier, carol.name)
    world.db.execute(
        "UPDATE grants SET rights = 2, expires_at = 0 WHERE dossier_id = ? AND recipient_id = ?",
        dossier,
        world.bob.user_id,
    )
    assert world.anna.client.revoke(dossier, carol.name) == 2
    [new] = [g for g in world.db.signed_grants(dossier, world.bob.user_id) if g.number == 2]
    assert (Rights(new.rights), new.expires_at) == (Rights.READ, expires_at), (
        "anna's rotation took bob's rights or expiry from the server's columns, not from the "
        "grant she signed"
    )


# -- S19 recovery abuse ----------------------------------------------------------------------
def test_s19_registration_asks_the_server_for_no_key_to_wrap_to(world: World) -> None:
    """Nothing the server says at registration can add an escrow or recovery key."""
    proxy = RewritingTransport()
    person = world.person("ivy-s19", register=False)
    person.device(proxy).register("ivy-s19", PASSPHRASE)
    # after the login, the device pins the key log and checks its own keys are in it (S22):
    # a lookup of its own name, no key to wrap to
    assert proxy.seen == [
        "POST /api/v1/users",
        "POST /api/v1/auth/login",
        "GET /log/parameters",
        "GET /api/v1/users/ivy-s19",
    ]
    sent = json.loads(proxy.bodies[0])
    assert set(sent) == {
        "user_id",
        "username",
        "display_name",
        "identity",
        "kdf",
        "passphrase_bundle",
        "recovery_bundle",
        "auth_key",
        "recovery_auth_key",
    }


@pytest.mark.parametrize("swap", ["bundle", "identity"])
def test_s19_recovery_refuses_a_swapped_bundle_or_identity(world: World, swap: str) -> None:
    victim = world.person(f"jan-s19-{swap}", register=False)
    code = victim.client.register(victim.name, PASSPHRASE)
    other = world.person(f"kim-s19-{swap}")
    if swap == "bundle":
        stolen = world.db.one("SELECT recovery_bundle FROM users WHERE username = ?", other.name)
        world.db.execute(
            "UPDATE users SET recovery_bundle = ? WHERE username = ?", stolen, victim.name
        )
    else:
        forged = PrivateIdentity.generate(bytes.fromhex(victim.user_id), victim.name).public
        world.db.execute(
            "UPDATE users SET identity = ? WHERE username = ?", forged.encode(), victim.name
        )
    proxy = RewritingTransport()
    device = world.person(victim.name, register=False, profile=f"{victim.name}-new")
    with pytest.raises((WrongPassphrase, KeyMismatchError)):
        device.device(proxy).recover(victim.name, code.phrase, "a brand new passphrase")
    assert proxy.sent("POST", r".*/auth/reset-passphrase") == []  # nothing new was sealed
    assert device.client.profile.load_session() is None


# -- S20 enumeration -------------------------------------------------------------------------
def prelogin(client: httpx.Client, username: str) -> httpx.Response:
    return client.post("/api/v1/auth/prelogin", json={"username": username})


def test_s20_known_and_unknown_usernames_are_indistinguishable(world: World) -> None:
    with httpx.Client(base_url=world.server.url) as http:
        known, unknown = prelogin(http, "anna"), prelogin(http, "nobody-by-this-name")
        assert known.status_code == unknown.status_code == 200
        assert known.headers.get("content-type") == unknown.headers.get("content-type")
        assert set(known.json()) == set(unknown.json())
        assert set(known.json()["kdf"]) == set(unknown.json()["kdf"])
        assert {k: v for k, v in known.json()["kdf"].items() if k != "salt"} == {
            k: v for k, v in unknown.json()["kdf"].items() if k != "salt"
        }
        salt = base64.b64decode(unknown.json()["kdf"]["salt"])
        assert len(salt) == len(base64.b64decode(known.json()["kdf"]["salt"])) == 16
        assert unknown.json() == prelogin(http, "nobody-by-this-name").json()  # stable salt
        assert unknown.json() != prelogin(http, "another-stranger").json()
        timings: dict[str, list[float]] = {"anna": [], "nobody-by-this-name": []}
        for _ in range(30):
            for name, samples in timings.items():
                start = time.perf_counter()
                prelogin(http, name)
                samples.append(time.perf_counter() - start)
    ratio = statistics.median(timings["anna"]) / statistics.median(timings["nobody-by-this-name"])
    assert 0.5 < ratio < 2.0, ratio


def test_s20_the_fake_salt_survives_a_server_restart(world: World) -> None:
    with httpx.Client(base_url=world.server.url) as http:
        before = prelogin(http, "nobody-restart").json()
    world.server.restart()
    with httpx.Client(base_url=world.server.url) as http:
        assert prelogin(http, "nobody-restart").json() == before


# -- S21 brute force and database dumps ------------------------------------------------------
def test_s21_a_database_dump_holds_no_passphrase_key_or_private_key(world: World) -> None:
    m, t, salt, auth_hash = world.db.one(
        "SELECT kdf_memory_kib, kdf_iterations, kdf_salt, auth_hash FROM users "
        "WHERE username = 'anna'"
    )
    keys = passphrase_keys(PASSPHRASE, KdfParams(1, m, t, 1, salt))
    private = world.anna.client.session.private_keys
    secrets = [
        PASSPHRASE.encode(),
        keys.auth_key,
        keys.bundle_key,
        *(private[i : i + 32] for i in range(0, len(private), 32)),
    ]
    encodings = [
        form
        for s in secrets
        for form in (s, base64.b64encode(s), base64.urlsafe_b64encode(s), s.hex().encode())
    ]
    dump = stored_bytes(world.server)
    for form in encodings:
        assert not any(form in blob for blob in dump)
    assert auth_hash.startswith("$argon2id$")


def test_s21_login_attempts_are_throttled_per_account(world: World) -> None:
    target = world.person("lex-s21")
    statuses = []
    with httpx.Client(base_url=world.server.url) as http:
        for _ in range(12):
            answer = http.post(
                "/api/v1/auth/login",
                json={"username": target.name, "auth_key": base64.b64encode(bytes(32)).decode()},
            )
            statuses.append(answer.status_code)
    assert statuses[0] == 401
    assert 429 in statuses, statuses
    with pytest.raises(RateLimited):  # even the right passphrase waits now
        world.person(target.name, register=False, profile="lex-s21-b").client.login(
            target.name, PASSPHRASE
        )


def test_s21_a_stranger_cannot_lock_a_user_out_of_a_device_that_logged_in_before(
    world: World,
) -> None:
    """Ten wrong passphrases from anyone used to lock the account for everyone. Now the device
    that logged in before presents its device token and is held back only by its own failures:
    the stranger, hammering away, keeps out only devices that never logged in."""
    owner = world.person("lex-s21-owner")  # registered (and so logged in) on this device
    owner.client.logout()
    wrong = base64.b64encode(bytes(32)).decode()
    with httpx.Client(base_url=world.server.url) as http:
        statuses = [
            http.post(
                "/api/v1/auth/login", json={"username": owner.name, "auth_key": wrong}
            ).status_code
            for _ in range(15)
        ]
    assert statuses[0] == 401 and statuses[-1] == 429, statuses
    result = owner.run_cli("login", owner.name)
    assert result.returncode == 0, result.stderr
    assert "Logged in as lex-s21-owner" in result.stdout
    with pytest.raises(RateLimited):  # a device that never logged in waits with the stranger
        world.person(owner.name, register=False, profile="lex-s21-owner-new").client.login(
            owner.name, PASSPHRASE
        )
    # the token rotates at each login, and the device goes on getting in
    owner.client.login(owner.name, PASSPHRASE)
    assert owner.run_cli("login", owner.name).returncode == 0


def test_s21_a_device_token_copied_to_another_account_gives_nothing(world: World) -> None:
    """The server binds a device token to one account: anna's device's token, presented for
    a locked-out account it was not made for, is no token at all."""
    target = world.person("lex-s21-target")
    target.client.logout()
    with httpx.Client(base_url=world.server.url) as http:
        for _ in range(15):
            http.post(
                "/api/v1/auth/login",
                json={"username": target.name, "auth_key": base64.b64encode(bytes(32)).decode()},
            )
    annas = world.anna.client.profile.device_token("anna")
    assert annas
    target.client.profile.save_device_token(target.name, annas)
    with pytest.raises(RateLimited):
        target.client.login(target.name, PASSPHRASE)


# -- the access log --------------------------------------------------------------------------
def test_an_edited_access_log_entry_is_detected(world: World) -> None:
    dossier, _ = world.dossier_with(("a.txt", b"a"))
    world.anna.client.share(dossier, "bob")
    assert len(world.anna.client.access_log(dossier)) == 2
    world.db.execute(
        "UPDATE log_entries SET actor_id = ? WHERE dossier_id = ? AND seq = 2",
        world.bob.user_id,
        dossier,
    )
    with pytest.raises(TamperedLogError, match="altered") as refused:
        world.anna.client.access_log(dossier)
    assert_fail_closed(refused, "entry 2 was altered")
    assert_fail_closed(world.anna.run_cli("log", dossier), "TamperedLogError")


def test_history_dropped_after_it_was_seen_is_detected(world: World) -> None:
    dossier, _ = world.dossier_with(("a.txt", b"a"), ("b.txt", b"b"))
    assert len(world.anna.client.access_log(dossier)) == 2
    world.db.execute("DELETE FROM log_entries WHERE dossier_id = ? AND seq = 2", dossier)
    with pytest.raises(TamperedLogError, match="dropped history"):
        world.anna.client.access_log(dossier)
    assert_fail_closed(world.anna.run_cli("log", dossier), "dropped history")


def test_history_rewritten_with_a_recomputed_chain_is_detected(world: World) -> None:
    """The operator rewrites entry 1 and recomputes every hash after it: the chain is valid,
    but the entry this device remembered is no longer the same."""
    dossier, _ = world.dossier_with(("a.txt", b"a"))
    world.anna.client.share(dossier, "bob")
    world.anna.ok("log", dossier)  # the CLI on this device saw entries 1 and 2
    entries = world.db.dicts("SELECT * FROM log_entries WHERE dossier_id = ? ORDER BY seq", dossier)
    entries[0]["actor_id"] = world.mallory.user_id
    prev = "0" * 64
    for entry in entries:
        entry["prev_hash"] = prev
        entry["hash"] = prev = entry_hash(prev, entry)
        world.db.execute(
            "UPDATE log_entries SET actor_id = ?, prev_hash = ?, hash = ? "
            "WHERE dossier_id = ? AND seq = ?",
            entry["actor_id"],
            entry["prev_hash"],
            entry["hash"],
            dossier,
            entry["seq"],
        )
    with pytest.raises(TamperedLogError, match="rewritten") as refused:
        world.anna.client.access_log(dossier)
    assert_fail_closed(refused, "seen before, was rewritten")
    assert_fail_closed(world.anna.run_cli("log", dossier), "was rewritten")
