"""Receipts of submission (ontvangstbevestiging), signed by organisations, kept by residents.

When a member of an organisation opens documents shared with it (a listing or a download),
this client signs, with the organisation's current key, a receipt over what it received:
the dossier, each document version with the payload hash and header hash of the verified
header, the time and the organisation's fingerprint (docs/format.md section 15). Versions an
earlier receipt of the organisation already covers (one that verifies) are not receipted twice.

`receipts(dossier)` shows the resident every receipt, each verified against the organisation's
key chain as this device pins it; one the server made up or changed is shown as failed, never
dropped. `export` writes them, with the key records needed to check them, next to the files.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vault.errors import MalformedError, SecurityError
from vault.header import DocumentHeader, header_hash
from vault.receipt import Receipt, ReceiptEntry, make_receipt, verify_receipt

from .base import now
from .dossiers import DocumentInfo
from .errors import ApiError, ClientError
from .export import README_FILE, ExportMixin, ExportResult
from .organisations import Organisation, OrganisationsMixin
from .transport import b64, unb64

RECEIPTS_FILE = "receipts.json"
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


class ReceiptsMixin(OrganisationsMixin, ExportMixin):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._checked_orgs: set[str] = set()

    # -- signing, as a member --------------------------------------------------------------------
    # A receipt covers only versions the owner confirmed: one nobody confirmed (opened on
    # request) is no document of the owner's dossier to acknowledge (K4).
    def documents(self, dossier_id: str) -> list[DocumentInfo]:
        infos = super().documents(dossier_id)
        self._acknowledge(dossier_id, [i for i in infos if i.confirmed])
        return infos

    def get(self, document_id: str, *args: Any, **kwargs: Any) -> tuple[DocumentInfo, Path]:
        info, path = super().get(document_id, *args, **kwargs)
        if info.confirmed:
            self._acknowledge(info.dossier_id, [info])
        return info, path

    def _receipt_rows(self, dossier_id: str) -> list[dict[str, Any]]:
        rows = self.api.call("GET", f"/dossiers/{dossier_id}/receipts")
        if not isinstance(rows, list):
            raise MalformedError("server answer: receipts is not a list")
        return [r for r in rows if isinstance(r, dict)]

    def _acknowledge(self, dossier_id: str, infos: list[DocumentInfo]) -> None:
        """Sign a receipt for each organisation that gave me these documents, over the versions
        no verified receipt of it covers yet."""
        orgs = self._org_access().get(dossier_id, set())
        if not orgs or not infos:
            return
        rows = self._receipt_rows(dossier_id)
        did = bytes.fromhex(dossier_id)
        for org_id in sorted(orgs):
            org = self.organisation(org_id=org_id, fresh=False)
            if org.epoch not in org.keys:
                continue  # not a member of the current epoch: nothing to sign with
            covered: set[tuple[bytes, int]] = set()
            for row in rows:
                if row.get("org_id") != org_id:
                    continue
                try:
                    r = verify_receipt(unb64(row.get("receipt"), "receipt"), dossier_id=did,
                                       chain=org.chain)  # fmt: skip
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
                member=self.me.public,
                dossier_id=did,
                opened_at=now(),
                entries=entries,
            )
            # The member read what it read either way; if filing fails, a later open signs again.
            with contextlib.suppress(ApiError):
                self.api.call(
                    "POST",
                    f"/dossiers/{dossier_id}/receipts",
                    json={
                        "receipt_id": Receipt.decode(data).receipt_id.hex(),
                        "org_id": org_id,
                        "receipt": b64(data),
                    },
                )

    # -- reading, as the resident ---------------------------------------------------------------
    def receipts(self, dossier_id: str) -> list[ReceiptView]:
        """Every receipt filed for the dossier, each verified; failures are shown, not hidden."""
        dossier = self.load_dossier(dossier_id)
        signed = {(e.document_id, e.version): e.header_hash for e in dossier.index.entries}
        self._checked_orgs = set()  # each organisation fetched fresh once per call
        views = []
        for row in self._receipt_rows(dossier_id):
            views.append(self._view(dossier_id, row, signed))
        return sorted(views, key=lambda v: (v.opened_at, v.receipt_id))

    def _view(
        self, dossier_id: str, row: dict[str, Any], signed: dict[tuple[bytes, int], bytes]
    ) -> ReceiptView:
        data = unb64(row.get("receipt"), "receipt")
        try:
            r = Receipt.decode(data)
        except MalformedError as exc:
            org_id = str(row.get("org_id", ""))
            return ReceiptView(
                str(row.get("receipt_id", "")), org_id, org_id, "", False, 0, "", "", 0, [],
                f"FAILED: {exc}", data,
            )  # fmt: skip
        org: Organisation | None = None
        status = "verified"
        try:
            org_id = r.org_id.hex()
            org = self.organisation(org_id=org_id, fresh=org_id not in self._checked_orgs)
            self._checked_orgs.add(org_id)
            verify_receipt(data, dossier_id=bytes.fromhex(dossier_id), chain=org.chain)
            for e in r.entries:
                listed = signed.get((e.document_id, e.version))
                if listed is not None and listed != e.header_hash:
                    status = (
                        f"FAILED: document {e.document_id.hex()[:8]} version {e.version} is not "
                        "the one in the dossier's signed index"
                    )
        except (SecurityError, ClientError) as exc:
            status = f"FAILED: {exc}"
        member_id = r.member_id.hex()
        try:
            member = self._user_contact(member_id).identity.username
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
    def export(self, dossier_id: str, directory: Path | str, passphrase: str) -> ExportResult:
        result = super().export(dossier_id, directory, passphrase)
        views = self.receipts(dossier_id)
        if not views:
            return result
        chains = {}
        for v in views:
            if v.org_fingerprint and v.org_id not in chains:
                org = self.organisation(org_id=v.org_id, fresh=False)
                chains[v.org_id] = {
                    "name": org.name,
                    "fingerprint": org.fingerprint,
                    "verified": org.verified,
                    "records": [b64(r.encode()) for r in org.chain.records],
                }
        (result.directory / RECEIPTS_FILE).write_text(
            json.dumps(
                {
                    "dossier_id": dossier_id,
                    "receipts": [{**v.to_json(), "receipt": b64(v.data)} for v in views],
                    "organisations": chains,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        readme = result.directory / README_FILE
        with readme.open("a", encoding="utf-8") as fh:
            fh.write(RECEIPTS_README.format(receipts=RECEIPTS_FILE))
        return result
