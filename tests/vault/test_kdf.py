"""Tests of vault.kdf: KdfParams encoding, the L14 policy and passphrase keys (format section 2).

Real Argon2id runs (64 MiB) are kept to a handful through a module-scoped fixture; every policy
test replaces `hash_secret_raw` with a function that fails the test if it is ever called.
"""

from __future__ import annotations

import contextlib
import unicodedata
from typing import Any

import pytest
from argon2.exceptions import HashingError
from argon2.low_level import Type
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vault import kdf, labels
from vault.derive import derive
from vault.errors import DowngradeError, MalformedError, VaultError
from vault.kdf import (
    KdfParams,
    PassphraseKeys,
    check_kdf_params,
    check_passphrase,
    derive_master_key,
    passphrase_keys,
)

SALT = bytes(range(16))
GOOD = KdfParams(1, 65536, 3, 1, SALT)
PASSPHRASE = unicodedata.normalize("NFC", "Caf\u00e9 Groningen, correct horse \u2713")
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture
def no_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any Argon2id run fail the test: proves a refusal happened before derivation."""

    def forbidden(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("Argon2id ran although the policy should have refused first")

    monkeypatch.setattr(kdf, "hash_secret_raw", forbidden)


@pytest.fixture(scope="module")
def keys() -> PassphraseKeys:
    return passphrase_keys(PASSPHRASE, GOOD)


# -- KdfParams ------------------------------------------------------------------------------------


def test_new_has_the_defaults_and_a_fresh_salt() -> None:
    a, b = KdfParams.new(), KdfParams.new()
    assert (a.algorithm, a.memory_kib, a.iterations, a.parallelism) == (1, 65536, 3, 1)
    assert len(a.salt) == 16 and a.salt != b.salt
    check_kdf_params(a)


def test_new_at_least_previous_never_goes_down() -> None:
    previous = KdfParams(1, 131072, 5, 1, SALT)
    params = KdfParams.new(at_least=previous)
    assert (params.memory_kib, params.iterations) == (131072, 5)
    check_kdf_params(params, previous)


def test_new_refuses_weak_parameters() -> None:
    with pytest.raises(DowngradeError):
        KdfParams.new(memory_kib=32768)
    with pytest.raises(DowngradeError):
        KdfParams.new(iterations=2)


def test_encoding_layout_and_round_trip() -> None:
    encoded = GOOD.encode()
    assert encoded == bytes.fromhex("01000100000000000301") + SALT
    assert len(encoded) == kdf.KDF_PARAMS_SIZE
    assert KdfParams.decode(encoded) == GOOD
    assert KdfParams.decode(bytearray(encoded)) == GOOD  # type: ignore[arg-type]


def test_decode_refuses_every_truncation_and_trailing_bytes() -> None:
    encoded = GOOD.encode()
    for size in range(len(encoded)):
        with pytest.raises(MalformedError):
            KdfParams.decode(encoded[:size])
    for extra in (b"\x00", b"\x01" * 100):
        with pytest.raises(MalformedError):
            KdfParams.decode(encoded + extra)


@pytest.mark.parametrize("data", ["01", None, 7, [1, 2], object()])
def test_decode_refuses_what_is_not_bytes(data: Any) -> None:
    with pytest.raises(MalformedError):
        KdfParams.decode(data)


@pytest.mark.parametrize(
    "fields",
    [
        (1, 65536, 3, 1, SALT[:15]),
        (1, 65536, 3, 1, SALT + b"\x00"),
        (1, 65536, 3, 1, SALT.hex()),
        (1, 65536, 3, 1, None),
        (256, 65536, 3, 1, SALT),
        (-1, 65536, 3, 1, SALT),
        (1, 2**32, 3, 1, SALT),
        (1, -65536, 3, 1, SALT),
        (1, 65536, 2**32, 1, SALT),
        (1, 65536, 3, 256, SALT),
        (1, 65536.0, 3, 1, SALT),
        (1, 65536, "3", 1, SALT),
        (True, 65536, 3, 1, SALT),
    ],
)
def test_fields_that_do_not_fit_the_encoding_are_malformed(fields: tuple[Any, ...]) -> None:
    with pytest.raises(MalformedError):
        KdfParams(*fields)


# -- policy ---------------------------------------------------------------------------------------

REFUSED = [
    pytest.param(KdfParams(2, 65536, 3, 1, SALT), None, id="algorithm-2"),
    pytest.param(KdfParams(0, 65536, 3, 1, SALT), None, id="algorithm-0"),
    pytest.param(KdfParams(1, 65536, 3, 2, SALT), None, id="parallelism-2"),
    pytest.param(KdfParams(1, 65536, 3, 0, SALT), None, id="parallelism-0"),
    pytest.param(KdfParams(1, 65535, 3, 1, SALT), None, id="memory-below-floor"),
    pytest.param(KdfParams(1, 0, 3, 1, SALT), None, id="memory-zero"),
    pytest.param(KdfParams(1, 65536, 2, 1, SALT), None, id="iterations-below-floor"),
    pytest.param(KdfParams(1, 65536, 0, 1, SALT), None, id="iterations-zero"),
    pytest.param(KdfParams(1, 4194305, 3, 1, SALT), None, id="memory-above-ceiling"),
    pytest.param(KdfParams(1, 2**32 - 1, 3, 1, SALT), None, id="memory-u32-max"),
    pytest.param(KdfParams(1, 65536, 65, 1, SALT), None, id="iterations-above-ceiling"),
    pytest.param(GOOD, KdfParams(1, 131072, 3, 1, SALT), id="memory-below-previous"),
    pytest.param(GOOD, KdfParams(1, 65536, 4, 1, SALT), id="iterations-below-previous"),
    pytest.param(
        KdfParams(1, 131072, 3, 1, SALT), KdfParams(1, 65536, 4, 1, SALT), id="mixed-previous"
    ),
]


@pytest.mark.parametrize(("params", "previous"), REFUSED)
def test_policy_refuses(params: KdfParams, previous: KdfParams | None) -> None:
    with pytest.raises(DowngradeError):
        check_kdf_params(params, previous)


@pytest.mark.usefixtures("no_argon2")
@pytest.mark.parametrize(("params", "previous"), REFUSED)
def test_refusal_comes_before_any_derivation(params: KdfParams, previous: KdfParams | None) -> None:
    with pytest.raises(DowngradeError):
        derive_master_key(PASSPHRASE, params, previous)
    with pytest.raises(DowngradeError):
        passphrase_keys(PASSPHRASE, params, previous)
    # The policy is checked even before the passphrase is looked at.
    with pytest.raises(DowngradeError):
        passphrase_keys("", params, previous)


@pytest.mark.parametrize(
    ("params", "previous"),
    [
        (KdfParams(1, 65536, 3, 1, SALT), None),
        (KdfParams(1, 4194304, 64, 1, SALT), None),
        (GOOD, GOOD),
        (KdfParams(1, 131072, 4, 1, SALT), GOOD),
        (GOOD, KdfParams(1, 65536, 3, 1, bytes(16))),
    ],
)
def test_policy_accepts_the_bounds(params: KdfParams, previous: KdfParams | None) -> None:
    check_kdf_params(params, previous)


def test_policy_refuses_what_is_not_params() -> None:
    with pytest.raises(MalformedError):
        check_kdf_params(GOOD.encode())  # type: ignore[arg-type]


# -- passphrase and Argon2id wiring (no real runs) ------------------------------------------------


def test_argon2id_gets_exactly_the_format_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def record(*args: Any, **kwargs: Any) -> bytes:
        calls.append((args, kwargs))
        return bytes(32)

    monkeypatch.setattr(kdf, "hash_secret_raw", record)
    params = KdfParams(1, 131072, 5, 1, SALT)
    derive_master_key(unicodedata.normalize("NFD", PASSPHRASE), params)
    assert calls == [
        (
            (PASSPHRASE.encode("utf-8"), SALT),
            {
                "time_cost": 5,
                "memory_cost": 131072,
                "parallelism": 1,
                "hash_len": 32,
                "type": Type.ID,
                "version": 0x13,
            },
        )
    ]


@pytest.mark.usefixtures("no_argon2")
def test_empty_or_unencodable_passphrase_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        derive_master_key("", GOOD)
    with pytest.raises(ValueError, match="not valid text") as info:
        derive_master_key("secret\ud800word", GOOD)
    # The refusal must not carry the passphrase along, in the message or the context.
    assert "secret" not in str(info.value)
    assert info.value.__context__ is None and info.value.__cause__ is None
    with pytest.raises(TypeError):
        derive_master_key(b"bytes", GOOD)  # type: ignore[arg-type]


def test_check_passphrase_normalises_to_nfc() -> None:
    nfd = unicodedata.normalize("NFD", PASSPHRASE)
    assert nfd != PASSPHRASE
    assert check_passphrase(nfd) == check_passphrase(PASSPHRASE) == PASSPHRASE.encode()
    assert check_passphrase(" ") == b" "  # white space is a passphrase like any other


def test_an_argon2_failure_becomes_a_vault_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> bytes:
        raise HashingError("Memory allocation error")

    monkeypatch.setattr(kdf, "hash_secret_raw", fail)
    with pytest.raises(VaultError, match="Argon2id"):
        passphrase_keys(PASSPHRASE, GOOD)


def test_from_master_key_refuses_a_bad_master_key() -> None:
    for bad in (b"", bytes(31), bytes(33), "00" * 32, None):
        with pytest.raises(ValueError):
            PassphraseKeys.from_master_key(bad, GOOD)  # type: ignore[arg-type]


# -- real derivations -----------------------------------------------------------------------------


def test_keys_are_the_two_hkdf_subkeys_of_the_master(keys: PassphraseKeys) -> None:
    master = derive_master_key(unicodedata.normalize("NFD", PASSPHRASE), GOOD)
    assert len(master) == 32
    assert keys.auth_key == derive(master, labels.AUTH_KEY)
    assert keys.bundle_key == derive(master, labels.BUNDLE_KEY)
    assert keys.params == GOOD


def test_auth_key_and_bundle_key_are_distinct_and_unrelated(keys: PassphraseKeys) -> None:
    auth, bundle = keys.auth_key, keys.bundle_key
    assert len(auth) == len(bundle) == 32 and auth != bundle
    # Neither can be computed from the other with the format's own derivations.
    for label in labels.ALL:
        assert derive(auth, label) != bundle
        assert derive(bundle, label) != auth


def test_salt_and_passphrase_change_everything(keys: PassphraseKeys) -> None:
    other_salt = passphrase_keys(PASSPHRASE, KdfParams(1, 65536, 3, 1, bytes(16)))
    other_passphrase = passphrase_keys(PASSPHRASE + "!", GOOD)
    for other in (other_salt, other_passphrase):
        assert other.auth_key != keys.auth_key
        assert other.bundle_key != keys.bundle_key


def test_repr_never_shows_keys(keys: PassphraseKeys) -> None:
    text = repr(keys) + str(keys)
    for secret in (keys.auth_key, keys.bundle_key):
        assert secret.hex() not in text and repr(secret) not in text
    assert "hidden" in text


# -- robustness -----------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=64))
def test_decode_of_random_bytes_raises_only_malformed(data: bytes) -> None:
    try:
        params = KdfParams.decode(data)
    except MalformedError:
        return
    assert params.encode() == data
    with contextlib.suppress(DowngradeError):
        check_kdf_params(params)


@FUZZ
@given(st.integers(0, 25), st.integers(1, 255))
def test_every_single_byte_change_is_malformed_or_refused_or_valid(index: int, xor: int) -> None:
    mutated = bytearray(GOOD.encode())
    mutated[index] ^= xor
    params = KdfParams.decode(bytes(mutated))
    try:
        check_kdf_params(params, GOOD)
    except DowngradeError:
        return
    # Only a change to the salt, or a stronger setting, may pass the policy.
    assert params.salt != GOOD.salt or params.memory_kib > 65536 or params.iterations > 3
