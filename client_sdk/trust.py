"""Deciding whose keys to believe: trust on first use, pinned fingerprints, explicit verification.

The server hands out identity records; it could hand out its own keys instead (threat K2) or
rewrite a user's record (K1, S22). A record is only used if (1) its self-signature verifies,
(2) it is for the username and user id that were asked for, and (3) its user id, username and
keys match the pin this profile made when it first saw that user (a pinned name shown with
another account, or a pinned account shown under another name, is a changed key too). A
changed key is an error until the user compares the new fingerprint out of band and runs
`kluis verify`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vault.errors import KeyMismatchError, MalformedError
from vault.keys import Identity, normalise_fingerprint

from .errors import ClientError, UnverifiedKeyError
from .profile import Profile


@dataclass(frozen=True)
class Contact:
    identity: Identity
    verified: bool
    first_seen: bool


def check_record(identity: Identity, *, username: str | None, user_id: str | None) -> None:
    if username is not None and identity.username != username:
        raise KeyMismatchError(
            f"the server answered with the identity of {identity.username!r} for {username!r}"
        )
    if user_id is not None and identity.user_id.hex() != user_id:
        raise KeyMismatchError(f"the server answered with another user's identity for {user_id}")


# The name a pin keeps once `kluis verify` gave its username to another account: no username
# is empty (vault.identity.USERNAME_PATTERN), so a record under any name differs from it.
RELEASED = ""


def _pinned_as(pin: dict[str, Any]) -> str:
    name = pin.get("username")
    if name == RELEASED:
        return "an account whose name was given to another account on this device"
    return f"the account pinned on this device as {name!r}"


def trust(profile: Profile, identity: Identity) -> Contact:
    """Pin on first sight; afterwards insist on the pinned keys, name and user id
    (`pinned_contact`)."""
    contact = pinned_contact(profile, identity)
    if contact is not None:
        return contact
    profile.save_pin(
        identity.user_id.hex(),
        username=identity.username,
        key_id=identity.key_id.hex(),
        fingerprint=identity.fingerprint,
        verified=False,
    )
    return Contact(identity, verified=False, first_seen=True)


def pinned_contact(profile: Profile, identity: Identity) -> Contact | None:
    """The contact as pinned, None if never seen; a record that differs from its pin is
    refused. Pins nothing: a record is pinned (`trust`) only after it passed the key
    transparency log, but a changed pin can be named before the log is asked.

    A pin binds a user id, a username and a key together. A record that keeps the user id but
    shows another username, or shows a pinned username with another user id, is refused like
    a changed key, whichever lookup (by name or by id) brought it: otherwise the server could
    answer for one contact with another account this device has seen (and maybe verified).
    """
    user_id = identity.user_id.hex()
    for other_id, other in profile.pins_for_username(identity.username):
        if other_id != user_id:
            raise UnverifiedKeyError(
                f"the server now gives {identity.username!r} a different account than the one "
                f"pinned on this device: pinned fingerprint {other['fingerprint']}, the server "
                f"now shows {identity.fingerprint}. This may be an attack. Compare the new "
                f"fingerprint with {identity.username} in person and run `kluis verify` if the "
                "change is genuine."
            )
    pin = profile.pin(user_id)
    if pin is None:
        return None
    if pin["username"] != identity.username:
        raise UnverifiedKeyError(
            f"the server shows {_pinned_as(pin)} (fingerprint {pin['fingerprint']}) under "
            f"the name {identity.username!r}. This may be an attack. Compare the fingerprint "
            f"{identity.fingerprint} with {identity.username} in person and run `kluis verify` "
            "if it is genuine."
        )
    if pin["key_id"] != identity.key_id.hex():
        raise UnverifiedKeyError(
            f"the keys of {identity.username!r} changed: pinned fingerprint {pin['fingerprint']}, "
            f"the server now shows {identity.fingerprint}. This may be an attack. Compare the new "
            f"fingerprint with {identity.username} in person and run `kluis verify` if it is "
            "genuine."
        )
    return Contact(identity, verified=bool(pin["verified"]), first_seen=False)


def verify(profile: Profile, identity: Identity, fingerprint: str) -> None:
    """Mark `identity` verified after an out-of-band comparison; replaces a changed pin."""
    try:
        typed = normalise_fingerprint(fingerprint)
    except MalformedError as exc:  # a typing mistake, not an attack
        raise ClientError(str(exc)) from None
    if typed != identity.fingerprint:
        raise KeyMismatchError(
            f"the fingerprint you entered does not match the keys the server shows for "
            f"{identity.username!r} ({identity.fingerprint}); do not trust this account"
        )
    user_id = identity.user_id.hex()
    # The verified account now owns its name on this device. Another account pinned under the
    # same name (the user re-registered, or a name was reassigned) keeps its keys pinned but
    # loses the name, so it is refused under any name until it is verified in its turn.
    for other_id, other in profile.pins_for_username(identity.username):
        if other_id != user_id:
            profile.save_pin(
                other_id,
                username=RELEASED,
                key_id=str(other["key_id"]),
                fingerprint=str(other["fingerprint"]),
                verified=False,
            )
    profile.save_pin(
        user_id,
        username=identity.username,
        key_id=identity.key_id.hex(),
        fingerprint=identity.fingerprint,
        verified=True,
    )
