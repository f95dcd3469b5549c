"""Passphrase keys: KdfParams, the Argon2id policy and the keys derived from a passphrase.

Implements section 2 ("Passphrase keys") of docs/format.md. A passphrase is normalised to NFC,
encoded as UTF-8 and stretched with Argon2id into a 32-byte master key; two independent HKDF
subkeys come out of it: `auth_key` (sent to the server to log in) and `bundle_key` (opens the
purpose-1 key bundle, section 4, and never leaves the client).

The parameters come from the server (prelogin, or inside the bundle), so they are untrusted:
`check_kdf_params` enforces the policy of threat L14 and `derive_master_key` always runs it
*before* Argon2id, so a server can neither weaken the stretching nor make the client burn
gigabytes of memory.

An empty passphrase is a caller error, not a property of the data: `derive_master_key` raises
`ValueError` for it (and for text that cannot be encoded as UTF-8). A user interface should
check `check_passphrase` before asking for anything else.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass

from argon2.exceptions import HashingError
from argon2.low_level import Type, hash_secret_raw

from . import labels
from .derive import derive
from .encoding import Reader, Writer
from .errors import DowngradeError, MalformedError, VaultError

ALGORITHM_ARGON2ID = 0x01
ARGON2_VERSION = 0x13
PARALLELISM = 1
SALT_SIZE = 16
MASTER_KEY_SIZE = 32
KDF_PARAMS_SIZE = 1 + 4 + 4 + 1 + SALT_SIZE

DEFAULT_MEMORY_KIB = 65_536
DEFAULT_ITERATIONS = 3

# Policy bounds (threat L14): the floor keeps the stretching strong, the ceiling keeps a
# hostile server from making the client allocate or compute without limit.
MIN_MEMORY_KIB = 65_536
MIN_ITERATIONS = 3
MAX_MEMORY_KIB = 4_194_304
MAX_ITERATIONS = 64

_U8_MAX = 0xFF
_U32_MAX = 0xFFFF_FFFF


def _is_uint(value: object, maximum: int) -> bool:
    # bool is an int subclass; True as an iteration count is a bug, not a parameter.
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= maximum


@dataclass(frozen=True)
class KdfParams:
    """The KdfParams encoding of section 2. Any encodable value is representable here.

    Construction only checks that the fields fit their encoding (MalformedError otherwise);
    whether the values are *acceptable* is `check_kdf_params`'s job, so that a decoded bundle
    with weak parameters is reported as a DowngradeError rather than as garbage.
    """

    algorithm: int
    memory_kib: int
    iterations: int
    parallelism: int
    salt: bytes

    def __post_init__(self) -> None:
        for name, maximum in (
            ("algorithm", _U8_MAX),
            ("memory_kib", _U32_MAX),
            ("iterations", _U32_MAX),
            ("parallelism", _U8_MAX),
        ):
            if not _is_uint(getattr(self, name), maximum):
                raise MalformedError(f"KDF parameters: {name} is not an integer in 0..{maximum}")
        if not isinstance(self.salt, bytes) or len(self.salt) != SALT_SIZE:
            raise MalformedError(f"KDF parameters: the salt must be {SALT_SIZE} bytes")

    @classmethod
    def new(
        cls,
        *,
        memory_kib: int = DEFAULT_MEMORY_KIB,
        iterations: int = DEFAULT_ITERATIONS,
        at_least: KdfParams | None = None,
    ) -> KdfParams:
        """Fresh parameters with a new random salt, for registration or a passphrase change.

        `at_least` (the parameters used before) raises memory and iterations to at least
        those, so a passphrase change never trips the "never below previous" rule.
        """
        if at_least is not None:
            memory_kib = max(memory_kib, at_least.memory_kib)
            iterations = max(iterations, at_least.iterations)
        params = cls(
            ALGORITHM_ARGON2ID, memory_kib, iterations, PARALLELISM, secrets.token_bytes(SALT_SIZE)
        )
        check_kdf_params(params, at_least)
        return params

    def encode(self) -> bytes:
        return (
            Writer()
            .u8(self.algorithm)
            .u32(self.memory_kib)
            .u32(self.iterations)
            .u8(self.parallelism)
            .fixed(self.salt, SALT_SIZE)
            .getvalue()
        )

    @classmethod
    def read(cls, reader: Reader) -> KdfParams:
        """Read the KdfParams fields from inside a larger structure (the key bundle)."""
        return cls(reader.u8(), reader.u32(), reader.u32(), reader.u8(), reader.raw(SALT_SIZE))

    @classmethod
    def decode(cls, data: bytes) -> KdfParams:
        """Parse exactly one KdfParams encoding (MalformedError if short, long or not bytes)."""
        reader = Reader(data, "KDF parameters")
        params = cls.read(reader)
        reader.end()
        return params


def check_kdf_params(params: KdfParams, previous: KdfParams | None = None) -> None:
    """Apply the KDF policy of section 2; raise DowngradeError if `params` may not be used.

    `previous` is the strongest set of parameters this client has used for the account
    before (None on first use): memory and iterations may never go below it.
    """
    if not isinstance(params, KdfParams):
        raise MalformedError("KDF parameters: expected a KdfParams")
    if params.algorithm != ALGORITHM_ARGON2ID:
        raise DowngradeError(f"KDF algorithm {params.algorithm} is not Argon2id (1)")
    if params.parallelism != PARALLELISM:
        raise DowngradeError(f"KDF parallelism {params.parallelism} is not 1")
    if params.memory_kib < MIN_MEMORY_KIB:
        raise DowngradeError(
            f"KDF memory {params.memory_kib} KiB is below the minimum of {MIN_MEMORY_KIB} KiB"
        )
    if params.iterations < MIN_ITERATIONS:
        raise DowngradeError(
            f"KDF iterations {params.iterations} are below the minimum of {MIN_ITERATIONS}"
        )
    if params.memory_kib > MAX_MEMORY_KIB:
        raise DowngradeError(
            f"KDF memory {params.memory_kib} KiB is above the maximum of {MAX_MEMORY_KIB} KiB"
        )
    if params.iterations > MAX_ITERATIONS:
        raise DowngradeError(
            f"KDF iterations {params.iterations} are above the maximum of {MAX_ITERATIONS}"
        )
    if previous is not None:
        if params.memory_kib < previous.memory_kib:
            raise DowngradeError(
                f"KDF memory {params.memory_kib} KiB is lower than the {previous.memory_kib} KiB "
                "this account used before"
            )
        if params.iterations < previous.iterations:
            raise DowngradeError(
                f"KDF iterations {params.iterations} are fewer than the {previous.iterations} "
                "this account used before"
            )


def check_passphrase(passphrase: str) -> bytes:
    """Return P, the NFC-normalised UTF-8 passphrase; ValueError if empty or not encodable."""
    if not isinstance(passphrase, str):
        raise TypeError("a passphrase is text (str)")
    try:
        encoded: bytes | None = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    except UnicodeEncodeError:
        encoded = None
    if encoded is None:
        # Raised outside the `except` block: the encoder's exception carries the whole
        # passphrase in `.object`, and must not ride along as `__context__`.
        raise ValueError(
            "the passphrase contains characters that are not valid text (lone surrogates)"
        )
    if not encoded:
        raise ValueError("the passphrase must not be empty")
    return encoded


def derive_master_key(
    passphrase: str, params: KdfParams, previous: KdfParams | None = None
) -> bytes:
    """Argon2id(P, salt, t, m, p=1) -> 32-byte master key, after the policy check."""
    check_kdf_params(params, previous)
    secret = check_passphrase(passphrase)
    try:
        return hash_secret_raw(
            secret,
            params.salt,
            time_cost=params.iterations,
            memory_cost=params.memory_kib,
            parallelism=PARALLELISM,
            hash_len=MASTER_KEY_SIZE,
            type=Type.ID,
            version=ARGON2_VERSION,
        )
    except HashingError as exc:
        # Only resource failures are left once the policy passed (e.g. memory allocation).
        raise VaultError(f"the passphrase key derivation (Argon2id) failed: {exc}") from None


@dataclass(frozen=True, repr=False, eq=False)
class PassphraseKeys:
    """The two subkeys of a passphrase, and the parameters they were derived with.

    Carrying `params` lets `vault.bundle` write exactly the parameters that produced
    `bundle_key`, and refuse a bundle whose parameters differ from them. No `==`: keys are
    compared with `hmac.compare_digest` where that is needed, never by accident.
    """

    auth_key: bytes
    bundle_key: bytes
    params: KdfParams

    def __repr__(self) -> str:
        return f"PassphraseKeys(params={self.params!r}, <keys hidden>)"

    @classmethod
    def from_master_key(cls, master_key: bytes, params: KdfParams) -> PassphraseKeys:
        """Split an Argon2id master key into auth_key and bundle_key (no policy check)."""
        if not isinstance(master_key, bytes) or len(master_key) != MASTER_KEY_SIZE:
            raise ValueError(f"a master key is {MASTER_KEY_SIZE} bytes")
        return cls(
            auth_key=derive(master_key, labels.AUTH_KEY),
            bundle_key=derive(master_key, labels.BUNDLE_KEY),
            params=params,
        )


def passphrase_keys(
    passphrase: str, params: KdfParams, previous: KdfParams | None = None
) -> PassphraseKeys:
    """Check the policy, run Argon2id once and derive auth_key and bundle_key."""
    return PassphraseKeys.from_master_key(derive_master_key(passphrase, params, previous), params)
