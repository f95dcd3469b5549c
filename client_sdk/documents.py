"""Putting documents in and getting them out, streaming, and never trusting what comes back.

Upload encrypts in one thread while the HTTP request streams the ciphertext from a pipe, so
neither side holds the file in memory. A payload larger than `Client.parts.threshold` (16 MiB)
goes up in parts instead (client_sdk/parts.py), so that a dropped connection costs one part.
Download decrypts into a temporary file next to the destination and moves it into place only
after every check of docs/format.md section 7 passed; on any failure the temporary file is
removed and no plaintext is left behind.
"""

from __future__ import annotations

import contextlib
import hmac
import mimetypes
import os
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import blake3

from vault.errors import ExpiredError, IntegrityError
from vault.evidence import commitment, commitment_input, evidence_salt
from vault.header import OpenedHeader, check_payload_digest, new_file_key, seal_header
from vault.metadata import FORBIDDEN_NAME_CHARACTERS, NAME_MAX, DocumentMetadata
from vault.payload import (
    PayloadDigest,
    age_file_key,
    decrypt_payload,
    encrypt_payload,
    payload_size,
)

from .api import VersionRecord
from .clock import now
from .commitments import ServedEvidence, Sha256Reader, check_at_commit, trusted_log
from .dossiers import DossiersMixin
from .errors import ClientError, UnconfirmedVersionError
from .ids import ID_PATTERN, by_id_or_name, new_id
from .parts import upload_in_parts
from .records import DocumentInfo, Dossier
from .timestamps import configured_tsa, keep_token, request_timestamp
from .transport import STREAM_CHUNK

Progress = Callable[[int], None]


def unconfirmed_refusal(info: DocumentInfo, *, asked: bool) -> str:
    """Why an unconfirmed version is not opened, and how to open it anyway."""
    because = f" ({info.not_adopted_because})" if info.not_adopted_because else ""
    if info.adoptable_version == info.version:  # the owner, who has not synced yet
        because = " (your write grants allow it: `kluis ls`, or Client.sync, adopts it)"
    doc, who, n = info.document_id, info.author, info.version
    if asked:
        what = f"document {doc[:8]}: version {n} by {who} is not confirmed by the dossier's owner"
        option = f"--version {n} --unconfirmed"
    else:
        what = (
            f"document {doc[:8]} has no version the dossier's owner confirmed: its newest, "
            f"version {n} by {who}, is not"
        )
        option = "--unconfirmed"
    return (
        f"{what}{because}. Her signed index does not list it, so nothing shows that {who} was "
        f"allowed to write it. To open it anyway, labelled as unconfirmed: "
        f"`kluis get {doc[:12]} {option}` (SDK: unconfirmed=True)"
    )


def _require_writer(dossier: Dossier) -> None:
    if dossier.role not in ("owner", "write"):
        raise ClientError("you may read this dossier but not add to it")


def _require_current_epoch(client: DossiersMixin, dossier: Dossier) -> None:
    """Nothing is written under a dossier key that a member an organisation removed may hold:
    the owner starts a new epoch first, with the named step `Client.sync` (`kluis add` and
    `kluis update` take it)."""
    if client.rotation_due(dossier):
        raise ClientError(
            "an organisation you share this dossier with has removed a member since your share: "
            "start a new dossier key first (SDK: Client.sync(dossier)); nothing was added"
        )


def readable_file(path: Path) -> Path:
    """`path` if it is a regular file this user can read; otherwise a ClientError naming it."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ClientError(f"{path}: no such file") from None
    except OSError as exc:
        raise ClientError(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise ClientError(f"{path} is a folder, not a file: give the files in it instead")
    if not stat.S_ISREG(mode):
        raise ClientError(f"{path} is not a regular file")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise ClientError(f"cannot read {path}: {exc.strerror or exc}") from None
    return path


def storable_file(path: Path, title: str = "") -> Path:
    """`readable_file`, whose name (and the title given) a document's metadata can hold
    (format section 7): checked before anything is encrypted or sent, as a user error."""
    readable_file(path)
    name = path.name
    try:
        name.encode("utf-8")
        reason = ""
    except UnicodeEncodeError:  # bytes the file system holds that are no UTF-8 text
        reason = "is not valid UTF-8 text"
    if not reason and FORBIDDEN_NAME_CHARACTERS.intersection(name.replace("\\", "")):
        reason = "holds a control character (such as a line break)"
    elif not reason and len(name) > NAME_MAX:
        reason = f"is longer than {NAME_MAX} characters"
    if reason:
        raise ClientError(f"{name!r} cannot be added: its name {reason}; rename it first")
    try:
        DocumentMetadata(name=name, media_type="", title=title, size=0, modified=0, created=0)
    except ValueError as exc:
        what = "title" if str(exc).startswith("title") else f"name {name!r}"
        raise ClientError(f"cannot use this {what}: {exc}") from None
    return path


class IterReader:
    """A read-only file object over an iterator of byte strings (an HTTP response body)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                break
        if size < 0:
            size = len(self._buffer)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


class Hasher(Protocol):
    def update(self, data: bytes, /) -> object: ...
    def digest(self) -> bytes: ...


class _HashingSink:
    """A write-only file object that hashes what is written to it and keeps nothing."""

    def __init__(self, hasher: Hasher) -> None:
        self.hasher = hasher

    def write(self, data: bytes) -> int:
        self.hasher.update(data)
        return len(data)


def _file_hash(path: Path) -> bytes:
    """BLAKE3 of a local file's content, read in pieces."""
    hasher = blake3.blake3()
    with path.open("rb") as source:
        while piece := source.read(STREAM_CHUNK):
            hasher.update(piece)
    return hasher.digest()


class DocumentsMixin(DossiersMixin):
    # -- finding documents --------------------------------------------------------------------
    def _kinds(self, dossiers: list[str]) -> dict[str, str]:
        """{id: "dossier" or "document"} of everything the server lists for me (unverified:
        ids only, to find what a prefix names)."""
        kinds = dict.fromkeys(dossiers, "dossier")
        for dossier_id in dossiers:
            kinds.update(dict.fromkeys(self._listing(dossier_id), "document"))
        return kinds

    def document_names(self, dossiers: list[str]) -> dict[str, tuple[str, str]]:
        """{id: (file name, label)} of every document I can open in `dossiers`, verified (the
        server never sees a name); the label names its dossier. A dossier whose grants to me
        expired has no names to offer; a failed check of one stops everything (fail closed).

        Looking a name up writes nothing: no receipt, no adoption (`documents` only reads)."""
        names: dict[str, tuple[str, str]] = {}
        for dossier_id in dossiers:
            try:
                dossier = self.load_dossier(dossier_id)
                infos = self.documents(dossier_id)
            except (ClientError, ExpiredError):
                continue
            where = f"in {dossier.title!r}" if dossier.metadata else "shared with you"
            names.update({i.document_id: (i.name, f"{i.name}  ({where})") for i in infos})
        return names

    def resolve_target(self, text: str) -> tuple[str, str]:
        """("dossier", id) or ("document", id): what `text` names, by id or its beginning, by a
        dossier's title or by a document's file name (`by_id_or_name`)."""
        dossiers = self.dossier_ids()
        full = text.lower()
        if ID_PATTERN.fullmatch(full):
            # A whole id needs no scan of every listing (an owner's dossier may hold 10,000
            # documents): a dossier I can see, or else a document, which the next call fetches.
            return ("dossier" if full in dossiers else "document"), full
        kinds = self._kinds(dossiers)

        def names() -> dict[str, tuple[str, str]]:
            return {**self.dossier_titles(dossiers), **self.document_names(dossiers)}

        found = by_id_or_name(text, kinds, names, "dossier or document", "id, title or name")
        return kinds.get(found, "document"), found

    def resolve_document(self, text: str) -> str:
        """The document `text` names: by id or its beginning, or by its file name."""
        full = text.lower()
        if ID_PATTERN.fullmatch(full):
            return full
        dossiers = self.dossier_ids()
        kinds = self._kinds(dossiers)
        by_id = [i for i in kinds if i.startswith(full)]
        if len(by_id) == 1 and kinds[by_id[0]] == "dossier":
            raise ClientError(f"{text!r} is a dossier, not a document")
        documents = [i for i, kind in kinds.items() if kind == "document"]
        return by_id_or_name(
            text, documents, lambda: self.document_names(dossiers), "document", "id or name"
        )

    def copies_in(self, dossier_id: str, paths: list[Path]) -> list[tuple[Path, DocumentInfo]]:
        """The files of `paths` that the dossier already holds, each with the document that
        holds it: one whose version opened by default has the same name and the same content.
        The listing has no hash of the plaintext (docs/format.md section 7), so a document of
        the same name and size is downloaded, decrypted and checked as `get` does, and its
        plaintext hashed as it streams by, never written anywhere; the server logs that as the
        download it is. The modification time does not count: a copy is the same file whatever
        its date. Read from the verified listing (`documents`, which writes nothing);
        ClientError first if I may not add to the dossier at all."""
        dossier = self.load_dossier(dossier_id)
        _require_writer(dossier)  # first: may I add at all?
        listed: dict[tuple[str, int], list[DocumentInfo]] = {}
        for info in self.documents(dossier_id):
            listed.setdefault((info.name, info.size), []).append(info)
        held: dict[str, bytes] = {}  # document id -> BLAKE3 of its plaintext, each hashed once
        copies = []
        for path in paths:
            candidates = listed.get((path.name, path.stat().st_size), [])
            if not candidates:
                continue
            content = _file_hash(path)
            for info in candidates:
                if info.document_id not in held:
                    held[info.document_id] = self._plaintext_hash(dossier, info)
                if hmac.compare_digest(held[info.document_id], content):
                    copies.append((path, info))
                    break
        return copies

    def _plaintext_hash(self, dossier: Dossier, info: DocumentInfo) -> bytes:
        """BLAKE3 of the plaintext of the version `info` lists, every check of `get` made
        (docs/format.md section 7) before the hash is returned."""
        _, versions = self.document_versions(info.document_id)
        record = next(v for v in versions if v.version == info.version)
        opened = self.open_version(dossier, record)
        return self.plaintext_digest(record, opened, blake3.blake3())

    def plaintext_digest(
        self, record: VersionRecord, opened: OpenedHeader, hasher: Hasher
    ) -> bytes:
        """`hasher`'s digest of the plaintext of a version whose header `opened` verified,
        every check of `get` made (docs/format.md section 7) before it is returned; no
        plaintext is kept."""
        sink = _HashingSink(hasher)
        path = self.api.payload_path(record.document_id, record.version)
        with self.api.download(path) as chunks:
            digest = decrypt_payload(
                IterReader(chunks()),  # type: ignore[arg-type]
                sink,  # type: ignore[arg-type]
                age_file_key(opened.file_key),
            )
        check_payload_digest(
            opened,
            payload_size=digest.size,
            payload_hash=digest.blake3,
            plaintext_size=digest.plaintext_size,
        )
        return sink.hasher.digest()

    # -- writing ------------------------------------------------------------------------------
    def _encrypt_and_upload(
        self, path: Path, file_key: bytes, progress: Progress | None
    ) -> tuple[str, PayloadDigest, bytes]:
        """Encrypt and upload the file: the upload's id, the payload's digest and the SHA-256
        of exactly the plaintext that was encrypted (for the evidence commitment)."""
        key = age_file_key(file_key)
        opened = path.open("rb")  # fails here, before the upload starts, if it cannot be read
        try:
            size = payload_size(os.fstat(opened.fileno()).st_size)
        except BaseException:
            opened.close()
            raise
        source = Sha256Reader(opened)
        reader: BinaryIO = source  # type: ignore[assignment]  # read, readinto, close suffice
        if size > self.parts.threshold:
            upload_id, parts_digest = upload_in_parts(
                self.api, reader, key, size, self.parts, progress
            )
            return upload_id, parts_digest, source.hasher.digest()
        try:
            read_fd, write_fd = os.pipe()
        except BaseException:
            source.close()
            raise
        outcome: dict[str, Any] = {}

        def produce() -> None:
            try:
                # The write end first: whatever fails after, closing it ends the upload's body.
                with os.fdopen(write_fd, "wb") as sink, source:
                    outcome["digest"] = encrypt_payload(reader, sink, key, progress=progress)
            except BaseException as exc:  # handed to the caller's thread below
                outcome["error"] = exc

        worker = threading.Thread(target=produce, name="kluis-encrypt", daemon=True)
        worker.start()
        with os.fdopen(read_fd, "rb") as pipe:

            def chunks() -> Iterator[bytes]:
                while data := pipe.read(STREAM_CHUNK):
                    yield data

            try:
                answer = self.api.stored_upload(chunks())
            finally:
                pipe.close()
                worker.join()
        if "error" in outcome:
            raise outcome["error"]
        digest: PayloadDigest = outcome["digest"]
        if answer.size != digest.size or not hmac.compare_digest(
            answer.blake3, digest.blake3.hex()
        ):
            raise IntegrityError("the server stored other bytes than this device sent")
        return answer.upload_id, digest, source.hasher.digest()

    def _write_version(
        self,
        dossier: Dossier,
        document_id: str,
        version: int,
        path: Path,
        title: str,
        progress: Progress | None,
    ) -> DocumentInfo:
        _require_writer(dossier)
        file_key = new_file_key()  # fresh for every version (D11)
        upload_id, digest, file_hash = self._encrypt_and_upload(path, file_key, progress)
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        header = seal_header(
            self.me,
            dossier_id=bytes.fromhex(dossier.dossier_id),
            document_id=bytes.fromhex(document_id),
            version=version,
            epoch=dossier.epoch,
            dossier_key=dossier.current_key(),
            file_key=file_key,
            payload_size=digest.size,
            payload_hash=digest.blake3,
            metadata=DocumentMetadata(
                name=path.name,
                media_type=media_type,
                title=title,
                size=digest.plaintext_size,
                modified=max(0, int(path.stat().st_mtime)),  # a file dated before 1970: 0
                created=now(),
            ),
            created_at=now(),
        )
        ids = (bytes.fromhex(dossier.dossier_id), bytes.fromhex(document_id), version)
        salt = evidence_salt(file_key, *ids)
        answer = self.api.post_version(
            dossier.dossier_id,
            document_id,
            version=version,
            header=header,
            upload_id=upload_id,
            payload_size=digest.size,
            payload_blake3=digest.blake3.hex(),
            commitment=commitment(salt, file_hash),
        )
        served = ServedEvidence.from_json(answer.get("evidence"))
        check_at_commit(served, file_hash=file_hash, salt=salt, log=trusted_log())
        tsa = configured_tsa()
        if tsa is not None:  # an independent second witness of the time, if the deployment has one
            token = request_timestamp(
                tsa, commitment_input(salt, file_hash), commitment(salt, file_hash)
            )
            keep_token(self.profile.dir, document_id, version, token)
        record = VersionRecord(document_id, version, header, self.my_id)
        return self._info(dossier, record, self.open_version(dossier, record).metadata)

    def _confirm(self, dossier: Dossier, infos: list[DocumentInfo]) -> None:
        """Remember the versions written and, as owner, put them into the signed index: once per
        batch, not per file."""
        # Only what the owner confirms is remembered as seen: a writer's version awaiting her
        # adoption must not make the version opened by default look like a rollback.
        self.profile.save_versions_seen({i.document_id: i.version for i in infos if i.confirmed})
        if dossier.role == "owner" and infos:
            self.sign_index(dossier, infos)

    def add(
        self,
        dossier_id: str,
        path: Path | str,
        *,
        title: str = "",
        progress: Progress | None = None,
    ) -> DocumentInfo:
        """Encrypt a file into a new document of the dossier."""
        return self.add_many(dossier_id, [Path(path)], title=title, progress=lambda _: progress)[0]

    def add_many(
        self,
        dossier_id: str,
        paths: list[Path],
        *,
        title: str = "",
        progress: Callable[[Path], Progress | None] = lambda _: None,
    ) -> list[DocumentInfo]:
        """Encrypt several files into new documents; the index is signed once at the end.

        Every file is checked first: one that is missing or unreadable stops the batch before
        anything is uploaded."""
        paths = [storable_file(Path(p), title) for p in paths]
        dossier = self.load_dossier(dossier_id)
        _require_current_epoch(self, dossier)
        infos: list[DocumentInfo] = []
        try:
            for path in paths:
                infos.append(self._write_version(dossier, new_id(), 1, path, title, progress(path)))
        finally:
            self._confirm(dossier, infos)
        return infos

    def update(
        self, document_id: str, path: Path | str, *, progress: Progress | None = None
    ) -> DocumentInfo:
        """Add a new version (with a fresh file key) to an existing document."""
        path = storable_file(Path(path))
        dossier_id, versions = self.document_versions(document_id)
        dossier = self.load_dossier(dossier_id)
        _require_writer(dossier)  # before opening the latest, which a reader may hold no key for
        _require_current_epoch(self, dossier)
        # D12: a new version on top of one the server hides would overwrite it; check first.
        self._check_not_rolled_back(dossier, {document_id: versions[-1].version})
        if dossier.role == "owner":  # a writer's pending version first, so it is not buried
            dossier, _, _ = self._adopt_pending(dossier, {document_id: versions})
        # The title comes from the latest version the owner confirms, or else my own latest:
        # never from one someone else wrote and nobody confirmed.
        choice = self._choose(dossier, versions, {})
        mine = [v for v in versions if v.author_id == self.my_id]
        base = choice.record if choice.confirmed else (mine[-1] if mine else None)
        title = self.open_version(dossier, base).metadata.title if base else ""
        next_version = versions[-1].version + 1
        info = self._write_version(dossier, document_id, next_version, path, title, progress)
        self._confirm(dossier, [info])
        return info

    # -- reading ------------------------------------------------------------------------------
    def get(
        self,
        document_id: str,
        destination: Path | str | None = None,
        *,
        version: int | None = None,
        overwrite: bool = False,
        progress: Progress | None = None,
        unconfirmed: bool = False,
    ) -> tuple[DocumentInfo, Path]:
        """Download, decrypt and verify a document; the file appears only if all checks pass.

        Without `version`, the latest version the owner confirms (her signed index lists it,
        or she wrote it), or for a document shared on its own the latest such one shared with
        me (`DocumentInfo.newer_version` then names a newer one). A newer version nobody
        confirmed is named (`DocumentInfo.unconfirmed_version`), not opened: a signature says
        who wrote it, not that they were allowed to (K4, K5). Such a version, asked for by
        number, or the newest version when none is confirmed, is opened only with
        `unconfirmed=True`, and then comes back with `confirmed` False; otherwise
        UnconfirmedVersionError, with nothing written."""
        if version is not None and version < 1:
            raise ClientError(f"there is no version {version}: versions are numbered from 1")
        dossier_id, versions = self.document_versions(document_id)
        dossier = self.load_dossier(dossier_id)
        latest = {document_id: versions[-1].version}
        reasons: dict[str, str] = {}
        adoptable: dict[str, int] = {}
        if dossier.role == "owner":  # she sees every grant: what `sync` would adopt, and why not
            self._check_not_rolled_back(dossier, latest)
            pending, reasons = self._pending(dossier, {document_id: versions})
            adoptable = {r.document_id: r.version for r in pending}
        granted = self._granted_versions(dossier)
        newer = 0
        above: VersionRecord | None = None
        if version is None:
            choice = self._choose(dossier, versions, granted)
            newer = choice.newer
            if choice.confirmed and not unconfirmed:
                record, above = choice.record, choice.unconfirmed
            else:  # the newest, confirmed or not (refused below unless asked for)
                record = choice.unconfirmed or choice.record
            self._check_not_rolled_back(dossier, latest, {document_id: record.version})
        else:
            self._check_not_rolled_back(dossier, latest)
            found = next((v for v in versions if v.version == version), None)
            if found is None:
                raise ClientError(f"document {document_id[:8]} has no version {version}")
            mine = granted.get(document_id)
            if mine and version not in mine:
                raise ClientError(
                    f"version {version} of document {document_id[:8]} was not shared with you; "
                    f"you may open version {', '.join(map(str, sorted(mine)))}"
                )
            record = found
        wanted = record.version
        opened = self.open_version(dossier, record)
        unconfirmed_above = (0, "")
        if above is not None:  # verified before it is named, never opened
            self.open_version(dossier, above)
            unconfirmed_above = (
                above.version,
                self.contact_by_id(above.author_id).identity.username,
            )
        info = self._info(
            dossier,
            record,
            opened.metadata,
            newer,
            unconfirmed=unconfirmed_above,
            not_adopted_because=reasons.get(document_id, ""),
            adoptable=adoptable.get(document_id, 0),
        )
        if not info.confirmed and not unconfirmed:
            raise UnconfirmedVersionError(unconfirmed_refusal(info, asked=version is not None))
        target = Path(destination) if destination else Path(opened.metadata.name)
        if target.is_dir():
            target = target / opened.metadata.name
        if target.exists() and not overwrite:
            raise ClientError(f"{target} exists; choose another name or allow overwriting")
        self._stream_into(
            self.api.payload_path(document_id, wanted),
            target,
            lambda src, dst: decrypt_payload(
                src, dst, age_file_key(opened.file_key), progress=progress
            ),
            lambda d: check_payload_digest(
                opened, payload_size=d.size, payload_hash=d.blake3, plaintext_size=d.plaintext_size
            ),
        )
        if info.confirmed:  # verified and confirmed, not just listed or asked for
            self.profile.save_versions_seen({document_id: wanted})
        return info, target

    def _stream_into(
        self,
        path: str,
        target: Path,
        transform: Callable[[BinaryIO, BinaryIO], PayloadDigest],
        check: Callable[[PayloadDigest], None],
    ) -> None:
        """Stream a payload through `transform` into a temp file; keep it only if `check` passes."""
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=".kluis-", suffix=".part", dir=target.parent)
        except OSError as exc:  # before anything is downloaded: name the file asked for
            raise ClientError(f"cannot write {target}: {exc.strerror or exc}") from None
        try:
            with os.fdopen(fd, "wb") as tmp:
                with self.api.download(path) as chunks:
                    digest = transform(IterReader(chunks()), tmp)  # type: ignore[arg-type]
                check(digest)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
