"""`Client`: the whole Kluis client in one object.

Every method does its cryptography locally through `vault` and treats the server as untrusted
storage. The parts live in one module per idea and are combined here:

- `accounts.AccountsMixin`: register, login, logout, change passphrase, recover;
- `dossiers.DossiersMixin`: create dossiers, verified document listings, the signed index;
- `documents.DocumentsMixin`: streamed, verified upload and download;
- `sharing.SharingMixin`: grants, revocation with key rotation, the access log;
- `export.ExportMixin`: standard age files that open without Kluis;
- `organisations.OrganisationsMixin`: organisations, their key chain, members, `@name` shares;
- `receipts.ReceiptsMixin`: signed receipts of what organisations received (also in exports);
- `inbox.InboxMixin`: what was shared with me and my organisations.
"""

from __future__ import annotations

from vault.keys import Identity

from .accounts import AccountsMixin
from .export import ExportMixin
from .inbox import InboxMixin
from .receipts import ReceiptView
from .records import DocumentInfo
from .trust import Contact, check_record, verify
from .typed import typed_username


class Client(InboxMixin, AccountsMixin, ExportMixin):
    """A Kluis client for one server and one profile directory."""

    def receipts(self, dossier_id: str) -> list[ReceiptView]:
        """Every receipt filed for the dossier, each verified; failures are shown, not hidden.
        Only the owner can check them: only her device sees every grant she made."""
        return self.receipt_book.receipts(dossier_id)

    def acknowledge(self, dossier_id: str, infos: list[DocumentInfo]) -> list[str]:
        """Writes: sign and file receipts for documents I opened through an organisation
        (`documents`, `get`), as `Receipts.acknowledge`; returns the organisations that
        signed one."""
        return self.receipt_book.acknowledge(dossier_id, infos)

    def fingerprint(self, username: str) -> Contact:
        """The pinned contact for `username`, pinning it now if this is the first sight."""
        return self.contact(username)

    def verify_contact(self, username: str, fingerprint: str) -> Identity:
        """Mark `username` verified after comparing `fingerprint` out of band."""
        username = typed_username(username)
        identity = Identity.decode(self.api.user(username).identity)
        check_record(identity, username=username, user_id=None)
        verify(self.profile, identity, fingerprint)
        return identity
