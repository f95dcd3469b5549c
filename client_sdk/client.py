"""`Client`: the whole Kluis client in one object.

Every method does its cryptography locally through `vault` and treats the server as untrusted
storage. The parts live in one module per idea:

- `api.ServerApi`: the only caller of the server, one typed method per endpoint;
- `account.Account`: the logged-in user; `accounts.AccountsMixin`: register, login, logout,
  change passphrase, recover;
- `directory.Directory`: people and organisations as verified contacts (pins, TOFU, chains);
- `keyring.KeyRing`: every grant addressed to me or to my organisations, opened;
- `dossiers.DossiersMixin`: create dossiers, verified document listings, the signed index;
- `documents.DocumentsMixin`: streamed, verified upload and download;
- `sharing.SharingMixin`: the one share path (people and `@organisations`), revocation with
  key rotation, `sync`, the access log;
- `export.ExportMixin`: standard age files that open without Kluis;
- `organisations.OrganisationsMixin`: creating organisations, adding and removing members;
- `groups.GroupsMixin`: village groups and personal conversations (organisations of kinds 5
  and 6): invitations, the news page, chat, agenda; `messages.Messages`: their verified
  message chains;
- `receipts.Receipts`: signed receipts of what organisations received (also in exports);
- `inbox.Inbox`: what was shared with me and my organisations;
- `notifications.Notifications`: opt-in e-mail that something is waiting;
- `business.Businesses`: the business directory (signed profiles, verified search).

The parts are given what they need when they are made (`ClientBase`, and `Client` for the
inbox); the feature classes still form one class, but none overrides another's method.

Reads and writes (docs/client.md section 18): a method that reads (`documents`, `get`,
`revocation`, `receipts`, `inbox`, ...) writes nothing to the server; what a read finds to do
it returns, and a named step does it: `sync` adopts into the owner's index the versions her
own grants allow (`DocumentInfo.adoptable_version`) and then starts a new dossier epoch after
an organisation removed a member (`add` and `update` refuse to write until it did);
`acknowledge` files the receipts for what was opened through an organisation.
"""

from __future__ import annotations

from functools import cached_property

from vault.keys import Identity

from .accounts import AccountsMixin
from .business import Businesses
from .export import ExportMixin
from .groups import GroupsMixin
from .inbox import Inbox, InboxItem
from .monitoring import Monitor
from .notifications import Notifications
from .receipts import ReceiptView
from .records import DocumentInfo
from .trust import Contact, verify
from .typed import typed_username


class Client(GroupsMixin, AccountsMixin, ExportMixin):
    """A Kluis client for one server and one profile directory."""

    @cached_property
    def inboxes(self) -> Inbox:
        """The inbox part, given the parts it uses."""
        return Inbox(self.api, self.profile, self.account, self.directory, self.keyring)

    @cached_property
    def businesses(self) -> Businesses:
        """The business directory: publish a profile, search with every profile verified."""
        return Businesses(self.api, self.directory)

    @cached_property
    def notifications(self) -> Notifications:
        """E-mail notifications: opt in, status, opt out (`Notifications`)."""
        return Notifications(self.api)

    @cached_property
    def monitor(self) -> Monitor:
        """Watching the key transparency log: self-monitoring, key history, checkpoints."""
        return Monitor(self.api, self.account, self.directory, self.keylog)

    def inbox(self, organisation: str | None = None) -> list[InboxItem]:
        """Grants to me (unless `organisation` is given) and to my organisations, each checked
        (`Inbox.inbox`)."""
        return self.inboxes.inbox(organisation)

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
        answer = self.api.user(username, self.directory.since())
        identity = self.directory.logged_record(answer, username=username)
        verify(self.profile, identity, fingerprint)
        return identity
