"""The one exception tree of the vault.

Every failure of a vault operation is raised as one of these; garbage input never escapes as a
bare library exception. Messages tell a person what happened without echoing secret material.

    VaultError
    ├── SecurityError               base of the fail-closed failures below
    │   ├── IntegrityError          data was altered, truncated, reordered, swapped or spliced
    │   │   └── MalformedError      bytes that do not parse as the structure they claim to be
    │   ├── SignatureError          a signature does not verify under the key it names
    │   ├── KeyMismatchError        a key is not the one pinned, committed to or addressed
    │   ├── RollbackError           a counter or version is older than one already seen
    │   └── DowngradeError          parameters or a format weaker than policy allows
    ├── WrongPassphrase             a passphrase or recovery code does not open the key bundle
    │                               (also raised for a tampered bundle: indistinguishable, L15)
    ├── InvalidRecoveryCode         a recovery code that is not well formed (typo, word count)
    ├── WeakPassphrase              a new passphrase the passphrase rule refuses (section 18)
    └── ExpiredError                a grant whose expiry has passed

SecurityError and its subclasses are *security failures*: the caller must stop,
write no plaintext and report which check failed. The CLI maps them to exit status 3.
"""

from __future__ import annotations

__all__ = [
    "DowngradeError",
    "ExpiredError",
    "IntegrityError",
    "InvalidRecoveryCode",
    "KeyMismatchError",
    "MalformedError",
    "RollbackError",
    "SecurityError",
    "SignatureError",
    "VaultError",
    "WeakPassphrase",
    "WrongPassphrase",
]


class VaultError(Exception):
    """Base class of every error the vault raises."""


class SecurityError(VaultError):
    """Base of the failures that mean someone tampered with data or keys: fail closed."""


class IntegrityError(SecurityError):
    """Authenticated data failed to verify: altered, truncated, reordered, swapped or spliced."""


class MalformedError(IntegrityError):
    """Bytes that do not parse as the structure they claim to be."""


class SignatureError(SecurityError):
    """A signature does not verify under the key it names."""


class KeyMismatchError(SecurityError):
    """A key is not the one that was pinned, committed to, or addressed."""


class RollbackError(SecurityError):
    """A counter or version is older than one this client has already seen."""


class DowngradeError(SecurityError):
    """Parameters or a format weaker than the policy floor or than what was used before."""


class ExpiredError(VaultError):
    """A grant whose expiry time has passed; it must not be used."""


class WrongPassphrase(VaultError):
    """The passphrase or recovery code does not open the key bundle.

    Also raised when the bundle itself was tampered with: telling the two apart would give the
    server a decryption oracle (threat L15).
    """

    def __init__(
        self, message: str = "wrong username or passphrase, or the key bundle was altered"
    ) -> None:
        super().__init__(message)


class InvalidRecoveryCode(VaultError):
    """A recovery code that is not well formed: an unknown word, a wrong count or a bad checksum."""


class WeakPassphrase(VaultError):
    """A passphrase the passphrase rule refuses to set (section 18, threat L17).

    `reason` is the rule's reason code ("too_short", "common", ...); the message says it in
    plain words and never contains the passphrase.
    """

    def __init__(self, reason: str, explanation: str) -> None:
        super().__init__(f"passphrase refused: {explanation}")
        self.reason = reason
