"""Receipts of submission (ontvangstbevestiging), signed by organisations, kept by residents.

When a member of an organisation has opened documents shared with it (a listing or a
download), `acknowledge` signs, with the organisation's current key, a receipt over what it
received: the dossier, each document version with the payload hash and header hash of the
verified header, the time and the organisation's fingerprint (docs/format.md section 15), and
files it. Versions an earlier receipt of the organisation already covers (one that verifies)
are not receipted twice. Opening writes nothing itself: `acknowledge` is the named step that
does, which `kluis ls`, `get` and `export` take after opening, and say so.

`receipts(dossier)` shows the dossier's owner every receipt, each verified against the
organisation's key chain as this device pins it, and against her own signed grants: a receipt
counts only from an organisation she shared the versions it lists with, by a grant in force at
the receipt's time (`_Shares`). One the server made up or changed, or one an organisation
signed without having been given what it lists, is shown as failed, never dropped. `export`
writes them, with the key records needed to check them, next to the files.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vault.errors import KeyMismatchError, MalformedError, SecurityError
from vault.grant import NEVER_EXPIRES, Grant, verify_grant
from vault.header import DocumentHeader, header_hash
from vault.kinds import GrantKind
from vault.receipt import Receipt, ReceiptEntry, make_receipt, verify_receipt

from .account import Account
from .api import ReceiptRow, ServerApi
from .clock import now
from .directory import Directory, Organisation
from .errors import ApiError, ClientError
from .files import write_private
from .keyring import KeyRing
from .profile import Profile
from .records import DocumentInfo, Dossier
from .transport import b64, unb64

RECEIPTS_FILE = "receipts.json"
# Seconds a member's clock (which dates a receipt) may differ from the owner's (which dates her
# grants) before a receipt counts as made outside the share.
CLOCK_SKEW = 300
RECEIPTS_README = """
Receipts (ontvangstbevestigingen)
---------------------------------
{receipts} lists the receipts organisations signed for this dossier: which document versions
they received (with the BLAKE3 hash of each payload and header), when, and the organisation's
fingerprint. Each receipt is there in full ("receipt", base64, format: docs/format.md section
15 of Kluis) with the organisation's signed key records ("organisations"), so anyone can check
the signatures again. "status" says whether this device verified it when exporting.
"""


@dataclass(frozen=True)
class ReceiptView:
    """One receipt as this device checked it."""

    receipt_id: str
    org_id: str
    organisation: str  # the name from the verified chain, or the id if the chain did not verify
    org_fingerprint: str
    org_verified: bool
    epoch: int
    member_id: str
    member: str
    opened_at: int
    entries: list[dict[str, Any]]
    status: str  # "verified" or why not
    data: bytes = field(repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "verified"

    def to_json(self) -> dict[str, Any]:
        return {
            "receipt_id": self.receipt_id,
            "organisation": self.organisation,
            "org_id": self.org_id,
            "org_fingerprint": self.org_fingerprint,
            "org_verified": self.org_verified,
            "epoch": self.epoch,
            "member": self.member,
            "member_id": self.member_id,
            "opened_at": self.opened_at,
            "documents": self.entries,
            "status": self.status,
        }


def _utc(t: int) -> str:
    try:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, ValueError, OSError):  # a u64 far beyond any calendar
        return f"{t} (seconds since 1970)"


def _in_force(grant: Grant, revoked_at: int | None, t: int) -> bool:
    """Whether the grant was in force at time t, allowing CLOCK_SKEW either way."""
    return (
        grant.issued_at <= t + CLOCK_SKEW
        and (grant.expires_at == NEVER_EXPIRES or t < grant.expires_at + CLOCK_SKEW)
        and (revoked_at is None or t < revoked_at + CLOCK_SKEW)
    )


@dataclass(frozen=True)
class _Shares:
    """What the owner's own signed grants in a dossier say about who held what, and when.

    `grants`: every grant this device verifies as signed by the owner, to someone else, with
    when this device revoked it (None if it did not); `starts`: when each dossier epoch began
    (the issue time of the owner's own grant of it)."""

    grants: list[tuple[Grant, int | None]]
    starts: dict[int, int]

    def problem(self, receipt: Receipt, org: Organisation) -> str | None:
        """Why the organisation had no right to sign this receipt, or None if it had.

        Every version it lists must be given by a grant of the owner's to the organisation
        (to a key of its verified chain) in force at the receipt's time: a document grant for
        that version, or a dossier grant. A dossier grant counts only while its organisation
        held the dossier's current epoch: a revoke starts a new epoch without it, which tells
        when its share ended even if the server gives the old grant rows back."""
        chain = org.chain
        keys = {r.key_id for r in chain.records}
        mine = [
            (g, end)
            for g, end in self.grants
            if g.recipient_id == chain.org_id and g.recipient_key_id in keys
        ]
        if not mine:
            return (
                f"FAILED: the dossier was not shared with {org.name}: no grant you signed gives "
                "it to them, so it had nothing to receive"
            )
        t = receipt.opened_at
        live = [g for g, end in mine if _in_force(g, end, t)]
        if not live:
            return (
                f"FAILED: dated {_utc(t)}, when no share of yours with {org.name} was in force "
                "(it began later, or had expired or been revoked)"
            )
        current = max((e for e, start in self.starts.items() if start <= t - CLOCK_SKEW), default=1)
        epochs = [g.number for g in live if g.kind == GrantKind.DOSSIER]
        whole = bool(epochs) and max(epochs) >= current
        versions = {(g.document_id, g.number) for g in live if g.kind == GrantKind.DOCUMENT}
        for e in receipt.entries:
            if not whole and (e.document_id, e.version) not in versions:
                why = (
                    f" (the dossier's epoch {current} had begun without a grant to it: revoked)"
                    if epochs
                    else ""
                )
                return (
                    f"FAILED: document {e.document_id.hex()[:8]} version {e.version} was not "
                    f"shared with {org.name} at the receipt's time{why}"
                )
        return None


class Receipts:
    """Receipts: signed as a member (`acknowledge`), checked as the owner (`receipts`)."""

    def __init__(
        self,
        api: ServerApi,
        profile: Profile,
        account: Account,
        directory: Directory,
        keyring: KeyRing,
        load_dossier: Callable[[str], Dossier],
    ) -> None:
        self.api = api
        self.profile = profile
        self.account = account
        self.directory = directory
        self.keyring = keyring
        self.load_dossier = load_dossier
        self._checked_orgs: set[str] = set()

    # -- signing, as a member --------------------------------------------------------------------
    def acknowledge(self, dossier_id: str, infos: list[DocumentInfo]) -> list[str]:
        """Sign and file a receipt for each organisation that gave me these documents (in this
        session), over the confirmed versions no verified receipt of it covers yet; returns
        the names of the organisations that signed one. A receipt covers only versions the
        owner confirmed: one nobody confirmed (opened on request) is no document of the
        owner's dossier to acknowledge (K4)."""
        infos = [i for i in infos if i.confirmed]
        orgs = self.keyring.org_access.get(dossier_id, set())
        if not orgs or not infos:
            return []
        signed: list[str] = []
        rows = self.api.receipts(dossier_id)
        did = bytes.fromhex(dossier_id)
        for org_id in sorted(orgs):
            org = self.directory.organisation(org_id=org_id, fresh=False)
            if org.epoch not in org.keys:
                continue  # not a member of the current epoch: nothing to sign with
            covered: set[tuple[bytes, int]] = set()
            for row in rows:
                if row.org_id != org_id:
                    continue
                try:
                    r = verify_receipt(row.receipt(), dossier_id=did, chain=org.chain)
                except SecurityError:
                    continue  # made up or changed: it covers nothing
                covered |= {(e.document_id, e.version) for e in r.entries}
            entries = [
                ReceiptEntry(
                    bytes.fromhex(i.document_id),
                    i.version,
                    DocumentHeader.decode(i.header).payload_hash,
                    header_hash(i.header),
                )
                for i in infos
                if (bytes.fromhex(i.document_id), i.version) not in covered
            ]
            if not entries:
                continue
            data = make_receipt(
                org.current_keys(),
                org_fingerprint=org.chain.fingerprint_id,
                member=self.account.me.public,
                dossier_id=did,
                opened_at=now(),
                entries=entries,
            )
            # The member read what it read either way; if filing fails, a later open signs again.
            with contextlib.suppress(ApiError):
                self.api.post_receipt(
                    dossier_id, Receipt.decode(data).receipt_id.hex(), org_id, data
                )
                signed.append(org.name)
        return signed

    # -- reading, as the resident ---------------------------------------------------------------
    def receipts(self, dossier_id: str) -> list[ReceiptView]:
        """Every receipt filed for the dossier, each verified; failures are shown, not hidden.
        Only the owner can check them: only her device sees every grant she made."""
        dossier = self.load_dossier(dossier_id)
        if dossier.role != "owner":
            raise ClientError(
                "only the dossier's owner can check its receipts: whether an organisation was "
                "given what it acknowledges shows only in the owner's own grants"
            )
        shares = self._shares(dossier)
        signed = {(e.document_id, e.version): e.header_hash for e in dossier.index.entries}
        self._checked_orgs = set()  # each organisation fetched fresh once per call
        views = []
        for row in self.api.receipts(dossier_id):
            views.append(self._view(dossier_id, row, signed, shares))
        return sorted(views, key=lambda v: (v.opened_at, v.receipt_id))

    def _shares(self, dossier: Dossier) -> _Shares:
        """My own grants in the dossier as this device can verify them: those the server shows,
        and those I revoked on this device (the server deletes them; the profile keeps them)."""
        did = bytes.fromhex(dossier.dossier_id)
        grants: dict[bytes, tuple[Grant, int | None]] = {}
        starts: dict[int, int] = {}
        shown = [row.grant() for row in self.keyring.grant_rows(dossier.dossier_id)]
        remembered = [(unb64(r.get("grant"), "grant"), r.get("revoked_at"))
                      for r in self.profile.revoked_shares(dossier.dossier_id)]  # fmt: skip
        for data, revoked_at in [*((d, None) for d in shown), *remembered]:
            try:
                grant = verify_grant(data, granter=self.account.me.public, dossier_id=did)
            except SecurityError:
                continue  # not mine: it tells nothing about whom I gave what
            if grant.recipient_id == self.account.me.user_id:
                if grant.kind == GrantKind.DOSSIER:
                    start = starts.get(grant.number, grant.issued_at)
                    starts[grant.number] = min(start, grant.issued_at)
                continue
            grants[grant.grant_id] = (grant, revoked_at if isinstance(revoked_at, int) else None)
        missing = [e for e in range(1, dossier.epoch + 1) if e not in starts]
        if missing:
            raise KeyMismatchError(
                f"the server withholds your own grant of the dossier's epoch {missing[0]}, so "
                "when that epoch began (and whose shares it ended) cannot be told"
            )
        return _Shares(list(grants.values()), starts)

    def _view(
        self,
        dossier_id: str,
        row: ReceiptRow,
        signed: dict[tuple[bytes, int], bytes],
        shares: _Shares,
    ) -> ReceiptView:
        data = row.receipt()
        try:
            r = Receipt.decode(data)
        except MalformedError as exc:
            org_id = row.org_id or ""
            return ReceiptView(
                row.receipt_id, org_id, org_id, "", False, 0, "", "", 0, [],
                f"FAILED: {exc}", data,
            )  # fmt: skip
        org: Organisation | None = None
        status = "verified"
        try:
            org_id = r.org_id.hex()
            org = self.directory.organisation(org_id=org_id, fresh=org_id not in self._checked_orgs)
            self._checked_orgs.add(org_id)
            verify_receipt(data, dossier_id=bytes.fromhex(dossier_id), chain=org.chain)
            for e in r.entries:
                listed = signed.get((e.document_id, e.version))
                if listed is not None and listed != e.header_hash:
                    status = (
                        f"FAILED: document {e.document_id.hex()[:8]} version {e.version} is not "
                        "the one in the dossier's signed index"
                    )
            if status == "verified":
                status = shares.problem(r, org) or status
        except (SecurityError, ClientError) as exc:
            status = f"FAILED: {exc}"
        member_id = r.member_id.hex()
        try:
            member = self.directory.person_by_id(member_id).identity.username
        except (SecurityError, ClientError):
            member = member_id
        return ReceiptView(
            receipt_id=r.receipt_id.hex(),
            org_id=r.org_id.hex(),
            organisation=org.name if org else r.org_id.hex(),
            org_fingerprint=org.fingerprint if org else "",
            org_verified=bool(org and org.verified),
            epoch=r.epoch,
            member_id=member_id,
            member=member,
            opened_at=r.opened_at,
            entries=[
                {
                    "document_id": e.document_id.hex(),
                    "version": e.version,
                    "payload_blake3": e.payload_hash.hex(),
                    "header_blake3": e.header_hash.hex(),
                }
                for e in r.entries
            ],
            status=status,
            data=data,
        )

    # -- export ----------------------------------------------------------------------------------
    def export_into(self, dossier: Dossier, directory: Path) -> str:
        """The dossier's receipts, for its owner (the one who can check them), in
        `receipts.json` (written with `write_private`); the README's text about them."""
        if self.profile.dossier_owner(dossier.dossier_id) != self.account.my_id:
            return ""  # receipts are the owner's to check (`receipts`)
        views = self.receipts(dossier.dossier_id)
        if not views:
            return ""
        chains = {}
        for v in views:
            if v.org_fingerprint and v.org_id not in chains:
                org = self.directory.organisation(org_id=v.org_id, fresh=False)
                chains[v.org_id] = {
                    "name": org.name,
                    "fingerprint": org.fingerprint,
                    "verified": org.verified,
                    "records": [b64(r.encode()) for r in org.chain.records],
                }
        document = {
            "dossier_id": dossier.dossier_id,
            "receipts": [{**v.to_json(), "receipt": b64(v.data)} for v in views],
            "organisations": chains,
        }
        write_private(directory / RECEIPTS_FILE, (json.dumps(document, indent=2) + "\n").encode())
        return RECEIPTS_README.format(receipts=RECEIPTS_FILE)
