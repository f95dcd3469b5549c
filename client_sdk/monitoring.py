"""Watching the key transparency log (docs/client.md section 24): the device's own name and its
organisations (self-monitoring), a name's key history, and checkpoints compared with ones
obtained elsewhere (gossip).

A log proves that what a lookup shows was published to everyone, not that nobody published
anything else under the same name: only the owner of a name can tell which of its entries it
made. So the audit reads every entry added since the last one and refuses any identity entry
under the device's own label whose record is not the account's, and any epoch entry under the
label of one of its organisations that is not in the organisation's chain this device verified.
"""

from __future__ import annotations

from dataclasses import dataclass

from vault.checkpoint import TrustedLog, VerifiedCheckpoint, check_extension, open_checkpoint
from vault.errors import IntegrityError, KeyMismatchError, VaultError
from vault.identity import Identity
from vault.logentry import EntryKind, LogEntry, Namespace, record_digest, verify_label

from .account import Account
from .api import ServerApi
from .directory import Directory
from .errors import ClientError
from .keylog import Audit, KeyLog, Watched
from .typed import typed_username


@dataclass(frozen=True)
class HistoryEntry:
    """One entry of a name's history: where it is, what it logs, and whether it is the record
    (or one of the epochs) the server shows for the name now."""

    index: int
    kind: str  # "identity", "organisation epoch", "operator statement"
    version: int  # key version or epoch; 0 for a statement
    current: bool


@dataclass
class Monitor:
    """The log-watching part of a client, given the parts it uses."""

    api: ServerApi
    account: Account
    directory: Directory
    keylog: KeyLog

    def _mine(self) -> tuple[bytes, Watched]:
        """My own name's label, after checking the log shows my own keys under it."""
        me = self.account.me
        answer = self.api.user(me.username, self.directory.since())
        looked = self.keylog.check_record(
            answer.head, answer.log, Namespace.USER, me.username, answer.identity
        )
        if looked.record != me.public:
            raise KeyMismatchError("the key transparency log shows other keys for your account")
        return looked.label, Watched(
            me.username, "you", frozenset({record_digest(me.public.encode())})
        )

    def audit(self) -> Audit:
        """Self-monitoring of my account and of the organisations I am a member of."""
        watched = dict([self._mine()])
        my_id = self.account.my_id
        for _entry, org in self.directory.organisations():
            if org is None or org.role_of(my_id) is None or not org.log_label:
                continue
            watched[org.log_label] = Watched(
                f"the organisation {org.name}", "its admins", frozenset(org.chain.hashes)
            )
        return self.keylog.audit(watched)

    def history(self, name: str) -> list[HistoryEntry]:
        """Every entry the log holds under a person's name (or `@organisation`'s), oldest
        first, each marked when it is what the server shows for the name now."""
        if name.startswith("@"):
            org = self.directory.organisation(name)
            label, current = org.log_label, set(org.chain.hashes)
        else:
            username = typed_username(name)
            answer = self.api.user(username, self.directory.since())
            self.directory.logged_record(answer, username=username)  # checked, not pinned
            _log, vrf_key = self.keylog.trusted()
            assert answer.log is not None and answer.log.label_proof is not None  # checked
            label = verify_label(vrf_key, Namespace.USER, username, answer.log.label_proof)
            current = {record_digest(Identity.decode(answer.identity).encode())}
        kinds = {
            EntryKind.IDENTITY: "identity",
            EntryKind.ORGANISATION: "organisation epoch",
            EntryKind.VERIFICATION: "operator statement",
        }
        return [
            HistoryEntry(index, kinds.get(entry.kind, "?"), entry.version, _known(entry, current))
            for index, entry in self.keylog.history(label)
        ]

    def checkpoint(self) -> VerifiedCheckpoint:
        """The log's newest checkpoint, after checking it extends the one this device held."""
        return self.keylog.refresh()

    def compare(self, data: bytes) -> tuple[VerifiedCheckpoint, VerifiedCheckpoint]:
        """Compare a checkpoint obtained elsewhere (a newsletter, a notice board, another
        resident's device) with this device's view: both must be of one tree. A checkpoint
        the log's key did not sign is the user's mistake (ClientError); one that is not in
        the tree this device is shown is a fork (IntegrityError) or a log that hides a tree
        others were shown (RollbackError). Returns (theirs, mine)."""
        log, _vrf = self.keylog.trusted()
        try:
            theirs = open_checkpoint(data, TrustedLog(log.origin, log.key))
        except VaultError as exc:
            raise ClientError(
                f"that file is not a checkpoint of this server's log: {exc}"
            ) from None
        head = self.api.log_head(theirs.checkpoint.size)
        newest = open_checkpoint(head.checkpoint, log)
        check_extension(theirs.checkpoint, newest.checkpoint, head.consistency)
        mine = self.keylog.refresh()
        if mine.checkpoint.size == newest.checkpoint.size and mine.checkpoint != newest.checkpoint:
            raise IntegrityError(
                f"the log showed two different trees of {mine.checkpoint.size} entries"
            )
        return theirs, mine


def _known(entry: LogEntry, current: set[bytes]) -> bool:
    return entry.digest is not None and entry.digest in current
