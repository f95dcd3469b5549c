"""Kluis vault: the cryptography and file formats of Kluis, pure and without I/O.

Implements the Kluis v1 format, specified byte for byte in docs/format.md, with the age v1
payload (https://age-encryption.org/v1) for document contents. Everything works on bytes and
file-like objects handed in: no network, no database, no paths. One module per concept:

    kdf        passphrase -> Argon2id master key -> login key and bundle key (section 2)
    identity   the public identity record, fingerprints, signature checks (section 3)
    keys       a user's private keys; re-exports `identity` (sections 3, 4)
    bundle     private keys sealed under the passphrase or recovery key (section 4)
    recovery   the 24-word recovery code (section 5)
    payload    streaming age STREAM encryption of document contents (section 6)
    metadata   encrypted file and dossier metadata (sections 7, 9)
    headerstatement  a document header's layout and hash, nothing opened (section 7)
    header     sealing and opening the signed document header (section 7)
    kinds      grant kinds, rights, organisation kinds, member roles (sections 8, 14)
    grantstatement  a grant's signed statement: parsing and signature, nothing sealed (section 8)
    grant      sharing by sealing keys to a recipient, signed (section 8)
    indexstatement  the signed dossier index and its checks, nothing opened (section 9)
    index      sealing the dossier index and opening its metadata (section 9)
    agefile    age headers: export to and import from standard age files (section 11)
    orgkeys    an organisation's published key record and its fingerprint (section 14.1)
    orgchain   an organisation's key chain, memberships, admins, re-wrapped grants: checks only
               (sections 14.2-14.5)
    organisation  making epochs and memberships, opening a membership's keys (section 14)
    receiptstatement  a receipt's signed statement and its check against the chain (section 15)
    receipt    signing an organisation's receipt of what it received (section 15)
    logchain   the access log's hash chain (section 16)
    tlog       the key transparency log's Merkle tree, proofs and tiles (section 17.3)
    note, checkpoint, cosignature   signed notes, checkpoints, witness cosignatures (17.4, 17.5)
    witness    the add-checkpoint request and response of C2SP tlog-witness (17.5)
    vrf        ECVRF-EDWARDS25519-SHA512-TAI, which labels names in the log (17.1)
    logentry   log entries, labels, the operator key and its statements (17.1, 17.2)
    keylookup  what a client checks before it uses a looked-up key (17.6)
    group      groups and conversations: kinds, names, the epoch key, archive keys (19.1, 19.2)
    message    one message of a group's chain, sealed and opened (19.3)
    messagelog verifying a group's message chain and public posts (19.4, 19.5)
    content    bodies: text, posts, events, replies (19.5); ics: an event as RFC 5545 text
    errors     the exception tree; labels: every context string (section 12)
"""

from .errors import (
    DowngradeError,
    ExpiredError,
    IntegrityError,
    InvalidRecoveryCode,
    KeyMismatchError,
    MalformedError,
    RollbackError,
    SecurityError,
    SignatureError,
    VaultError,
    WrongPassphrase,
)

FORMAT_VERSION = 1

__all__ = [
    "FORMAT_VERSION",
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
    "WrongPassphrase",
]
