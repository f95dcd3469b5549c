"""Whose keys to believe: trust on first use, pinned fingerprints, explicit verification."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from client_sdk.errors import ClientError, UnverifiedKeyError
from client_sdk.profile import Profile
from client_sdk.trust import check_record, trust, verify
from vault.errors import KeyMismatchError, SecurityError
from vault.keys import Identity, PrivateIdentity


def identity(username: str = "bob", user_id: bytes | None = None) -> Identity:
    return PrivateIdentity.generate(user_id or secrets.token_bytes(16), username).public


def other_fingerprint(fingerprint: str) -> str:
    """The same fingerprint with its first digit changed: well formed, but wrong."""
    first = "1" if fingerprint[0] != "1" else "2"
    return first + fingerprint[1:]


@pytest.fixture
def prof(tmp_path: Path) -> Profile:
    return Profile(tmp_path / "profile")


@pytest.fixture
def bob() -> Identity:
    return identity("bob")


# -- trust on first use --------------------------------------------------------------------------
def test_first_use_pins_unverified(prof: Profile, bob: Identity) -> None:
    contact = trust(prof, bob)
    assert (contact.identity, contact.verified, contact.first_seen) == (bob, False, True)
    assert prof.pin(bob.user_id.hex()) == {
        "username": "bob",
        "key_id": bob.key_id.hex(),
        "fingerprint": bob.fingerprint,
        "verified": False,
    }


def test_the_same_key_again_is_accepted_and_not_first_seen(prof: Profile, bob: Identity) -> None:
    trust(prof, bob)
    contact = trust(Profile(prof.dir), bob)  # later, in another process
    assert (contact.verified, contact.first_seen) == (False, False)


def test_a_changed_key_is_refused(prof: Profile, bob: Identity) -> None:
    trust(prof, bob)
    replaced = identity("bob", bob.user_id)  # same account, other keys (K2)
    with pytest.raises(UnverifiedKeyError) as raised:
        trust(prof, replaced)
    message = str(raised.value)
    assert bob.fingerprint in message and replaced.fingerprint in message
    assert "kluis verify" in message
    assert prof.pin(bob.user_id.hex())["key_id"] == bob.key_id.hex()  # type: ignore[index]


def test_a_changed_key_stays_refused(prof: Profile, bob: Identity) -> None:
    trust(prof, bob)
    replaced = identity("bob", bob.user_id)
    for _ in range(2):
        with pytest.raises(UnverifiedKeyError):
            trust(prof, replaced)


def test_a_changed_key_of_a_verified_contact_is_refused(prof: Profile, bob: Identity) -> None:
    trust(prof, bob)
    verify(prof, bob, bob.fingerprint)
    with pytest.raises(UnverifiedKeyError):
        trust(prof, identity("bob", bob.user_id))


def test_the_same_username_with_another_user_id_is_refused(prof: Profile, bob: Identity) -> None:
    trust(prof, bob)
    impostor = identity("bob")  # a new account that took over the name
    with pytest.raises(UnverifiedKeyError, match="different account") as raised:
        trust(prof, impostor)
    assert bob.fingerprint in str(raised.value)
    assert prof.pin(impostor.user_id.hex()) is None


def relabelled(keys: PrivateIdentity, username: str) -> Identity:
    """The same account (user id and keys), re-signed under another name."""
    return PrivateIdentity.from_private_keys(
        keys.user_id, username, keys.key_version, keys.private_keys()
    ).public


def test_a_pinned_account_shown_under_another_name_is_refused(prof: Profile) -> None:
    """K2 by id: the record keeps a pinned user id and key but carries another username."""
    bob_keys = PrivateIdentity.generate(secrets.token_bytes(16), "bob")
    trust(prof, bob_keys.public)
    verify(prof, bob_keys.public, bob_keys.public.fingerprint)
    as_hank = relabelled(bob_keys, "hank")  # a name this profile never saw
    with pytest.raises(UnverifiedKeyError, match="pinned on this device as 'bob'") as raised:
        trust(prof, as_hank)
    assert "'hank'" in str(raised.value) and "kluis verify" in str(raised.value)
    assert prof.pin(bob_keys.user_id.hex())["username"] == "bob"  # type: ignore[index]
    assert prof.pins_for_username("hank") == []
    assert trust(prof, bob_keys.public).verified  # the true record is still believed


def test_a_pinned_name_shown_with_another_pinned_account_is_refused(prof: Profile) -> None:
    """K2 by name: 'bob' answered with carol's user id and keys (both seen before), re-signed
    as 'bob'. Pinned ids with matching keys do not make the record acceptable."""
    bob = identity("bob")
    carol_keys = PrivateIdentity.generate(secrets.token_bytes(16), "carol")
    trust(prof, bob)
    trust(prof, carol_keys.public)
    as_bob = relabelled(carol_keys, "bob")
    with pytest.raises(UnverifiedKeyError, match="'bob' a different account") as raised:
        trust(prof, as_bob)
    assert bob.fingerprint in str(raised.value) and as_bob.fingerprint in str(raised.value)
    assert prof.pin(bob.user_id.hex())["username"] == "bob"  # type: ignore[index]
    assert prof.pin(carol_keys.user_id.hex())["username"] == "carol"  # type: ignore[index]
    assert not trust(prof, bob).first_seen
    assert not trust(prof, carol_keys.public).first_seen


def test_verify_gives_a_name_to_a_new_account_and_the_old_one_loses_it(
    prof: Profile, bob: Identity
) -> None:
    """bob really re-registered (a new account under his name): `kluis verify` resolves it."""
    trust(prof, bob)
    new_account = identity("bob")
    with pytest.raises(UnverifiedKeyError, match="different account"):
        trust(prof, new_account)
    verify(prof, new_account, new_account.fingerprint)
    contact = trust(prof, new_account)
    assert (contact.verified, contact.first_seen) == (True, False)
    with pytest.raises(UnverifiedKeyError, match="different account"):
        trust(prof, bob)  # the old account no longer answers for 'bob'
    old = prof.pin(bob.user_id.hex())
    assert old is not None and old["key_id"] == bob.key_id.hex()  # its keys stay pinned
    with pytest.raises(UnverifiedKeyError, match="name was given to another account"):
        trust(prof, identity("robert", bob.user_id))  # nor under another name


def test_verify_resolves_a_name_change_of_a_pinned_account(prof: Profile) -> None:
    bob_keys = PrivateIdentity.generate(secrets.token_bytes(16), "bob")
    trust(prof, bob_keys.public)
    renamed = relabelled(bob_keys, "robert")
    with pytest.raises(UnverifiedKeyError):
        trust(prof, renamed)
    verify(prof, renamed, renamed.fingerprint)  # compared in person: bob is robert now
    assert trust(prof, renamed).verified
    with pytest.raises(UnverifiedKeyError):
        trust(prof, bob_keys.public)


def test_two_pins_under_one_name_refuse_both_until_one_is_verified(prof: Profile) -> None:
    """A profile written before names were released on verify may hold 'bob' twice."""
    old, new = identity("bob"), identity("bob")
    for who in (old, new):
        prof.save_pin(
            who.user_id.hex(),
            username="bob",
            key_id=who.key_id.hex(),
            fingerprint=who.fingerprint,
            verified=False,
        )
    for who in (old, new):
        with pytest.raises(UnverifiedKeyError, match="different account"):
            trust(prof, who)
    verify(prof, new, new.fingerprint)
    assert trust(prof, new).verified
    with pytest.raises(UnverifiedKeyError):
        trust(prof, old)


def test_a_changed_key_is_a_security_failure() -> None:
    assert issubclass(UnverifiedKeyError, KeyMismatchError)
    assert issubclass(UnverifiedKeyError, SecurityError)  # the CLI exits 3


def test_contacts_are_pinned_independently(prof: Profile, bob: Identity) -> None:
    carol = identity("carol")
    trust(prof, bob)
    assert trust(prof, carol).first_seen
    assert not trust(prof, bob).first_seen


# -- explicit verification -----------------------------------------------------------------------
def test_verify_with_the_right_fingerprint_marks_verified(prof: Profile, bob: Identity) -> None:
    trust(prof, bob)
    verify(prof, bob, bob.fingerprint)
    assert prof.pin(bob.user_id.hex())["verified"] is True  # type: ignore[index]
    contact = trust(prof, bob)
    assert (contact.verified, contact.first_seen) == (True, False)


@pytest.mark.parametrize(
    "spell", [lambda f: f.replace(" ", ""), lambda f: "  " + f.replace(" ", "   ") + "\n"]
)
def test_verify_accepts_any_spacing(prof: Profile, bob: Identity, spell: object) -> None:
    verify(prof, bob, spell(bob.fingerprint))  # type: ignore[operator]
    assert trust(prof, bob).verified


def test_verify_before_first_use_pins_verified(prof: Profile, bob: Identity) -> None:
    verify(prof, bob, bob.fingerprint)
    contact = trust(prof, bob)
    assert (contact.verified, contact.first_seen) == (True, False)


def test_verify_with_a_wrong_fingerprint_is_refused(prof: Profile, bob: Identity) -> None:
    trust(prof, bob)
    with pytest.raises(KeyMismatchError, match="does not match"):
        verify(prof, bob, other_fingerprint(bob.fingerprint))
    assert prof.pin(bob.user_id.hex())["verified"] is False  # type: ignore[index]


def test_verify_with_a_wrong_fingerprint_pins_nothing(prof: Profile, bob: Identity) -> None:
    with pytest.raises(KeyMismatchError):
        verify(prof, bob, other_fingerprint(bob.fingerprint))
    assert prof.pin(bob.user_id.hex()) is None


def test_verify_with_another_users_fingerprint_is_refused(prof: Profile, bob: Identity) -> None:
    with pytest.raises(KeyMismatchError):
        verify(prof, bob, identity("carol").fingerprint)


@pytest.mark.parametrize("typed", ["", "12345", "1" * 59, "1" * 61, "abcde " * 12])
def test_verify_with_a_malformed_fingerprint_is_refused(
    prof: Profile, bob: Identity, typed: str
) -> None:
    with pytest.raises(ClientError):
        verify(prof, bob, typed)
    assert prof.pin(bob.user_id.hex()) is None


def test_verify_replaces_a_changed_pin(prof: Profile, bob: Identity) -> None:
    trust(prof, bob)
    new_keys = identity("bob", bob.user_id)  # bob really got a new device and new keys
    with pytest.raises(UnverifiedKeyError):
        trust(prof, new_keys)
    verify(prof, new_keys, new_keys.fingerprint)  # compared in person
    contact = trust(prof, new_keys)
    assert (contact.verified, contact.first_seen) == (True, False)
    with pytest.raises(UnverifiedKeyError):  # the old keys are no longer believed
        trust(prof, bob)


def test_verifying_the_old_fingerprint_does_not_accept_new_keys(
    prof: Profile, bob: Identity
) -> None:
    trust(prof, bob)
    new_keys = identity("bob", bob.user_id)
    with pytest.raises(KeyMismatchError):
        verify(prof, new_keys, bob.fingerprint)
    with pytest.raises(UnverifiedKeyError):
        trust(prof, new_keys)


# -- the record must be for who was asked for -----------------------------------------------------
def test_check_record_accepts_the_right_user(bob: Identity) -> None:
    check_record(bob, username="bob", user_id=bob.user_id.hex())
    check_record(bob, username=None, user_id=None)


def test_check_record_refuses_another_username(bob: Identity) -> None:
    with pytest.raises(KeyMismatchError, match="'bob' for 'carol'"):
        check_record(bob, username="carol", user_id=None)


def test_check_record_refuses_another_user_id(bob: Identity) -> None:
    with pytest.raises(KeyMismatchError, match="another user's identity"):
        check_record(bob, username="bob", user_id=secrets.token_hex(16))
