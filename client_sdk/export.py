"""Taking a dossier away: every document as a standard age file that opens without Kluis.

Each document's stored payload already is an age payload (docs/format.md section 6); export
writes a fresh age header for the user's own age identity in front of it, without decrypting or
re-encrypting, and checks the payload's BLAKE3 against the author's signed header on the way.
The age identity is written next to the files, itself encrypted with a passphrase the user
chooses (age reads passphrase-protected identity files directly), with a README that says how
to open everything with the `age` tool.
"""

from __future__ import annotations

import hmac
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import blake3

from vault.agefile import (
    AgeIdentity,
    encrypt_age,
    identity_file_text,
    recipient_to_string,
    write_age_header,
)
from vault.errors import IntegrityError
from vault.payload import PayloadDigest, age_file_key

from .base import Dossier
from .documents import DocumentsMixin
from .dossiers import DocumentInfo, VersionRecord
from .errors import ClientError
from .transport import STREAM_CHUNK

IDENTITY_FILE = "kluis-identity.age"
MANIFEST_FILE = "manifest.json"
README_FILE = "README.txt"
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600

README_TEXT = """\
Kluis export of the dossier "{title}"
======================================

Every document of this dossier is in this folder as a standard age file (.age). You can open
them without Kluis, with the free `age` tool (https://age-encryption.org, or `apt install age`).

Your key is in {identity}, protected with the passphrase you chose during the export.
To open one document:

    age -d -i {identity} -o "damage-report.pdf" "damage-report.pdf.age"

age asks for the passphrase of the key file. To open all of them (Linux, macOS):

    for f in *.age; do [ "$f" = {identity} ] || age -d -i {identity} -o "${{f%.age}}" "$f"; done

{manifest} lists every document with its title, version, author and the author's fingerprint.
Keep this folder and the passphrase safe: anyone with both can read the documents.
Your age recipient (public key) is {recipient}
"""


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    files: list[Path]
    identity_file: Path
    # Left out: documents with no version the owner confirms (K4); and the documents exported
    # at their latest confirmed version although a newer, unconfirmed one exists.
    unconfirmed: list[DocumentInfo] = field(default_factory=list)
    newer_unconfirmed: list[DocumentInfo] = field(default_factory=list)


def _private_dir(path: Path) -> Path:
    """A new or empty directory, readable by this user only: an export never overwrites."""
    if path.exists() and not path.is_dir():
        raise ClientError(f"{path} is a file: export into a new or empty folder")
    if path.is_dir() and any(path.iterdir()):
        raise ClientError(f"{path} is not empty: export into a new or empty folder")
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIR)
    return path


def _write_private(path: Path, data: bytes) -> None:
    """Create `path` with mode 0600 (never through a more open umask) and write `data`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _safe_name(name: str, taken: set[str], document_id: str) -> str:
    base = re.sub(r"[\x00-\x1f/\\]", "_", name).lstrip(".") or document_id
    candidate = f"{base}.age"
    if candidate in taken or candidate in (IDENTITY_FILE, MANIFEST_FILE, README_FILE):
        candidate = f"{base}-{document_id[:8]}.age"
    taken.add(candidate)
    return candidate


class ExportMixin(DocumentsMixin):
    def export(self, dossier_id: str, directory: Path | str, passphrase: str) -> ExportResult:
        """Write the dossier's latest confirmed versions as age files plus the protected age
        identity, all mode 0600 in a new (or empty) directory of mode 0700. A version the
        owner does not confirm is never exported (K4): a document with no confirmed version is
        left out, and named in the result."""
        out = _private_dir(Path(directory))
        dossier = self.load_dossier(dossier_id)
        listed = self.documents(dossier_id)
        infos = [i for i in listed if i.confirmed]
        identity = AgeIdentity(self.me.age_secret)
        recipient = recipient_to_string(identity.public_key)
        taken: set[str] = set()
        files: list[Path] = []
        manifest: list[dict[str, object]] = []
        for info in infos:
            target = out / _safe_name(info.name, taken, info.document_id)
            manifest.append(self._export_document(dossier, info, target, identity))
            files.append(target)
        identity_path = out / IDENTITY_FILE
        sealed = io.BytesIO()
        encrypt_age(
            io.BytesIO(identity_file_text(identity).encode()), sealed, passphrase=passphrase
        )
        _write_private(identity_path, sealed.getvalue())
        _write_private(
            out / MANIFEST_FILE,
            (
                json.dumps({"dossier": dossier.title, "documents": manifest}, indent=2) + "\n"
            ).encode(),
        )
        readme = README_TEXT.format(
            title=dossier.title, identity=IDENTITY_FILE, manifest=MANIFEST_FILE, recipient=recipient
        )
        _write_private(out / README_FILE, readme.encode())
        return ExportResult(
            out,
            files,
            identity_path,
            [i for i in listed if not i.confirmed],
            [i for i in infos if i.unconfirmed_version],
        )

    def _export_document(
        self, dossier: Dossier, info: DocumentInfo, target: Path, identity: AgeIdentity
    ) -> dict[str, object]:
        """Re-wrap one verified version for `identity`; its BLAKE3 is checked while copying.
        The header is the one the listing verified and confirmed, not a second answer."""
        record = VersionRecord(info.document_id, info.version, info.header, info.author_id)
        opened = self.open_version(dossier, record)
        key = age_file_key(opened.file_key)

        def rewrap(src: BinaryIO, dst: BinaryIO) -> PayloadDigest:
            write_age_header(dst, key, recipients=[identity.public_key])
            hasher, size = blake3.blake3(), 0
            while data := src.read(STREAM_CHUNK):
                hasher.update(data)
                size += len(data)
                dst.write(data)
            return PayloadDigest(size, hasher.digest(), 0)

        def check(digest: PayloadDigest) -> None:
            signed = opened.header
            if digest.size != signed.payload_size or not hmac.compare_digest(
                digest.blake3, signed.payload_hash
            ):
                raise IntegrityError(
                    f"{info.name}: the stored payload differs from the author's signed header"
                )

        path = f"/documents/{info.document_id}/versions/{info.version}/payload"
        self._stream_into(path, target, rewrap, check)
        return {
            "file": target.name,
            "document_id": info.document_id,
            "version": info.version,
            "name": info.name,
            "title": info.title,
            "media_type": info.media_type,
            "size": info.size,
            "created": info.created,
            "author": info.author,
            "author_fingerprint": self.contact_by_id(info.author_id).identity.fingerprint,
            "payload_blake3": opened.header.payload_hash.hex(),
        }
