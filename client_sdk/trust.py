"""Deciding whose keys to believe: trust on first use, pinned fingerprints, explicit verification.

The server hands out identity records; it could hand out its own keys instead (threat K2) or
rewrite a user's record (K1, S22). A record is only used if (1) its self-signature verifies,
(2) it is for the username and user id that were asked for, and (3) its keys match the
fingerprint this profile pinned when it first saw that user. A changed key is an error until the
user compares the new fingerprint out of band and runs `kluis verify`.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def trust(profile: Profile, identity: Identity) -> Contact:
    """Pin on first sight; afterwards insist on the pinned keys."""
    user_id = identity.user_id.hex()
    pin = profile.pin(user_id)
    if pin is None:
        other = profile.pin_for_username(identity.username)
        if other is not None:
            raise UnverifiedKeyError(
                f"the server now gives {identity.username!r} a different account than the one "
                f"pinned on this device (fingerprint {other[1]['fingerprint']}); compare "
                "fingerprints and run `kluis verify` if the change is genuine"
            )
        profile.save_pin(
            user_id,
            username=identity.username,
            key_id=identity.key_id.hex(),
            fingerprint=identity.fingerprint,
            verified=False,
        )
        return Contact(identity, verified=False, first_seen=True)
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
    profile.save_pin(
        identity.user_id.hex(),
        username=identity.username,
        key_id=identity.key_id.hex(),
        fingerprint=identity.fingerprint,
        verified=True,
    )
