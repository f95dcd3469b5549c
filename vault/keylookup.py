"""What a client checks before it uses a key the server looked up (docs/format.md section 17.6):
the record must be in the key transparency log, under the name asked for, at a checkpoint the
log signed, enough witnesses cosigned, and that extends every checkpoint this device saw.

This is the verification only, pure: the caller (client_sdk) fetches the answer, keeps the
newest checkpoint it accepted, and then applies its pins (K1, K2, K6) to the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .checkpoint import Checkpoint, TrustedLog, VerifiedCheckpoint, check_extension, open_checkpoint
from .errors import KeyMismatchError
from .identity import Identity
from .logentry import LogEntry, Namespace, verify_label
from .orgkeys import OrgKeys
from .tlog import leaf_hash, verify_inclusion

__all__ = ["Lookup", "verify_logged", "verify_lookup"]


def verify_logged(
    entry: LogEntry, index: int, inclusion: Sequence[bytes], checkpoint: Checkpoint
) -> None:
    """Check that `entry` is entry `index` of the tree `checkpoint` names (IntegrityError)."""
    verify_inclusion(leaf_hash(entry.encode()), index, checkpoint.size, inclusion, checkpoint.root)


@dataclass(frozen=True)
class Lookup:
    """A looked-up record that passed every check: the checkpoint to keep as the newest this
    device accepted, the name's label, the entry, and the parsed record (an identity record for
    a user, an OrgKeys record for an organisation)."""

    checkpoint: VerifiedCheckpoint
    label: bytes
    entry: LogEntry
    index: int
    record: Identity | OrgKeys


def verify_lookup(
    *,
    log: TrustedLog,
    vrf_key: bytes,
    previous: Checkpoint | None,
    checkpoint: bytes,
    consistency: Sequence[bytes],
    namespace: Namespace,
    name: str,
    label_proof: bytes,
    record: bytes,
    index: int,
    inclusion: Sequence[bytes],
    now: int | None = None,
    max_age: int | None = None,
) -> Lookup:
    """The checks of format section 17.6, in order, each failure stopping everything:

    1. the signed checkpoint opens under the trusted log key and witness policy
       (`open_checkpoint`: MalformedError, SignatureError, IntegrityError);
    2. it extends `previous`, the newest checkpoint this device accepted, along `consistency`
       (`check_extension`: RollbackError, IntegrityError);
    3. `label_proof` proves the label of `name` in `namespace` under the log's VRF key
       (MalformedError, SignatureError);
    4. `record` parses and its self-signatures verify (MalformedError, SignatureError), and it
       is the record of `name` (KeyMismatchError);
    5. the entry rebuilt from the label and the record is entry `index` of the checkpoint's
       tree (IntegrityError): the server cannot show this device keys it did not log.
    """
    verified = open_checkpoint(checkpoint, log, now=now, max_age=max_age)
    check_extension(previous, verified.checkpoint, consistency)
    label = verify_label(vrf_key, namespace, name, label_proof)
    parsed: Identity | OrgKeys
    if namespace == Namespace.USER:
        parsed = Identity.decode(record)
        if parsed.username != name:
            raise KeyMismatchError(f"key lookup: a record of {parsed.username!r}, not {name!r}")
        entry = LogEntry.identity(label, parsed.key_version, record)
    else:
        parsed = OrgKeys.decode(record)
        if parsed.name != name:
            raise KeyMismatchError(f"key lookup: a record of {parsed.name!r}, not {name!r}")
        entry = LogEntry.organisation(label, parsed.epoch, record)
    verify_logged(entry, index, inclusion, verified.checkpoint)
    return Lookup(verified, label, entry, index, parsed)
