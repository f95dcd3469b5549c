"""What this client verified: a dossier, and a document version in it.

These are the records the rest of the client and its callers may rely on: each was made from
server answers only after the checks of docs/format.md (client_sdk/base.py loads a dossier,
client_sdk/dossiers.py lists its documents).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vault.errors import KeyMismatchError
from vault.index import DossierIndex
from vault.keys import Identity
from vault.metadata import DossierMetadata


@dataclass
class Dossier:
    """A dossier as this client verified it."""

    dossier_id: str
    owner: Identity
    role: str  # owner, write, read or document (access to single documents only)
    index: DossierIndex
    index_bytes: bytes
    metadata: DossierMetadata | None  # None when this client holds no dossier key
    keys: dict[int, bytes] = field(repr=False)
    created_at: int = 0

    @property
    def title(self) -> str:
        return self.metadata.title if self.metadata else "(shared documents)"

    @property
    def epoch(self) -> int:
        return self.index.epoch

    def current_key(self) -> bytes:
        try:
            return self.keys[self.index.epoch]
        except KeyError:
            raise KeyMismatchError(
                "you do not hold the current key of this dossier (access was revoked)"
            ) from None


@dataclass(frozen=True)
class DocumentInfo:
    """One document version whose header verified, with its author's verified identity."""

    dossier_id: str
    document_id: str
    version: int
    name: str
    media_type: str
    title: str
    size: int
    modified: int
    created: int
    author: str
    author_id: str
    author_verified: bool  # the author's fingerprint was compared out of band
    # The dossier owner confirms this version: her verified index lists exactly this header,
    # or she signed the header herself. Only then is it opened by default (K4, K5).
    confirmed: bool
    header: bytes = field(repr=False)
    # A document shared on its own: the number of a newer version that was not shared with me
    # (this is then the latest version I hold a key for); 0 when this is the latest version.
    newer_version: int = 0
    # The newest version above this one that the owner has not confirmed, and its verified
    # author: named, never opened by default. 0 and "" when there is none.
    unconfirmed_version: int = 0
    unconfirmed_author: str = ""
    # As the dossier's owner: why that version (or this one, if unconfirmed) was not adopted.
    not_adopted_because: str = ""
    # As the dossier's owner: a version by someone else that her own signed write grants allow,
    # verified, which the named write step `Client.sync` signs into her index; 0 when none.
    adoptable_version: int = 0
