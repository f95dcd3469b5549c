"""Taking a dossier away: every version of every document as a standard age file that opens
without Kluis.

Each document's stored payload already is an age payload (docs/format.md section 6); export
writes a fresh age header for the user's own age identity in front of it, without decrypting or
re-encrypting, and checks the payload's BLAKE3 against the author's signed header on the way.
The age identity is written next to the files, itself encrypted with a passphrase the user
chooses (age reads passphrase-protected identity files directly), with a README and a small
script (`open.sh`) that opens everything with one passphrase prompt.

Only versions the dossier's owner confirms are exported (K4): her signed index lists them, or
she wrote them herself. Her index lists the latest version of each document, so an older
version by someone else is left out, and named.

An export is written into a hidden folder beside the target and renamed into place only when
everything is in it: a failure (a full disk, a file that does not verify) or an interruption
leaves no target folder, never half an export.
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
from vault.checkpoint import TrustedLog
from vault.errors import IntegrityError
from vault.header import OpenedHeader
from vault.payload import PayloadDigest, age_file_key

from .api import VersionRecord
from .commitments import trusted_log
from .evidence import EvidenceMixin
from .files import PRIVATE_FILE, write_private
from .folders import PRIVATE_DIR, check_target, staged_folder
from .records import DocumentInfo, Dossier
from .transport import STREAM_CHUNK

IDENTITY_FILE = "kluis-identity.age"
MANIFEST_FILE = "manifest.json"
README_FILE = "README.txt"
EVIDENCE_DIR = "evidence"  # one evidence package per version (client_sdk/evidence.py)
OPEN_SCRIPT = "open.sh"
OPENED_DIR = "opened"
# A file name of at most this many UTF-8 bytes, ".age" included: well under the 255 of most
# file systems and the 143 of an encrypted home folder (eCryptfs), and short enough for
# Windows' 260-character paths once the folder is copied somewhere.
MAX_NAME_BYTES = 120
MAX_SUFFIX_BYTES = 16

README_TEXT = """\
Kluis export of the dossier "{title}"
======================================

Every version of every document of this dossier is in this folder as a standard age file
(.age): NAME.vN.EXT.age is version N of the document NAME.EXT. A name that is too long for
other computers, or holds characters they do not allow, is shortened or changed here; {manifest}
gives each file's full name, its version (and whether it is the latest), its author and the
author's fingerprint.

The files open without Kluis, with the free `age` tool (https://age-encryption.org, or
`apt install age`, or `brew install age`). Your key is in {identity}, protected with the
passphrase you chose during the export.

To open everything at once (Linux, macOS), in this folder:

    sh {script}

It asks for the passphrase once, keeps the unlocked key in memory only (never on disk), and
writes every document into the folder "{opened}" here.

To open one document:

    age -d -i {identity} -o "schaderapport.v2.pdf" "schaderapport.v2.pdf.age"

(age then asks for the passphrase every time.)

On Windows, open one document at a time as above, or open them all with one passphrase
prompt in PowerShell, in this folder (age 1.1 or later):

    $key = age -d {identity}
    mkdir {opened}
    Get-ChildItem *.age | Where-Object Name -ne "{identity}" | ForEach-Object {{
        $key | age -d -i - -o ("{opened}\\" + $_.BaseName) $_.FullName
    }}
    Remove-Variable key

Keep this folder and the passphrase safe: anyone with both can read the documents.
Your age recipient (public key) is {recipient}
"""

OPEN_SCRIPT_TEXT = """\
#!/bin/sh
# Opens every document of this Kluis export into the folder "{opened}", asking for the
# passphrase of {identity} once. The unlocked key stays in this script's memory, never on disk.
# Needs the age tool (https://age-encryption.org). See README.txt.
cd "$(dirname "$0")" || exit 1
if ! command -v age >/dev/null 2>&1; then
    echo "open.sh: the age tool is not installed (https://age-encryption.org)" >&2
    exit 1
fi
if [ -e {opened} ] && [ -n "$(ls -A {opened})" ]; then
    echo "open.sh: the folder {opened} is not empty; move it away first" >&2
    exit 1
fi
umask 077
if ! key=$(age -d {identity}); then
    echo "open.sh: could not unlock {identity} (a wrong passphrase?)" >&2
    exit 1
fi
mkdir -p {opened} || exit 1
failed=0
for f in *.age; do
    [ "$f" = {identity} ] && continue
    out="{opened}/${{f%.age}}"
    if printf '%s\\n' "$key" | age -d -i /dev/stdin -o "$out" "./$f"; then
        [ -e "$out" ] || : > "$out"  # age writes nothing for an empty document
        echo "$out"
    else
        echo "open.sh: could not open $f" >&2
        failed=1
    fi
done
key=
exit $failed
"""


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    files: list[Path]  # one per exported version
    identity_file: Path
    documents: int = 0  # how many documents the exported versions belong to
    # Left out: documents with no version the owner confirms (K4); and the documents exported
    # at their latest confirmed version although a newer, unconfirmed one exists.
    unconfirmed: list[DocumentInfo] = field(default_factory=list)
    newer_unconfirmed: list[DocumentInfo] = field(default_factory=list)
    # Older versions left out because the owner does not confirm them (not hers, and her
    # index lists only the latest): (the document, the version, its author).
    older_unconfirmed: list[tuple[DocumentInfo, int, str]] = field(default_factory=list)
    # Every document as listed (`Client.documents`) when the export began.
    listed: list[DocumentInfo] = field(default_factory=list)


# Characters other systems do not allow in a file name (Windows' set, which holds the others),
# control characters, and the separators.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_RESERVED = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?", re.IGNORECASE)


def _cut(text: str, limit: int) -> str:
    """The longest beginning of `text` of at most `limit` UTF-8 bytes (whole characters)."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def export_name(name: str, version: int, document_id: str, taken: set[str]) -> str:
    """The file name of one exported version: NAME.vN.EXT.age, made safe for other systems,
    at most MAX_NAME_BYTES UTF-8 bytes, and not `taken` (compared as a case-insensitive file
    system would). A shortened name ends in "~" and the document id's beginning."""
    clean = _UNSAFE.sub("_", name).strip(" .").lstrip("-") or document_id[:12]
    stem, dot, suffix = clean.rpartition(".")
    if not dot or not stem or len(suffix.encode()) > MAX_SUFFIX_BYTES or " " in suffix:
        stem, suffix = clean, ""
    if _RESERVED.fullmatch(stem):
        stem = f"_{stem}"
    ending = f".v{version}" + (f".{suffix}" if suffix else "") + ".age"
    room = MAX_NAME_BYTES - len(ending.encode())
    candidate = stem + ending
    if len(stem.encode()) > room or candidate.casefold() in taken:
        for width in (8, 16, 32):
            tag = f"~{document_id[:width]}"
            candidate = _cut(stem, room - len(tag)).rstrip(" .") + tag + ending
            if candidate.casefold() not in taken:
                break
    taken.add(candidate.casefold())
    return candidate


class ExportMixin(EvidenceMixin):
    def export(
        self,
        dossier_id: str,
        directory: Path | str,
        passphrase: str,
        *,
        listing: dict[str, list[VersionRecord]] | None = None,
    ) -> ExportResult:
        """Write every version of the dossier's documents that the owner confirms as age
        files, with the protected age identity, a manifest, a README and `open.sh`, all mode
        0600, into a new (or empty) folder of mode 0700 that appears only once complete. A
        version the owner does not confirm is never exported (K4); those left out are named
        in the result. `listing`: the server's listing, when the caller fetched it already
        (`Synced.listing`); it is checked here as any listing is."""
        target = Path(directory)
        check_target(target)  # before the server is asked for anything
        listed, listing = self._documents_listed(dossier_id, listing)
        dossier = self.load_dossier(dossier_id)  # her index, with what `documents` adopted
        granted = self._granted_versions(dossier)
        identity = AgeIdentity(self.me.age_secret)
        older: list[tuple[DocumentInfo, int, str]] = []
        log = trusted_log()  # with the log's parameters, every version's evidence package too
        with staged_folder(target) as out:
            taken = {n.casefold() for n in (IDENTITY_FILE, MANIFEST_FILE, README_FILE,
                                            OPEN_SCRIPT, OPENED_DIR, EVIDENCE_DIR)}  # fmt: skip
            files: list[Path] = []
            manifest: list[dict[str, object]] = []
            for info in sorted(listed, key=lambda i: (i.name.lower(), i.document_id)):
                if not info.confirmed:
                    continue
                mine = granted.get(info.document_id)  # shared on its own: those shared with me
                for record in listing[info.document_id]:
                    if record.version > info.version or (mine and record.version not in mine):
                        continue  # newer and unconfirmed (named), or not shared with me
                    if not self._owner_confirms(dossier, record):
                        author = self.contact_by_id(record.author_id).identity.username
                        older.append((info, record.version, author))
                        continue
                    opened = self.open_version(dossier, record)
                    name = export_name(
                        opened.metadata.name, record.version, info.document_id, taken
                    )
                    entry = self._export_version(dossier, record, opened, out / name, identity)
                    if log is not None:
                        entry["evidence"] = self._export_evidence(out, name, record, opened, log)
                    manifest.append({**entry, "latest": record.version == info.version})
                    files.append(target / name)
            sealed = io.BytesIO()
            encrypt_age(
                io.BytesIO(identity_file_text(identity).encode()), sealed, passphrase=passphrase
            )
            write_private(out / IDENTITY_FILE, sealed.getvalue())
            document = {"dossier": dossier.title, "documents": manifest}
            write_private(out / MANIFEST_FILE, (json.dumps(document, indent=2) + "\n").encode())
            write_private(out / OPEN_SCRIPT, self._open_script().encode())
            readme = README_TEXT.format(
                title=dossier.title,
                identity=IDENTITY_FILE,
                manifest=MANIFEST_FILE,
                script=OPEN_SCRIPT,
                opened=OPENED_DIR,
                recipient=recipient_to_string(identity.public_key),
            )
            readme += self.receipt_book.export_into(dossier, out)  # for the owner
            write_private(out / README_FILE, readme.encode())
        confirmed = [i for i in listed if i.confirmed]
        return ExportResult(
            target,
            files,
            target / IDENTITY_FILE,
            len({entry["document_id"] for entry in manifest}),
            [i for i in listed if not i.confirmed],
            [i for i in confirmed if i.unconfirmed_version],
            older,
            listed,
        )

    def _export_evidence(
        self, out: Path, name: str, record: VersionRecord, opened: OpenedHeader, log: TrustedLog
    ) -> str:
        """The evidence package of an exported version, in `evidence/<name>/`; its file is the
        one `open.sh` writes."""
        (out / EVIDENCE_DIR).mkdir(mode=PRIVATE_DIR, exist_ok=True)
        stem = name.removesuffix(".age")
        opened_file = f"../../{OPENED_DIR}/{stem}"
        self.export_evidence(out / EVIDENCE_DIR / stem, record, opened, opened_file, log)
        return f"{EVIDENCE_DIR}/{stem}"

    @staticmethod
    def _open_script() -> str:
        return OPEN_SCRIPT_TEXT.format(identity=IDENTITY_FILE, opened=OPENED_DIR)

    def _export_version(
        self,
        dossier: Dossier,
        record: VersionRecord,
        opened: OpenedHeader,
        target: Path,
        identity: AgeIdentity,
    ) -> dict[str, object]:
        """Re-wrap one verified version for `identity`; its BLAKE3 is checked while copying."""
        key = age_file_key(opened.file_key)
        meta = opened.metadata

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
                    f"{meta.name}: the stored payload differs from the author's signed header"
                )

        path = self.api.payload_path(record.document_id, record.version)
        self._stream_into(path, target, rewrap, check)
        os.chmod(target, PRIVATE_FILE)
        author = self.contact_by_id(record.author_id).identity
        return {
            "file": target.name,
            "document_id": record.document_id,
            "version": record.version,
            "name": meta.name,
            "title": meta.title,
            "media_type": meta.media_type,
            "size": meta.size,
            "created": meta.created,
            "author": author.username,
            "author_fingerprint": author.fingerprint,
            "payload_blake3": opened.header.payload_hash.hex(),
        }
