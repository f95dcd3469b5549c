"""The key bundle: a user's private keys sealed under the passphrase or the recovery code.

Implements section 4 ("Key bundle") of docs/format.md, with the keys of sections 2 and 5.
The purpose of a bundle follows from the keys that seal or open it: `PassphraseKeys` write and
expect a purpose-1 bundle (with its KdfParams), `RecoveryKeys` a purpose-2 bundle. A caller
therefore cannot open a recovery bundle with a passphrase key or the other way round.

Opening raises one error, `WrongPassphrase` with one message, for every failure — bad magic,
lengths, purpose, user id, key version or tag — so a server that tampers with a bundle learns
nothing from the client's reaction (threat L15). The only exception is the KDF policy
(`DowngradeError`), which is checked on the bundle's parameters before anything is derived.

The flows a client needs:

    register:  identity = PrivateIdentity.generate(user_id, username)
               keys = passphrase_keys(passphrase, KdfParams.new())
               code = RecoveryCode.generate()
               seal_bundle(identity, keys), seal_bundle(identity, code.keys())
    login:     params = bundle_kdf_params(bundle)      (or the prelogin answer)
               keys = passphrase_keys(passphrase, params, previous=highest_used)
               identity = open_bundle(bundle, keys, user_id=..., key_version=...,
                                      username=..., pinned=pinned_identity)
    change:    keys = passphrase_keys(new, KdfParams.new(at_least=old_params), old_params)
               seal_bundle(identity, keys)             (a new purpose-1 bundle, nothing else)
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from enum import IntEnum

import nacl.bindings
import nacl.exceptions

from . import labels
from .encoding import ID_SIZE, Reader, Writer
from .errors import KeyMismatchError, MalformedError, WrongPassphrase
from .kdf import KdfParams, PassphraseKeys, check_kdf_params
from .keys import PRIVATE_KEYS_SIZE, Identity, PrivateIdentity, check_username
from .recovery import RecoveryKeys

BUNDLE_MAGIC = b"KLKB"
FORMAT_VERSION = 1
NONCE_SIZE = 24
TAG_SIZE = 16
KEY_SIZE = 32
CIPHERTEXT_SIZE = PRIVATE_KEYS_SIZE + TAG_SIZE
_U32_MAX = 0xFFFF_FFFF


class BundlePurpose(IntEnum):
    PASSPHRASE = 0x01
    RECOVERY = 0x02


BundleKeys = PassphraseKeys | RecoveryKeys


@dataclass(frozen=True)
class _Parsed:
    purpose: BundlePurpose
    user_id: bytes
    key_version: int
    kdf_params: KdfParams | None
    header: bytes  # every byte before the nonce: what the associated data covers
    nonce: bytes
    ciphertext: bytes


def _purpose_of(keys: BundleKeys) -> BundlePurpose:
    if isinstance(keys, PassphraseKeys):
        return BundlePurpose.PASSPHRASE
    if isinstance(keys, RecoveryKeys):
        return BundlePurpose.RECOVERY
    raise TypeError("a key bundle is sealed and opened with PassphraseKeys or RecoveryKeys")


def _associated_data(header: bytes) -> bytes:
    return labels.KEY_BUNDLE + b"\x00" + header


def _header(
    purpose: BundlePurpose, user_id: bytes, key_version: int, kdf_params: KdfParams | None
) -> bytes:
    writer = (
        Writer()
        .raw(BUNDLE_MAGIC)
        .u8(FORMAT_VERSION)
        .u8(purpose)
        .fixed(user_id, ID_SIZE)
        .u32(key_version)
    )
    if kdf_params is not None:
        writer.raw(kdf_params.encode())
    return writer.getvalue()


def _seal_bundle_from_parts(
    private_keys: bytes,
    *,
    purpose: BundlePurpose,
    user_id: bytes,
    key_version: int,
    kdf_params: KdfParams | None,
    key: bytes,
    nonce: bytes,
) -> bytes:
    """The deterministic core of `seal_bundle` (no checks of policy): for test vectors."""
    if (kdf_params is None) != (purpose is not BundlePurpose.PASSPHRASE):
        raise ValueError("KdfParams are present in a bundle if and only if purpose is 1")
    if len(private_keys) != PRIVATE_KEYS_SIZE or len(key) != KEY_SIZE or len(nonce) != NONCE_SIZE:
        raise ValueError("sealing a bundle needs 96 bytes of keys, a 32-byte key, a 24-byte nonce")
    header = _header(purpose, user_id, key_version, kdf_params)
    ciphertext = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        private_keys, _associated_data(header), nonce, key
    )
    return header + nonce + ciphertext


def seal_bundle(identity: PrivateIdentity, keys: BundleKeys) -> bytes:
    """Seal `identity`'s private keys: purpose 1 for PassphraseKeys, 2 for RecoveryKeys."""
    purpose = _purpose_of(keys)
    kdf_params = keys.params if isinstance(keys, PassphraseKeys) else None
    if kdf_params is not None:
        # Never write a bundle that this client would refuse to open.
        check_kdf_params(kdf_params)
    _check_expected(identity.user_id, identity.key_version)
    return _seal_bundle_from_parts(
        identity.private_keys(),
        purpose=purpose,
        user_id=identity.user_id,
        key_version=identity.key_version,
        kdf_params=kdf_params,
        key=keys.bundle_key,
        nonce=secrets.token_bytes(NONCE_SIZE),
    )


def _parse(data: bytes) -> _Parsed:
    """Parse a bundle; MalformedError for anything that is not one (callers hide which)."""
    reader = Reader(data, "key bundle")
    reader.magic(BUNDLE_MAGIC)
    if reader.u8() != FORMAT_VERSION:
        raise MalformedError("key bundle: unsupported format version")
    try:
        purpose = BundlePurpose(reader.u8())
    except ValueError:
        raise MalformedError("key bundle: unknown purpose") from None
    user_id = reader.raw(ID_SIZE)
    key_version = reader.u32()
    kdf_params = KdfParams.read(reader) if purpose is BundlePurpose.PASSPHRASE else None
    header = reader.consumed()
    nonce = reader.raw(NONCE_SIZE)
    ciphertext = reader.raw(CIPHERTEXT_SIZE)
    reader.end()
    return _Parsed(purpose, user_id, key_version, kdf_params, header, nonce, ciphertext)


def bundle_kdf_params(data: bytes) -> KdfParams:
    """The KdfParams of a purpose-1 bundle, *not* policy-checked: apply the policy before use.

    Anything that is not a well-formed purpose-1 bundle raises WrongPassphrase (L15).
    """
    try:
        parsed = _parse(data)
    except MalformedError:
        raise WrongPassphrase() from None
    if parsed.kdf_params is None:
        raise WrongPassphrase()
    return parsed.kdf_params


def _check_expected(user_id: bytes, key_version: int) -> None:
    # The caller's own arguments, not bundle bytes: a mistake here is a bug, not tampering.
    if not isinstance(user_id, bytes) or len(user_id) != ID_SIZE:
        raise ValueError(f"a user id is {ID_SIZE} bytes")
    if isinstance(key_version, bool) or not isinstance(key_version, int):
        raise ValueError("a key version is an integer")
    if not 1 <= key_version <= _U32_MAX:
        raise ValueError("a key version is between 1 and 2**32 - 1")


def open_bundle(
    data: bytes,
    keys: BundleKeys,
    *,
    user_id: bytes,
    key_version: int,
    username: str,
    pinned: Identity | None = None,
) -> PrivateIdentity:
    """Open a bundle of the purpose `keys` imply for the stated user and key version.

    `username` is not in the bundle; it is needed to rebuild the PrivateIdentity. With
    `pinned`, the identity this client trusts for the user, the recomputed public keys must
    match it (KeyMismatchError, threat K1). The KDF policy is applied to a purpose-1 bundle's
    parameters (DowngradeError); every other failure is WrongPassphrase.
    """
    expected_purpose = _purpose_of(keys)
    _check_expected(user_id, key_version)
    check_username(username)
    try:
        parsed = _parse(data)
    except MalformedError:
        raise WrongPassphrase() from None
    if parsed.purpose is not expected_purpose:
        raise WrongPassphrase()
    if parsed.kdf_params is not None:
        check_kdf_params(parsed.kdf_params)
    if (
        not hmac.compare_digest(parsed.user_id, user_id)
        or parsed.key_version != key_version
        or (isinstance(keys, PassphraseKeys) and parsed.kdf_params != keys.params)
    ):
        raise WrongPassphrase()
    try:
        private_keys = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            parsed.ciphertext, _associated_data(parsed.header), parsed.nonce, keys.bundle_key
        )
    except (nacl.exceptions.CryptoError, nacl.exceptions.TypeError):
        raise WrongPassphrase() from None
    identity = PrivateIdentity.from_private_keys(user_id, username, key_version, private_keys)
    if pinned is not None:
        check_pinned(identity, pinned)
    return identity


def check_pinned(identity: PrivateIdentity, pinned: Identity) -> None:
    """Raise KeyMismatchError unless `identity`'s public keys are the pinned ones (K1)."""
    public = identity.public
    if (
        public.user_id != pinned.user_id
        or public.key_version != pinned.key_version
        or public.username != pinned.username
        or public.signing_key != pinned.signing_key
        or public.box_key != pinned.box_key
    ):
        raise KeyMismatchError("the keys in the key bundle are not the ones pinned for this user")
