"""Dossiers and their document listings, as verified by this client.

A dossier's contents are what its owner signed in the dossier index (docs/format.md section 9)
plus versions written since by people the owner gave write rights. The server's listing is
compared with the index: a document it leaves out (D13) or an older version it offers (D12)
stops everything. A valid signature says who wrote a version, not that they were allowed to
(K4, K5): a client opens by default only the latest version the owner confirms (her index
lists it, or she signed it herself); a newer one is named as unconfirmed and opened only on
request. The owner, who sees every grant, adopts into her index only versions her own signed
write grants allow, for the epoch the version names and the current one.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from vault.errors import (
    IntegrityError,
    RollbackError,
    SecurityError,
)
from vault.grant import (
    Grant,
    make_dossier_grant,
    new_dossier_key,
    verify_grant,
)
from vault.header import DocumentHeader, OpenedHeader, header_hash, open_header
from vault.index import DossierIndex, IndexEntry, compare_listing, index_hash, seal_index
from vault.kinds import GrantKind, Rights
from vault.metadata import DocumentMetadata, DossierMetadata

from .api import VersionRecord
from .base import ClientBase
from .clock import now
from .errors import ClientError, WithheldDocumentError
from .ids import new_id
from .records import DocumentInfo, Dossier
from .trust import Contact
from .verifying import open_headers


@dataclass(frozen=True)
class Choice:
    """Which version of one document a client opens by default (`DossiersMixin._choose`)."""

    record: VersionRecord  # the latest confirmed version; if none is, the newest (unconfirmed)
    confirmed: bool
    hashed: bytes = field(repr=False)  # header_hash(record.header)
    newer: int  # a document shared on its own: its newer version not shared with me, or 0
    unconfirmed: VersionRecord | None  # the newest version above `record`, not confirmed


# (user id, epoch) -> the key ids a write grant the owner signed names for that user and epoch
WriteRights = dict[tuple[str, int], set[bytes]]


class DossiersMixin(ClientBase):
    def create_dossier(self, title: str) -> str:
        try:
            metadata = DossierMetadata(title=title, created=now())
        except ValueError as exc:  # the rule of format section 9, for what the user typed
            raise ClientError(f"cannot use this title: {exc}") from None
        me = self.me
        dossier_id = new_id()
        did = bytes.fromhex(dossier_id)
        key = new_dossier_key()
        index = seal_index(
            me,
            dossier_id=did,
            counter=1,
            epoch=1,
            dossier_key=key,
            metadata=metadata,
            entries=(),
        )
        grant = make_dossier_grant(
            me,
            me.public,
            dossier_id=did,
            epoch=1,
            dossier_key=key,
            rights=Rights.WRITE,
            counter=1,
            issued_at=now(),
        )
        self.api.create_dossier(dossier_id, index, [grant])
        self.remember_index(dossier_id, index, 1)
        return dossier_id

    def dossiers(self) -> list[Dossier]:
        return [self.load_dossier(dossier_id) for dossier_id in self.dossier_ids()]

    # -- listing ----------------------------------------------------------------------------------
    def _listing(self, dossier_id: str) -> dict[str, list[VersionRecord]]:
        return self.api.listing(dossier_id)

    def _check_listing(
        self, dossier: Dossier, latest: dict[str, int], shown: dict[str, int]
    ) -> None:
        """D13: nothing the owner signed for may be missing from a full listing, and nothing
        she signed as deleted may be in it; then D12 (`_check_not_rolled_back`)."""
        found = compare_listing(dossier.index, {bytes.fromhex(d): v for d, v in latest.items()})
        # A document shared on its own sees only that document: the others are not withheld.
        if dossier.role != "document" and found.withheld:
            names = ", ".join(e.document_id.hex()[:8] for e in found.withheld)
            raise WithheldDocumentError(
                f"the server withholds {len(found.withheld)} document(s) that the owner's "
                f"signed index lists ({names}) without a signed deletion"
            )
        if found.deleted:
            gone = found.deleted[0]
            raise RollbackError(
                f"document {gone.document_id.hex()[:8]}: the owner's signed index records it as "
                f"deleted after version {gone.version}, but the server still lists it"
            )
        self._check_not_rolled_back(dossier, latest, shown)

    def _check_not_rolled_back(
        self, dossier: Dossier, latest: dict[str, int], shown: dict[str, int] | None = None
    ) -> None:
        """D12: no document older than the owner's signed index lists, and none older than
        this device has verified. `latest`: the newest version the server offers of each
        document; `shown`: the version that is opened by default, where that is an older one
        (a document shared on its own, whose later versions were not shared).

        A document-only grantee cannot read the dossier's title but does verify the index, so
        the index protects it as it protects everyone else."""
        seen_before = self.profile.versions_seen()
        for document_id, version in latest.items():
            entry = dossier.index.entry(bytes.fromhex(document_id))
            if entry is not None and version < entry.version:
                raise RollbackError(
                    f"document {document_id[:8]}: the server offers version {version}, the "
                    f"owner's signed index lists version {entry.version}"
                )
            offered = shown.get(document_id, version) if shown else version
            seen = seen_before.get(document_id, 0)
            if offered < seen:
                raise RollbackError(
                    f"document {document_id[:8]}: the server offers version {offered}, but "
                    f"this device has seen version {seen}"
                )

    def open_version(
        self, dossier: Dossier, record: VersionRecord, author: Contact | None = None
    ) -> OpenedHeader:
        """Verify one version's header: its author's signature, key commitment and metadata.

        `author`: the contact of `record.author_id` when the caller already resolved it."""
        author_identity = (author or self.contact_by_id(record.author_id)).identity
        did, doc = bytes.fromhex(dossier.dossier_id), bytes.fromhex(record.document_id)
        # With the owner's verified index, a version it lists byte for byte and that the owner
        # wrote needs no signature check of its own (format section 7, step 4).
        if dossier.keys:
            return open_header(
                record.header,
                dossier_id=did,
                document_id=doc,
                author=author_identity,
                version=record.version,
                dossier_keys=dossier.keys,
                index=dossier.index,
            )
        return open_header(
            record.header,
            dossier_id=did,
            document_id=doc,
            author=author_identity,
            version=record.version,
            file_key=self.keyring.document_file_key(dossier.dossier_id, dossier.owner, record),
            index=dossier.index,
        )

    def _granted_versions(self, dossier: Dossier) -> dict[str, set[int]]:
        """Without the dossier key: the versions of each document that grant rows addressed to
        me claim to give (a claim until the keyring opens one)."""
        return {} if dossier.keys else self.keyring.granted_versions(dossier.dossier_id)

    def _owner_confirms(
        self, dossier: Dossier, record: VersionRecord, hashed: bytes | None = None
    ) -> bool:
        """Whether the dossier owner confirms this version: her verified index lists exactly
        its header, or its header is hers (she holds every right; her older versions, which the
        index no longer lists). Anyone else's signature says who wrote a version, not that they
        were allowed to (K4, K5). The owner's authorship is read from the header here and
        proven when it is opened, under her pinned key. A header other than the one her index
        lists for this very version is an attack: IntegrityError."""
        doc = bytes.fromhex(record.document_id)
        listed = dossier.index.header_hash_of(doc, record.version)
        if listed is not None:
            if listed != (hashed or header_hash(record.header)):
                # The owner signed another header for this very version: swapped or injected.
                raise IntegrityError(
                    f"document {record.document_id[:8]} version {record.version}: the header "
                    "differs from the one the owner's signed index lists"
                )
            return True
        owner = dossier.owner
        if record.author_id != owner.user_id.hex():
            return False
        header = DocumentHeader.decode(record.header)
        return header.author_id == owner.user_id and header.author_key_id == owner.key_id

    def _choose(
        self, dossier: Dossier, versions: list[VersionRecord], granted: dict[str, set[int]]
    ) -> Choice:
        """The version of a document opened by default: the latest one the owner confirms
        (`_owner_confirms`), for a document shared on its own the latest of those shared with
        me. The owner shares a document's versions of that moment; later ones need a new
        share, so their absence is no attack, and the newer version named is the one her
        verified index lists (a number the server only lists is no fact). A newer unconfirmed
        version is named, never opened; a document with no confirmed version is shown by its
        newest, as unconfirmed, and opened only when asked for."""
        latest = versions[-1]
        candidates = versions
        newer = 0
        mine = granted.get(latest.document_id)
        if not dossier.keys and mine and latest.version not in mine:
            shared = [v for v in versions if v.version in mine]
            if shared:  # (with no key at all, opening the latest says so)
                candidates = shared
                entry = dossier.index.entry(bytes.fromhex(latest.document_id))
                if entry is not None and entry.version > shared[-1].version:
                    newer = entry.version
        top = candidates[-1]
        doc = bytes.fromhex(latest.document_id)
        for record in reversed(candidates):
            hashed = header_hash(record.header)
            # A version the index names is chosen even if its header differs: opening it, or
            # else `_info`, then says what is wrong; an older one is never opened in its place.
            if dossier.index.header_hash_of(doc, record.version) is not None or (
                self._owner_confirms(dossier, record, hashed)
            ):
                return Choice(record, True, hashed, newer, None if record is top else top)
        return Choice(top, False, header_hash(top.header), newer, None)

    def _info(
        self,
        dossier: Dossier,
        record: VersionRecord,
        m: DocumentMetadata,
        newer: int = 0,
        *,
        contact: Contact | None = None,
        hashed: bytes | None = None,
        unconfirmed: tuple[int, str] = (0, ""),
        not_adopted_because: str = "",
        adoptable: int = 0,
    ) -> DocumentInfo:
        """`contact` and `hashed` (the header's hash), when the caller has them already;
        `unconfirmed`: the number and verified author of a newer unconfirmed version;
        `adoptable`: as owner, the version `Client.sync` would adopt (`_pending`)."""
        confirmed = self._owner_confirms(dossier, record, hashed)
        contact = contact or self.contact_by_id(record.author_id)
        return DocumentInfo(
            dossier_id=dossier.dossier_id,
            document_id=record.document_id,
            version=record.version,
            name=m.name,
            media_type=m.media_type,
            title=m.title,
            size=m.size,
            modified=m.modified,
            created=m.created,
            author=contact.identity.username,
            author_id=record.author_id,
            author_verified=contact.verified,
            confirmed=confirmed,
            header=record.header,
            newer_version=newer,
            unconfirmed_version=unconfirmed[0],
            unconfirmed_author=unconfirmed[1],
            not_adopted_because=not_adopted_because,
            adoptable_version=adoptable,
        )

    def _checked_choices(
        self,
        dossier: Dossier,
        listing: dict[str, list[VersionRecord]],
        granted: dict[str, set[int]],
    ) -> dict[str, Choice]:
        """The version of each document opened by default (`_choose`), after the listing
        checks against the index (D13, D12: `_check_listing`)."""
        latest = {doc: versions[-1].version for doc, versions in listing.items()}
        choices = {doc: self._choose(dossier, vs, granted) for doc, vs in listing.items()}
        self._check_listing(dossier, latest, {d: c.record.version for d, c in choices.items()})
        return choices

    def documents(
        self, dossier_id: str, *, listing: dict[str, list[VersionRecord]] | None = None
    ) -> list[DocumentInfo]:
        """Every document at the version opened by default (`_choose`), verified, with a newer
        unconfirmed version named; raises if the server hides anything. Reads only: as the
        owner, a version her own write grants allow is named (`DocumentInfo.adoptable_version`)
        and one they do not says why (`not_adopted_because`); `Client.sync` adopts them.
        `listing`: the server's listing, when the caller fetched it already
        (`Synced.listing`)."""
        return self._documents_listed(dossier_id, listing)[0]

    def _documents_listed(
        self, dossier_id: str, listing: dict[str, list[VersionRecord]] | None
    ) -> tuple[list[DocumentInfo], dict[str, list[VersionRecord]]]:
        """`documents`, and the listing they were checked and chosen from (the caller's, or
        one fetched now), for a caller that goes on to use it (export, for older versions)."""
        dossier = self.load_dossier(dossier_id)
        granted = self._granted_versions(dossier)
        if listing is not None:
            try:
                choices = self._checked_choices(dossier, listing, granted)
            except (WithheldDocumentError, RollbackError):
                # The caller's listing was fetched before this index was loaded: another of
                # the owner's devices may have signed a document or version in since. Asked
                # once more, the server must show what the index lists, or the check stops.
                listing = None
        if listing is None:
            listing = self._listing(dossier_id)
            choices = self._checked_choices(dossier, listing, granted)
        reasons: dict[str, str] = {}
        adoptable: dict[str, int] = {}
        if dossier.role == "owner":
            pending, reasons = self._pending(dossier, listing)
            adoptable = {r.document_id: r.version for r in pending}
        records = [c.record for c in choices.values()]
        above = [c.unconfirmed for c in choices.values() if c.unconfirmed is not None]
        # Each author is pinned or checked once, before the workers: a listing of ten thousand
        # documents has a handful of authors.
        authors = {a: self.contact_by_id(a) for a in {r.author_id for r in [*records, *above]}}
        hashes = {doc: c.hashed for doc, c in choices.items()}

        # A header this device verified before, byte for byte and under the same author key,
        # verifies the same way again: only new or changed headers are opened, over every core
        # (client_sdk.verifying).
        cache = self.profile.verified_headers(dossier_id)
        key_ids = {a: c.identity.key_id.hex() for a, c in authors.items()}
        known: dict[str, DocumentMetadata] = {}
        for r in records:
            hit = cache.get(r.document_id, {})
            try:
                if (
                    hit["header_hash"] == hashes[r.document_id].hex()
                    and hit["author_id"] == r.author_id  # the key id alone names no person
                    and hit["author_key_id"] == key_ids[r.author_id]
                    and hit["version"] == r.version  # the server may relabel a version (D12)
                ):
                    known[r.document_id] = DocumentMetadata(**hit["metadata"])
            except (KeyError, TypeError, ValueError):
                pass  # no entry, or a damaged one: verify from scratch
        fresh = [r for r in records if r.document_id not in known]
        if dossier.keys:
            did = bytes.fromhex(dossier.dossier_id)
            opened = open_headers(
                [
                    (
                        bytes.fromhex(r.document_id),
                        r.version,
                        r.header,
                        authors[r.author_id].identity,
                    )
                    for r in fresh
                ],
                dossier_id=did,
                dossier_keys=dossier.keys,
                index=dossier.index,
            )
            known.update(zip((r.document_id for r in fresh), opened, strict=True))
        else:  # a document shared on its own: each version's key comes from its own grant
            for r in fresh:
                known[r.document_id] = self.open_version(dossier, r, authors[r.author_id]).metadata
        # A newer unconfirmed version is verified before it is named (its author comes from its
        # signature), but never opened by default, cached or remembered as seen.
        for r in above:
            self.open_version(dossier, r, authors[r.author_id])
        infos = [
            self._info(
                dossier,
                c.record,
                known[doc],
                c.newer,
                contact=authors[c.record.author_id],
                hashed=c.hashed,
                unconfirmed=self._named(c.unconfirmed, authors),
                not_adopted_because=reasons.get(doc, ""),
                adoptable=adoptable.get(doc, 0),
            )
            for doc, c in choices.items()
        ]
        verified = {
            i.document_id: {
                "header_hash": hashes[i.document_id].hex(),
                "version": i.version,
                "author_id": i.author_id,
                "author_key_id": key_ids[i.author_id],
                "metadata": known[i.document_id].to_json(),
            }
            for i in infos
        }
        if verified != cache:
            self.profile.save_verified_headers(dossier_id, verified)
        # Remembered as seen: the confirmed versions verified here, not the numbers the server
        # listed, nor a version nobody confirmed (which would hold later defaults hostage).
        self.profile.save_versions_seen({i.document_id: i.version for i in infos if i.confirmed})
        return sorted(infos, key=lambda i: (i.name.lower(), i.document_id)), listing

    @staticmethod
    def _named(record: VersionRecord | None, authors: dict[str, Contact]) -> tuple[int, str]:
        if record is None:
            return 0, ""
        return record.version, authors[record.author_id].identity.username

    def current_grantees(self, dossier: Dossier) -> dict[str, Grant]:
        """As owner: who holds the current epoch's key by a grant this device proves I signed.

        The server shows the owner every grant row, but its rights, expiry and recipient
        columns are claims, and it may file rows in my name or give back rows that a revoke
        ended (K5, S18). Only my own verified signature counts, only for the current epoch
        (revocation starts a new one) and only until the signed expiry.
        """
        did = bytes.fromhex(dossier.dossier_id)
        grantees: dict[str, Grant] = {}
        for item in self.keyring.grant_rows(dossier.dossier_id):
            try:
                grant = verify_grant(item.grant(), granter=self.me.public, dossier_id=did)
            except SecurityError:
                continue  # not a grant I made: it gives nobody anything
            expired = grant.expires_at != 0 and grant.expires_at <= now()
            recipient = grant.recipient_id.hex()
            if (
                grant.kind == GrantKind.DOSSIER
                and grant.number == dossier.epoch
                and recipient != self.my_id
                and not expired
            ):
                grantees[recipient] = grant
        return grantees

    def rotation_due(self, dossier: Dossier) -> bool:
        """As owner: whether an organisation I share the dossier with has moved on to a newer
        epoch (it removed a member) than my current grant to it is sealed to. Then nothing may
        be written under the current key, which the former member may hold, until `sync`
        starts a new dossier epoch (format 14.5, S18). Reads only."""
        if dossier.role != "owner":
            return False
        for recipient, grant in self.current_grantees(dossier).items():
            if self.profile.organisation_pin(recipient) is None:
                continue
            org = self.directory.organisation(org_id=recipient)
            if not hmac.compare_digest(org.identity.key_id, grant.recipient_key_id):
                return True
        return False

    def _write_rights(self, dossier: Dossier) -> WriteRights:
        """As owner: who may write in which epoch, under which keys, by a write grant this
        device proves I signed, unexpired now by its signed expiry. The server's rights,
        expiry and recipient columns are claims, and it may file rows in my name or give back
        rows a revoke deleted (K5, S18); only my own verified signature counts."""
        did = bytes.fromhex(dossier.dossier_id)
        rights: WriteRights = {}
        for item in self.keyring.grant_rows(dossier.dossier_id):
            try:
                grant = verify_grant(item.grant(), granter=self.me.public, dossier_id=did)
            except SecurityError:
                continue  # not a grant I made: it gives nobody anything
            expired = grant.expires_at != 0 and grant.expires_at <= now()
            if grant.kind == GrantKind.DOSSIER and grant.rights == Rights.WRITE and not expired:
                key = (grant.recipient_id.hex(), grant.number)
                rights.setdefault(key, set()).add(grant.recipient_key_id)
        return rights

    def _not_adoptable(
        self, dossier: Dossier, record: VersionRecord, rights: WriteRights
    ) -> str | None:
        """As owner: None if I may sign `record` into my index, else why not. Mine, under my
        own keys; or by a user my own signed grants let write both in the epoch the version
        names (its file key is wrapped under that epoch's key) and in the current one (a
        revoked writer keeps old grants, which the server can give back, but none for the
        epoch the revoke started), each under the keys that signed the header."""
        header = DocumentHeader.decode(record.header)
        if record.author_id == self.my_id:
            if header.author_key_id == self.me.public.key_id:
                return None
            return "it is signed with keys that are not yours"
        name = self.contact_by_id(record.author_id).identity.username
        for epoch in dict.fromkeys((header.epoch, dossier.epoch)):
            keys = rights.get((record.author_id, epoch), set())
            when = (
                f"epoch {epoch}, which the version names"
                if epoch == header.epoch
                else f"the current epoch {epoch}"
            )
            if not keys:
                return f"{name} holds no write right you granted for {when}"
            if header.author_key_id not in keys:
                return (
                    f"the write right you granted {name} for {when} names other keys than the "
                    "ones that signed it"
                )
        return None

    def _pending(
        self, dossier: Dossier, listing: dict[str, list[VersionRecord]]
    ) -> tuple[list[VersionRecord], dict[str, str]]:
        """As owner, reading only: the newest version of each document above the one my index
        lists that I may adopt (`_not_adoptable`), each verified first, and for each document
        whose newest version stays unconfirmed, why. A document my index records as deleted is
        never adopted back. The named step `Client.sync` (or a write: `update`, a document
        `share`, `revoke`) signs them into my index (`_adopt_pending`)."""
        deleted = {d.document_id.hex() for d in dossier.index.deletions}
        pending: dict[str, list[VersionRecord]] = {}
        for doc, versions in listing.items():
            entry = dossier.index.entry(bytes.fromhex(doc))
            listed = entry.version if entry is not None else 0
            if versions[-1].version > listed and doc not in deleted:
                pending[doc] = [v for v in versions if v.version > listed]
        if not pending:
            return [], {}
        rights = self._write_rights(dossier)
        adoptable: list[VersionRecord] = []
        reasons: dict[str, str] = {}
        for doc, above in pending.items():
            for record in reversed(above):
                reason = self._not_adoptable(dossier, record, rights)
                if reason is None:
                    self.open_version(dossier, record)  # signature, key, metadata: or raise
                    adoptable.append(record)
                    break
                if record is above[-1]:
                    reasons[doc] = reason
        return adoptable, reasons

    def _adopt_pending(
        self, dossier: Dossier, listing: dict[str, list[VersionRecord]]
    ) -> tuple[Dossier, list[VersionRecord], dict[str, str]]:
        """Writes, as owner: sign into my index, once for the batch, what `_pending` finds
        adoptable. Returns the dossier with its new index, the versions adopted, and for each
        document whose newest version stays unconfirmed, why."""
        adopted, reasons = self._pending(dossier, listing)
        if adopted:
            dossier = self.sign_index(dossier, adopted)
        return dossier, adopted, reasons

    def _adopt(
        self,
        dossier: Dossier,
        document_id: str | None = None,
        *,
        listing: dict[str, list[VersionRecord]] | None = None,
    ) -> list[DocumentInfo]:
        """Writes, as owner (for anyone else nothing): adopt the dossier's pending versions, or
        one document's, after the checks a listing (`documents`) or a download (`get`) makes
        first: D13 and D12 over the listing, or D12 for the one document. The step of
        `Client.sync`; returns the versions adopted, as now confirmed. `listing`: the server's
        listing of the dossier, when the caller fetched it already."""
        if dossier.role != "owner":
            return []
        dossier_id = dossier.dossier_id
        if document_id is None:
            listing = self._listing(dossier_id) if listing is None else listing
            latest = {doc: versions[-1].version for doc, versions in listing.items()}
            choices = {doc: self._choose(dossier, vs, {}) for doc, vs in listing.items()}
            self._check_listing(dossier, latest, {d: c.record.version for d, c in choices.items()})
        else:
            _, versions = self.document_versions(document_id)
            listing = {document_id: versions}
            self._check_not_rolled_back(dossier, {document_id: versions[-1].version})
        dossier, adopted, _ = self._adopt_pending(dossier, listing)
        infos = [self._info(dossier, r, self.open_version(dossier, r).metadata) for r in adopted]
        self.profile.save_versions_seen({i.document_id: i.version for i in infos})
        return infos

    def document_versions(self, document_id: str) -> tuple[str, list[VersionRecord]]:
        """The dossier id and the server's (unverified) versions of one document."""
        return self.api.document(document_id)

    def sign_index(
        self,
        dossier: Dossier,
        changed: Sequence[DocumentInfo | VersionRecord],
        *,
        epoch: int | None = None,
        metadata: DossierMetadata | None = None,
    ) -> Dossier:
        """As owner, sign the next index with `changed` versions put in.

        It is signed on top of the newest index the server shows, read again now, which
        `load_dossier` accepts only if it descends from the last index this device verified
        (format section 9, step 4): never on top of a fork, nor of an older index than the one
        another device signed since `dossier` was loaded (its documents are kept, and a version
        it already lists is not lowered)."""
        newest = self.load_dossier(dossier.dossier_id)
        entries = {e.document_id: e for e in newest.index.entries}
        for info in changed:
            doc, hashed = bytes.fromhex(info.document_id), header_hash(info.header)
            listed = entries.get(doc)
            if listed is not None and listed.version == info.version:
                if listed.header_hash != hashed:
                    raise IntegrityError(
                        f"document {info.document_id[:8]} version {info.version}: the owner's "
                        "signed index lists another header for it"
                    )
                continue
            later = listed is not None and listed.version > info.version
            if later or newest.index.deletion(doc) is not None:
                continue  # another device signed a later version, or the deletion, meanwhile
            entries[doc] = IndexEntry(doc, info.version, hashed)
        keys = {**newest.keys, **dossier.keys}
        epoch = epoch or newest.epoch
        metadata = metadata or newest.metadata or DossierMetadata(title="", created=0)
        counter = newest.index.counter + 1
        index = seal_index(
            self.me,
            dossier_id=bytes.fromhex(dossier.dossier_id),
            counter=counter,
            epoch=epoch,
            dossier_key=keys[epoch],
            metadata=metadata,
            entries=entries.values(),
            deletions=newest.index.deletions,
            previous_hash=index_hash(newest.index_bytes),
        )
        self.api.put_index(dossier.dossier_id, index, counter)
        self.remember_index(dossier.dossier_id, index, counter)
        signed = DossierIndex.decode(index)
        return replace(newest, index=signed, index_bytes=index, metadata=metadata, keys=keys)
