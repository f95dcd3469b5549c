"""The business directory end to end, with a real server process and real clients: a business
publishes its signed profile; a resident finds it by place, postcode and service, sees whether
the operator verified it, and shares a dossier with it through the usual share path. The
server plays the attacker by rewriting its database: a profile changed after signing, one moved
to another business, one signed with a retired epoch key after the rotation. Each stops the
search (a SecurityError: exit status 3 in the CLI), and nothing is listed."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from client_sdk import Client
from client_sdk.business import ProfileFields
from client_sdk.localserver import LocalServer
from vault.business import make_profile
from vault.errors import IntegrityError, KeyMismatchError, SecurityError, SignatureError

from .cli_runner import KLUIS, Person

PASSPHRASE = "een lange zin voor de test van het register"
WIERDA = ProfileFields(
    kvk=12345678,
    latitude=53.3267,
    longitude=6.7525,
    name="Bouwbedrijf Wierda",
    postcode="9981 AB",
    place="Uithuizen",
    address="Hoofdstraat 12",
    services=("aannemer", "funderingsherstel"),
    contact="0595 123 456",
)


@pytest.fixture
def server(live_server: LocalServer) -> LocalServer:
    return live_server


def user(server: LocalServer, root: Path, name: str) -> Client:
    c = Client(server.url, str(root / name))
    c.register(name, PASSPHRASE)
    return c


def rows(server: LocalServer, sql: str, *args: object) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(server.db_path)) as db, db:
        return list(db.execute(sql, args))


@pytest.fixture
def town(server: LocalServer, tmp_path: Path) -> Iterator[tuple[Client, Client]]:
    """jan runs the business wierda (its admin), anna is a resident."""
    jan, anna = user(server, tmp_path, "jan"), user(server, tmp_path, "anna")
    jan.create_organisation("wierda", "contractor")
    jan.businesses.publish("wierda", WIERDA)
    yield jan, anna
    jan.close()
    anna.close()


def test_a_resident_finds_a_business_sees_it_unverified_then_verified_and_shares_with_it(
    server: LocalServer, town: tuple[Client, Client]
) -> None:
    _jan, anna = town
    for query in ({"place": "uithuizen"}, {"postcode": "9981"}, {"service": "Funderingsherstel"}):
        [found] = anna.businesses.search(**query)
        assert (found.org_name, found.profile.name, found.verified) == (
            "wierda",
            WIERDA.name,
            False,
        )
    assert anna.businesses.search(service="bakker") == []
    fingerprint = found.fingerprint
    done = subprocess.run(
        [KLUIS, "server", "admin", "verify-org", "wierda", "--fingerprint", fingerprint,
         "--data-dir", str(server.data_dir)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [found] = anna.businesses.search(place="Uithuizen")
    assert found.verified_by == "operator"
    dossier_id = anna.create_dossier("Schade Hoofdstraat 3")
    anna.share(dossier_id, f"@{found.org_name}")  # the one share path, as from the profile


def test_a_profile_changed_by_the_server_stops_the_search(
    server: LocalServer, town: tuple[Client, Client]
) -> None:
    _jan, anna = town
    [(profile,)] = rows(server, "SELECT profile FROM business_profiles")
    assert isinstance(profile, bytes)
    forged = profile.replace(b"Uithuizen", b"Uithuizer")
    rows(server, "UPDATE business_profiles SET profile = ?", forged)
    with pytest.raises(SignatureError):
        anna.businesses.search(place="Uithuizen")


def test_a_profile_moved_to_another_business_stops_the_search(
    server: LocalServer, town: tuple[Client, Client], tmp_path: Path
) -> None:
    jan, anna = town
    piet = user(server, tmp_path, "piet")
    piet.create_organisation("bakker", "contractor")
    piet.businesses.publish("bakker", ProfileFields(
        kvk=87654321, latitude=53.3, longitude=6.8, name="Bakkerij Piet", postcode="9981 AC",
        place="Uithuizen", address="Kerkstraat 1", services=("bakker",)))  # fmt: skip
    bakker = piet.organisation("bakker").org_id
    [(profile,)] = rows(server, "SELECT profile FROM business_profiles WHERE org_id = ?", bakker)
    wierda = jan.organisation("wierda").org_id
    rows(server, "UPDATE business_profiles SET profile = ? WHERE org_id = ?", profile, wierda)
    with pytest.raises(IntegrityError):
        anna.businesses.search(place="Uithuizen")
    piet.close()


def test_a_profile_signed_with_a_retired_key_after_the_rotation_stops_the_search(
    server: LocalServer, town: tuple[Client, Client], tmp_path: Path
) -> None:
    jan, anna = town
    kees = user(server, tmp_path, "kees")
    jan.add_member("wierda", "kees")
    old = kees.organisation("wierda")
    retired = old.keys[1]  # kees holds epoch 1's keys, as a member
    jan.remove_member("wierda", "kees")
    jan.businesses.publish("wierda", WIERDA)  # epoch 2's profile
    late = make_profile(
        retired, org_fingerprint=old.chain.fingerprint_id, issued_at=4_000_000_000,
        kvk=11111111, latitude=53.0, longitude=6.0, name="Wierda (nieuw rekeningnummer)",
        postcode="9981AB", place="Uithuizen", address="Hoofdstraat 12", services=["aannemer"],
    )  # fmt: skip
    rows(server, "UPDATE business_profiles SET profile = ?", late)  # the server helps kees
    with pytest.raises(KeyMismatchError):
        anna.businesses.search(service="aannemer")
    kees.close()


def test_the_cli_searches_and_a_forged_profile_is_exit_3(
    server: LocalServer, town: tuple[Client, Client], tmp_path: Path
) -> None:
    anna = Person(server.url, tmp_path / "anna", PASSPHRASE)
    listed = anna.ok("business", "search", "--service", "aannemer")
    assert "@wierda" in listed and "Bouwbedrijf Wierda" in listed and "NOT verified" in listed
    [(profile,)] = rows(server, "SELECT profile FROM business_profiles")
    assert isinstance(profile, bytes)
    rows(
        server, "UPDATE business_profiles SET profile = ?", profile[:-1] + bytes([profile[-1] ^ 1])
    )
    result = anna.run("business", "search", "--service", "aannemer")
    assert result.returncode == 3 and "SECURITY CHECK FAILED" in result.stderr
    assert "Wierda" not in result.stdout
    assert issubclass(SignatureError, SecurityError)
