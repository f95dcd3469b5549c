"""The keys I hold: every grant addressed to me or to my organisations, opened.

A dossier's key of each epoch, and a document version's file key, reach me in grants
(docs/format.md section 8): from the dossier's owner to me; or to an organisation I am a member
of, opened with that organisation's keys of the grant's epoch, made by the owner or re-wrapped
by the organisation itself next to the owner's original (format 14.5). The server's grant rows
are claims: a grant counts only once it opens under the pinned keys of its granter.
"""

from __future__ import annotations

import hmac
import threading

from vault import labels
from vault.errors import (
    ExpiredError,
    IntegrityError,
    KeyMismatchError,
    MalformedError,
    SecurityError,
)
from vault.grant import Grant, open_grant
from vault.keys import Identity
from vault.kinds import GrantKind, Rights
from vault.organisation import check_rewrap

from .account import Account
from .api import GrantRow, ServerApi, VersionRecord
from .clock import now
from .directory import Directory, Organisation
from .errors import NotFound

# A dossier opened as a document-only grantee, a reader or a writer.
ROLE_ORDER = {"document": 0, "read": 1, "write": 2}


class KeyRing:
    def __init__(self, api: ServerApi, account: Account, directory: Directory) -> None:
        self.api = api
        self.account = account
        self.directory = directory
        self._rows_seen: tuple[str, list[GrantRow]] | None = None
        # dossier id -> the organisations whose grants gave me keys in it (this session)
        self.org_access: dict[str, set[str]] = {}
        self._org_document_keys: dict[str, dict[tuple[str, int], bytes]] = {}
        self._org_lock = threading.Lock()

    # -- the server's rows ---------------------------------------------------------------------
    def grant_rows(self, dossier_id: str) -> list[GrantRow]:
        """The server's grant rows for a dossier: claims until a grant is opened or verified.
        Kept for the organisations' grants of the same dossier, read next."""
        rows = self.api.grants(dossier_id)
        self._rows_seen = (dossier_id, rows)
        return rows

    def _rows_for(self, dossier_id: str) -> list[GrantRow]:
        seen = self._rows_seen
        if seen is not None and seen[0] == dossier_id:
            return seen[1]
        return self.grant_rows(dossier_id)

    def _my_grants(self, dossier_id: str) -> list[GrantRow]:
        return [g for g in self.grant_rows(dossier_id) if g.recipient_id == self.account.my_id]

    def forget(self, dossier_id: str) -> None:
        """Open the organisations' document grants of the dossier again when next asked (it
        is being loaded afresh)."""
        with self._org_lock:
            self._org_document_keys.pop(dossier_id, None)

    # -- dossier keys ----------------------------------------------------------------------------
    def dossier_keys(self, dossier_id: str, owner: Identity) -> tuple[dict[int, bytes], str]:
        """Every dossier key granted to me, by epoch, and my role: first the owner's grants to
        me (only the owner may grant them), then those to my organisations."""
        keys: dict[int, bytes] = {}
        role = "document"
        for item in self._my_grants(dossier_id):
            if item.kind != GrantKind.DOSSIER:
                continue
            try:
                opened = open_grant(
                    item.grant(),
                    me=self.account.me,
                    granter=owner,
                    kind=GrantKind.DOSSIER,
                    dossier_id=bytes.fromhex(dossier_id),
                    number=-1 if item.number is None else item.number,
                    now=now(),
                )
            except ExpiredError:
                continue
            keys[opened.grant.number] = opened.key
            if opened.grant.rights == Rights.WRITE:
                role = "write"
            elif role == "document":
                role = "read"
        for _org_id, grant, key in self._org_grant_keys(dossier_id, owner, GrantKind.DOSSIER):
            keys.setdefault(grant.number, key)
            granted = "write" if grant.rights == Rights.WRITE else "read"
            if ROLE_ORDER[granted] > ROLE_ORDER[role]:
                role = granted
        return keys, role

    # -- documents shared on their own -----------------------------------------------------------
    def document_file_key(self, dossier_id: str, owner: Identity, record: VersionRecord) -> bytes:
        """The file key of one version from a document grant (kind 2) addressed to me, else
        from one to one of my organisations."""
        try:
            return self._my_document_file_key(dossier_id, owner, record)
        except KeyMismatchError:
            # Listings open versions in a thread pool: the organisations' document grants of a
            # dossier are opened once per loaded dossier, under a lock.
            with self._org_lock:
                cache = self._org_document_keys
                if dossier_id not in cache:
                    cache[dossier_id] = {
                        (grant.document_id.hex(), grant.number): key
                        for _org_id, grant, key in self._org_grant_keys(
                            dossier_id, owner, GrantKind.DOCUMENT
                        )
                    }
                key = cache[dossier_id].get((record.document_id, record.version))
            if key is None:
                raise
            return key

    def _my_document_file_key(
        self, dossier_id: str, owner: Identity, record: VersionRecord
    ) -> bytes:
        for item in self._my_grants(dossier_id):
            if (
                item.kind == GrantKind.DOCUMENT
                and item.document_id == record.document_id
                and item.number == record.version
            ):
                return open_grant(
                    item.grant(),
                    me=self.account.me,
                    granter=owner,
                    kind=GrantKind.DOCUMENT,
                    dossier_id=bytes.fromhex(dossier_id),
                    document_id=bytes.fromhex(record.document_id),
                    number=record.version,
                    now=now(),
                ).key
        raise KeyMismatchError(
            f"no key for document {record.document_id[:8]} version {record.version} was shared "
            "with you"
        )

    def granted_versions(self, dossier_id: str) -> dict[str, set[int]]:
        """The versions of each document that grant rows addressed to me claim to give (a
        claim until `document_file_key` opens one)."""
        granted: dict[str, set[int]] = {}
        for item in self._my_grants(dossier_id):
            if item.kind == GrantKind.DOCUMENT and item.number is not None:
                granted.setdefault(str(item.document_id), set()).add(item.number)
        return granted

    # -- grants to my organisations -------------------------------------------------------------
    def open_organisation_grant(
        self, data: bytes, org: Organisation, owner: Identity, rows: list[GrantRow]
    ) -> tuple[Grant, bytes] | None:
        """Open a grant to `org` with the keys of its epoch: made by the dossier owner, or
        re-wrapped by the organisation itself next to the owner's original (format 14.5).
        None if I hold no keys of that epoch or it expired; raises if it is forged."""
        grant = Grant.decode(data)
        epoch = next(
            (
                r.epoch
                for r in org.chain.records
                if hmac.compare_digest(r.key_id, grant.recipient_key_id)
            ),
            None,
        )
        if epoch is None or epoch not in org.keys:
            return None
        if grant.granter_id == owner.user_id:
            granter = owner
        elif grant.granter_id == org.chain.org_id:
            granter = org.chain.epoch_keys(epoch).identity
            check_rewrap(grant, self._original(grant, org, owner, rows), org_id=org.chain.org_id)
        else:
            raise KeyMismatchError("grant: to the organisation, but not from the dossier's owner")
        try:
            opened = open_grant(
                data,
                me=org.keys[epoch],
                granter=granter,
                kind=grant.kind,
                dossier_id=grant.dossier_id,
                document_id=grant.document_id if grant.kind == GrantKind.DOCUMENT else None,
                number=grant.number,
                now=now(),
            )
        except ExpiredError:
            return None
        return opened.grant, opened.key

    @staticmethod
    def _original(rewrap: Grant, org: Organisation, owner: Identity, rows: list[GrantRow]) -> Grant:
        """The owner's own grant that a re-wrapped one copies (signature checked)."""
        target = (rewrap.kind, rewrap.dossier_id, rewrap.document_id, rewrap.number)
        for row in rows:
            try:
                candidate = Grant.decode(row.grant())
            except MalformedError:
                continue
            if (
                (candidate.kind, candidate.dossier_id, candidate.document_id, candidate.number)
                == target
                and candidate.recipient_id == org.chain.org_id
                and (candidate.granter_id, candidate.granter_key_id)
                == (owner.user_id, owner.key_id)
            ):
                try:
                    owner.verify(labels.GRANT_SIGNATURE, candidate.body(), candidate.signature)
                except SecurityError:
                    continue
                return candidate
        raise IntegrityError(
            "re-wrapped grant: the dossier owner's original grant to the organisation is missing"
        )

    def _org_grant_keys(
        self, dossier_id: str, owner: Identity, kind: GrantKind
    ) -> list[tuple[str, Grant, bytes]]:
        """(org id, grant, key) of every grant of `kind` to my organisations in a dossier."""
        if owner.user_id.hex() == self.account.my_id:
            return []  # the owner holds every key through its own grants
        rows = self._rows_for(dossier_id)
        out: list[tuple[str, Grant, bytes]] = []
        for org_id in sorted({str(r.recipient_id) for r in rows} - {self.account.my_id}):
            try:
                org = self.directory.organisation(org_id=org_id)
            except NotFound:
                continue  # not an organisation: a row that gives me nothing
            org_rows = [r for r in rows if r.recipient_id == org_id]
            for row in org_rows:
                if row.kind != kind:
                    continue
                data = row.grant()
                opened = self.open_organisation_grant(data, org, owner, org_rows)
                if opened is not None:
                    out.append((org_id, *opened))
                    self.org_access.setdefault(dossier_id, set()).add(org_id)
        return out
