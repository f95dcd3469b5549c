"""Tests of vault.bundle: sealing and opening the key bundle (format section 4).

Every tampering must look exactly like a wrong passphrase (threat L15); only the KDF policy may
answer differently, and it must answer before Argon2id runs. Most tests use keys made with
`PassphraseKeys.from_master_key`; the user flows run real Argon2id a few times.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vault import bundle, kdf
from vault.bundle import (
    BundlePurpose,
    _seal_bundle_from_parts,
    bundle_kdf_params,
    check_pinned,
    open_bundle,
    seal_bundle,
)
from vault.errors import DowngradeError, KeyMismatchError, MalformedError, WrongPassphrase
from vault.kdf import KdfParams, PassphraseKeys, passphrase_keys
from vault.keys import PrivateIdentity
from vault.recovery import RecoveryCode, RecoveryKeys

USER_ID = bytes.fromhex("00112233445566778899aabbccddeeff")
ALICE = PrivateIdentity.from_private_keys(USER_ID, "alice", 1, bytes(range(96)))
BOB = PrivateIdentity.from_private_keys(bytes(16), "bob", 1, bytes(range(96, 192)))
PARAMS = KdfParams(1, 65536, 3, 1, bytes(range(16)))
PKEYS = PassphraseKeys.from_master_key(b"m" * 32, PARAMS)
RKEYS = RecoveryKeys.from_entropy(b"e" * 32)
NONCE = bytes(range(24))
HEADER_1 = 4 + 1 + 1 + 16 + 4 + 26  # bytes before the nonce in a purpose-1 bundle
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WRONG = str(WrongPassphrase())


def seal_parts(private_keys: bytes = ALICE.private_keys(), **change: Any) -> bytes:
    parts: dict[str, Any] = {
        "purpose": BundlePurpose.PASSPHRASE,
        "user_id": USER_ID,
        "key_version": 1,
        "kdf_params": PARAMS,
        "key": PKEYS.bundle_key,
        "nonce": NONCE,
    }
    parts.update(change)
    return _seal_bundle_from_parts(private_keys, **parts)


def open_as_alice(data: Any, keys: Any = PKEYS, **change: Any) -> PrivateIdentity:
    expected: dict[str, Any] = {"user_id": USER_ID, "key_version": 1, "username": "alice"}
    expected.update(change)
    return open_bundle(data, keys, **expected)


def wrong(data: Any, keys: Any = PKEYS, **change: Any) -> None:
    """Opening must fail as a wrong passphrase, with the one message (L15)."""
    with pytest.raises(WrongPassphrase) as info:
        open_as_alice(data, keys, **change)
    assert str(info.value) == WRONG
    assert info.value.__cause__ is None


@pytest.fixture
def no_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("Argon2id ran although the policy should have refused first")

    monkeypatch.setattr(kdf, "hash_secret_raw", forbidden)


P_BUNDLE = seal_bundle(ALICE, PKEYS)
R_BUNDLE = seal_bundle(ALICE, RKEYS)


# -- round trips and layout -----------------------------------------------------------------------


@pytest.mark.parametrize(("data", "keys"), [(P_BUNDLE, PKEYS), (R_BUNDLE, RKEYS)])
def test_round_trip(data: bytes, keys: Any) -> None:
    opened = open_as_alice(data, keys, pinned=ALICE.public)
    assert opened.private_keys() == ALICE.private_keys()
    assert opened.public == ALICE.public


def test_layout() -> None:
    assert len(P_BUNDLE) == HEADER_1 + 24 + 112 == 188
    assert len(R_BUNDLE) == HEADER_1 - 26 + 24 + 112 == 162
    assert P_BUNDLE[:6] == b"KLKB\x01\x01" and R_BUNDLE[:6] == b"KLKB\x01\x02"
    assert P_BUNDLE[6:22] == USER_ID and P_BUNDLE[22:26] == b"\x00\x00\x00\x01"
    assert P_BUNDLE[26:HEADER_1] == PARAMS.encode()
    assert bundle_kdf_params(P_BUNDLE) == PARAMS


def test_every_seal_has_a_fresh_nonce() -> None:
    again = seal_bundle(ALICE, PKEYS)
    assert again[HEADER_1 : HEADER_1 + 24] != P_BUNDLE[HEADER_1 : HEADER_1 + 24]
    assert open_as_alice(again).private_keys() == ALICE.private_keys()


def test_deterministic_core_matches_libsodium() -> None:
    assert seal_parts() == seal_parts()
    assert open_as_alice(seal_parts()).private_keys() == ALICE.private_keys()


# -- tampering: every byte, every field -----------------------------------------------------------


def _expected_for_flip(data: bytes, index: int) -> type[Exception]:
    """A flipped KdfParams byte may make the policy refuse first; anything else is L15."""
    if 26 <= index < HEADER_1:
        try:
            kdf.check_kdf_params(KdfParams.decode(data[26:HEADER_1]))
        except DowngradeError:
            return DowngradeError
    return WrongPassphrase


@pytest.mark.parametrize("xor", [0x01, 0x80])
def test_flipping_any_byte_of_a_passphrase_bundle(xor: int) -> None:
    for index in range(len(P_BUNDLE)):
        mutated = bytearray(P_BUNDLE)
        mutated[index] ^= xor
        expected = _expected_for_flip(bytes(mutated), index)
        with pytest.raises(expected):
            open_as_alice(bytes(mutated))
        if expected is WrongPassphrase:
            wrong(bytes(mutated))


def test_flipping_any_byte_of_a_recovery_bundle() -> None:
    for index in range(len(R_BUNDLE)):
        mutated = bytearray(R_BUNDLE)
        mutated[index] ^= 0x01
        wrong(bytes(mutated), RKEYS)


@pytest.mark.parametrize(("data", "keys"), [(P_BUNDLE, PKEYS), (R_BUNDLE, RKEYS)])
def test_every_truncation_and_trailing_bytes(data: bytes, keys: Any) -> None:
    for size in range(len(data)):
        wrong(data[:size], keys)
    for extra in (b"\x00", b"\xff" * 26, data):
        wrong(data + extra, keys)


@pytest.mark.parametrize("data", ["KLKB", None, 0, [1], bytearray(b"KLKB\x01")])
def test_not_bytes(data: Any) -> None:
    wrong(data)
    with pytest.raises(WrongPassphrase):
        bundle_kdf_params(data)


def test_a_bundle_opened_with_the_other_secret() -> None:
    wrong(P_BUNDLE, RKEYS)  # passphrase bundle, recovery code
    wrong(R_BUNDLE, PKEYS)  # recovery bundle, passphrase
    # Even when the same 32-byte key happens to seal both: the purpose still differs.
    same_key = RecoveryKeys(auth_key=b"a" * 32, bundle_key=PKEYS.bundle_key)
    wrong(P_BUNDLE, same_key)


def test_swapped_purpose_user_id_and_key_version() -> None:
    wrong(P_BUNDLE[:5] + b"\x02" + P_BUNDLE[6:])
    wrong(R_BUNDLE[:5] + b"\x01" + R_BUNDLE[6:], RKEYS)
    wrong(P_BUNDLE[:5] + b"\x03" + P_BUNDLE[6:])
    wrong(P_BUNDLE, user_id=bytes(16))
    wrong(P_BUNDLE, key_version=2)
    # Validly sealed, but for another user or key version: the server swapped rows.
    wrong(seal_parts(user_id=BOB.user_id))
    wrong(seal_parts(key_version=2))
    wrong(seal_bundle(BOB, PKEYS))  # Bob's bundle served to Alice
    # Header of one bundle spliced onto the ciphertext of another (same key): the AD binds.
    other = seal_parts(user_id=BOB.user_id)
    wrong(P_BUNDLE[:HEADER_1] + other[HEADER_1:])


def test_wrong_key_or_params() -> None:
    wrong(P_BUNDLE, PassphraseKeys.from_master_key(b"x" * 32, PARAMS))
    wrong(R_BUNDLE, RecoveryKeys.from_entropy(b"x" * 32))
    # The right key, but derived (so the caller believes) with other parameters.
    wrong(P_BUNDLE, PassphraseKeys(PKEYS.auth_key, PKEYS.bundle_key, KdfParams.new()))
    wrong(P_BUNDLE, PassphraseKeys(PKEYS.auth_key, b"short", PARAMS))


def test_bundle_kdf_params_refuses_all_but_a_purpose_1_bundle() -> None:
    for data in (R_BUNDLE, P_BUNDLE[:-1], P_BUNDLE + b"\x00", b"KLKC" + P_BUNDLE[4:], b""):
        with pytest.raises(WrongPassphrase) as info:
            bundle_kdf_params(data)
        assert str(info.value) == WRONG


# -- KDF policy before derivation -----------------------------------------------------------------

WEAK = [
    KdfParams(1, 32768, 3, 1, PARAMS.salt),
    KdfParams(1, 65536, 2, 1, PARAMS.salt),
    KdfParams(1, 65536, 3, 2, PARAMS.salt),
    KdfParams(2, 65536, 3, 1, PARAMS.salt),
    KdfParams(1, 2**32 - 1, 3, 1, PARAMS.salt),
]


@pytest.mark.usefixtures("no_argon2")
@pytest.mark.parametrize("weak", WEAK)
def test_weak_params_in_a_bundle_are_refused_before_argon2(weak: KdfParams) -> None:
    data = seal_parts(kdf_params=weak)
    params = bundle_kdf_params(data)  # reading them is fine; using them is not
    assert params == weak
    with pytest.raises(DowngradeError):
        passphrase_keys("correct horse", params)
    # Even with keys obtained some other way, opening applies the policy.
    with pytest.raises(DowngradeError):
        open_as_alice(data, PassphraseKeys.from_master_key(b"m" * 32, weak))


@pytest.mark.usefixtures("no_argon2")
def test_params_below_previous_are_refused_before_argon2() -> None:
    previous = KdfParams(1, 131072, 4, 1, PARAMS.salt)
    with pytest.raises(DowngradeError):
        passphrase_keys("correct horse", bundle_kdf_params(P_BUNDLE), previous)


def test_seal_refuses_weak_params() -> None:
    for weak in WEAK:
        with pytest.raises(DowngradeError):
            seal_bundle(ALICE, PassphraseKeys.from_master_key(b"m" * 32, weak))


# -- caller mistakes and the pinned identity (K1) -------------------------------------------------


def test_caller_arguments_are_checked_before_the_bundle() -> None:
    for bad_user_id in (b"", bytes(15), bytes(17), USER_ID.hex()):
        with pytest.raises(ValueError):
            open_as_alice(P_BUNDLE, user_id=bad_user_id)
    for bad_version in (0, -1, 2**32, True, "1"):
        with pytest.raises(ValueError):
            open_as_alice(P_BUNDLE, key_version=bad_version)
    with pytest.raises(MalformedError):
        open_as_alice(P_BUNDLE, username="Alice")
    bad_keys: Any
    for bad_keys in (PKEYS.bundle_key, None, "key"):
        with pytest.raises(TypeError):
            open_as_alice(P_BUNDLE, bad_keys)
        with pytest.raises(TypeError):
            seal_bundle(ALICE, bad_keys)


def test_pinned_identity_must_match() -> None:
    impostor = PrivateIdentity.from_private_keys(USER_ID, "alice", 1, bytes(range(1, 97)))
    data = seal_parts(impostor.private_keys())
    assert open_as_alice(data).public == impostor.public  # the bundle itself is fine ...
    with pytest.raises(KeyMismatchError):  # ... but these are not the keys we pinned
        open_as_alice(data, pinned=ALICE.public)
    renamed = PrivateIdentity.from_private_keys(USER_ID, "alice2", 1, ALICE.private_keys())
    with pytest.raises(KeyMismatchError):
        check_pinned(renamed, ALICE.public)
    check_pinned(ALICE, ALICE.public)


def test_seal_refuses_an_identity_with_a_bad_key_version() -> None:
    for version in (0, 2**32):
        broken = PrivateIdentity(USER_ID, version, "alice", *[bytes(32)] * 3)
        with pytest.raises(ValueError):
            seal_bundle(broken, PKEYS)


# -- the user flows, with real Argon2id -----------------------------------------------------------


@pytest.fixture(scope="module")
def registered() -> tuple[PrivateIdentity, bytes, bytes, RecoveryCode]:
    identity = PrivateIdentity.generate(USER_ID, "alice")
    keys = passphrase_keys("correct horse battery staple \u2713", KdfParams.new())
    code = RecoveryCode.generate()
    return identity, seal_bundle(identity, keys), seal_bundle(identity, code.keys()), code


def test_login_recover_and_change_passphrase(registered: Any) -> None:
    identity, passphrase_bundle, recovery_bundle, code = registered
    expected: dict[str, Any] = {"user_id": USER_ID, "key_version": 1, "username": "alice"}
    # Login: parameters from the bundle, policy, derive, open, compare with the pinned record.
    params = bundle_kdf_params(passphrase_bundle)
    keys = passphrase_keys("correct horse battery staple \u2713", params, previous=params)
    opened = open_bundle(passphrase_bundle, keys, pinned=identity.public, **expected)
    assert opened.private_keys() == identity.private_keys()
    # Recovery: the words as typed.
    rkeys = RecoveryCode.parse(code.phrase.upper()).keys()
    recovered = open_bundle(recovery_bundle, rkeys, pinned=identity.public, **expected)
    assert recovered.private_keys() == identity.private_keys()
    # Change: new salt, never weaker; only a new purpose-1 bundle is written.
    new_params = KdfParams.new(at_least=params)
    new_keys = passphrase_keys("a new passphrase", new_params, previous=params)
    new_bundle = seal_bundle(opened, new_keys)
    assert new_params.salt != params.salt and new_keys.bundle_key != keys.bundle_key
    assert bundle_kdf_params(new_bundle) == new_params
    assert open_bundle(new_bundle, new_keys, **expected).private_keys() == identity.private_keys()
    with pytest.raises(WrongPassphrase):
        open_bundle(passphrase_bundle, new_keys, **expected)


# -- robustness -----------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_wrong_passphrase(data: bytes) -> None:
    for keys in (PKEYS, RKEYS):
        with pytest.raises((WrongPassphrase, DowngradeError)):
            open_as_alice(data, keys)
    with contextlib.suppress(WrongPassphrase):
        bundle_kdf_params(data)


@FUZZ
@given(st.data())
def test_mutated_bundles_never_open(data: st.DataObject) -> None:
    original = data.draw(st.sampled_from([P_BUNDLE, R_BUNDLE]))
    keys = PKEYS if original is P_BUNDLE else RKEYS
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "delete", "insert"]))
        index = data.draw(st.integers(0, len(mutated) - 1))
        if kind == "flip":
            mutated[index] ^= data.draw(st.integers(1, 255))
        elif kind == "delete":
            del mutated[index]
        else:
            mutated.insert(index, data.draw(st.integers(0, 255)))
    if bytes(mutated) == original:
        return
    with pytest.raises((WrongPassphrase, DowngradeError)):
        open_as_alice(bytes(mutated), keys)


def test_module_exports_the_sizes() -> None:
    assert bundle.CIPHERTEXT_SIZE == 112 and bundle.NONCE_SIZE == 24
