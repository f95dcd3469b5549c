"""L14, L15, S18, S20 and the access log: login downgrades, oracles, revocation, history."""

from __future__ import annotations

import statistics
import time

import httpx
import pytest

from client_sdk import TamperedLogError
from vault.errors import DowngradeError, SecurityError, WrongPassphrase

from .harness import PASSPHRASE, RewritingTransport, World, json_answer, world

__all__ = ["world"]


def weak_prelogin(request: httpx.Request, response: httpx.Response) -> httpx.Response:
    if request.url.path.endswith("/auth/prelogin"):
        body = response.json()
        body["kdf"]["memory_kib"] = 8192
        body["kdf"]["iterations"] = 1
        return json_answer(response, body)
    return response


def test_l14_weak_kdf_parameters_are_refused_before_anything_is_sent(world: World) -> None:
    proxy = RewritingTransport(weak_prelogin)
    with pytest.raises(DowngradeError):
        world.client("anna-l14", transport=proxy).login("anna", PASSPHRASE)
    assert proxy.seen == ["POST /api/v1/auth/prelogin"]  # no login key derived or sent


def test_l14_parameters_below_what_this_device_used_before_are_refused(world: World) -> None:
    device = world.client("anna-l14b")
    device.profile.raise_kdf_floor("anna", 131072, 4)  # this device once used stronger ones
    proxy = RewritingTransport(lambda _req, resp: resp)
    with pytest.raises(DowngradeError):
        world.client("anna-l14b", transport=proxy).login("anna", PASSPHRASE)
    assert "POST /api/v1/auth/login" not in proxy.seen


def test_l15_a_tampered_bundle_looks_exactly_like_a_wrong_passphrase(world: World) -> None:
    carol = world.client("carol-l15")
    carol.register("carol-l15", PASSPHRASE)
    with pytest.raises(WrongPassphrase) as wrong:
        world.client("carol-l15-a").login("carol-l15", PASSPHRASE + " typo")
    bundle = bytearray(
        world.db.one("SELECT passphrase_bundle FROM users WHERE username = 'carol-l15'")
    )
    bundle[-5] ^= 1
    world.db.execute(
        "UPDATE users SET passphrase_bundle = ? WHERE username = 'carol-l15'", bytes(bundle)
    )
    proxy = RewritingTransport(lambda _req, resp: resp)
    with pytest.raises(WrongPassphrase) as tampered:
        world.client("carol-l15-b", transport=proxy).login("carol-l15", PASSPHRASE)
    assert str(tampered.value) == str(wrong.value)
    assert proxy.seen[-1] == "POST /api/v1/auth/login"  # nothing derived is sent afterwards


def test_s18_revoked_users_cannot_read_later_documents_even_with_their_old_rows(
    world: World,
) -> None:
    dossier, _ = world.dossier_with(("voor.txt", b"before the revoke"))
    world.anna.share(dossier, "bob")
    assert [d.name for d in world.bob.documents(dossier)] == ["voor.txt"]
    columns = (
        "grant_id, kind, document_id, number, recipient_id, rights, expires_at, dossier_id, "
        'granter_id, "grant", created_at'
    )
    old_rows = world.db.rows(
        f"SELECT {columns} FROM grants WHERE dossier_id = ? AND recipient_id = ?",  # noqa: S608
        dossier,
        world.bob.my_id,
    )
    world.anna.revoke(dossier, "bob")
    path = world.root / "src" / "na.txt"
    path.write_bytes(b"written after the revoke")
    later = world.anna.add(dossier, path).document_id
    for row in old_rows:  # the operator gives bob his access rows back
        world.db.execute(
            f"INSERT INTO grants ({columns}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",  # noqa: S608
            *row,
        )
    out = world.root / "s18"
    out.mkdir()
    with pytest.raises(SecurityError, match="epoch"):
        world.bob.get(later, out / "na.txt")
    assert list(out.iterdir()) == []


def prelogin(client: httpx.Client, username: str) -> httpx.Response:
    return client.post("/api/v1/auth/prelogin", json={"username": username})


def test_s20_known_and_unknown_usernames_are_indistinguishable(world: World) -> None:
    with httpx.Client(base_url=world.server.url) as http:
        known, unknown = prelogin(http, "anna"), prelogin(http, "nobody-by-this-name")
        assert known.status_code == unknown.status_code == 200
        assert set(known.json()) == set(unknown.json())
        assert set(known.json()["kdf"]) == set(unknown.json()["kdf"])
        assert {k: v for k, v in known.json()["kdf"].items() if k != "salt"} == {
            k: v for k, v in unknown.json()["kdf"].items() if k != "salt"
        }
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


def test_an_edited_access_log_entry_is_detected(world: World) -> None:
    dossier, _ = world.dossier_with(("a.txt", b"a"))
    world.anna.share(dossier, "bob")
    assert len(world.anna.access_log(dossier)) == 2
    world.db.execute(
        "UPDATE log_entries SET actor_id = ? WHERE dossier_id = ? AND seq = 2",
        world.bob.my_id,
        dossier,
    )
    with pytest.raises(TamperedLogError, match="altered"):
        world.anna.access_log(dossier)


def test_history_dropped_after_it_was_seen_is_detected(world: World) -> None:
    dossier, _ = world.dossier_with(("a.txt", b"a"), ("b.txt", b"b"))
    assert len(world.anna.access_log(dossier)) == 2
    world.db.execute("DELETE FROM log_entries WHERE dossier_id = ? AND seq = 2", dossier)
    with pytest.raises(TamperedLogError, match="dropped history"):
        world.anna.access_log(dossier)
