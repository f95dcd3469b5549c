"""Documents: the listing of a dossier, committing a version, downloading a payload."""

from __future__ import annotations

import base64
import logging
from collections.abc import Collection, Iterator
from typing import Annotated, Any

import pydantic_core
from fastapi import BackgroundTasks, Depends, Path, status
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy import bindparam, func, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from .. import accesslog
from .. import evidence as evidence_log
from ..blobstore import BlobMissing
from ..db import writes
from ..deps import (
    BlobStoreDep,
    CurrentUser,
    DossierAccess,
    DossierAccessDep,
    NowDep,
    SessionDep,
    dossier_read,
    resolve_access,
)
from ..models import (
    ID_PATTERN,
    MAX_INT,
    Document,
    DocumentDetail,
    DocumentPublic,
    Upload,
    User,
    Version,
    VersionCreate,
)
from ..problems import ApiProblem, conflict, invalid, not_found
from ..tlog_service import LogDep
from .router import resource_router

router = resource_router("documents")
logger = logging.getLogger("kluis.server")

NewId = Annotated[str, Path(pattern=ID_PATTERN)]
VersionNumber = Annotated[int, Path(ge=1, le=MAX_INT)]

# Built once: the listing is the client's most frequent call.
_VERSIONS = sa_select(
    col(Version.document_id),
    col(Version.version),
    col(Version.header),
    col(Version.author_id),
    col(Version.payload_size),
    col(Version.payload_blake3),
    col(Version.created_at),
).where(col(Version.dossier_id) == bindparam("dossier_id"))
_IN_ORDER = (col(Version.document_id), col(Version.version))
ALL_VERSIONS = _VERSIONS.order_by(*_IN_ORDER)
SOME_VERSIONS = _VERSIONS.where(
    col(Version.document_id).in_(bindparam("only", expanding=True))
).order_by(*_IN_ORDER)


def documents_json(
    session: Session, dossier_id: str, only: Collection[str] | None = None
) -> list[dict[str, Any]]:
    """`[{document_id, versions: [version_out]}]` for a dossier (or some of its documents),
    in one query, as plain JSON rather than through response validation: a dossier may hold
    tens of thousands of versions and listing them is the client's most frequent call."""
    if only is None:
        rows = session.connection().execute(ALL_VERSIONS, {"dossier_id": dossier_id})
    else:
        rows = session.connection().execute(
            SOME_VERSIONS, {"dossier_id": dossier_id, "only": list(only)}
        )
    documents: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for document_id, version, header, author_id, size, blake3_hex, created_at in rows:
        if current is None or current["document_id"] != document_id:
            current = {"document_id": document_id, "versions": []}
            documents.append(current)
        current["versions"].append(
            {
                "document_id": document_id,
                "dossier_id": dossier_id,
                "version": version,
                "header": base64.b64encode(header).decode("ascii"),
                "author_id": author_id,
                "payload_size": size,
                "payload_blake3": blake3_hex,
                "created_at": created_at,
            }
        )
    return documents


def readable_document(session: Session, document_id: str, user: User, now: int) -> Document:
    """The document if the caller may read it; 404 alike for hidden and absent ones."""
    document = session.get(Document, document_id)
    if document is not None:
        access = resolve_access(session, document.dossier_id, user, now)
        if access is not None and access.can_read_document(document_id):
            return document
    raise not_found("no such document")


def visible_versions(session: Session, access: DossierAccess) -> bytes:
    """The listing as JSON, encoded here in the worker thread rather than in the event loop,
    and by pydantic-core: 10,000 documents are 12 MB, 0.03 s to encode against json's 0.12 s."""
    only = None if access.reads_everything else access.documents
    return pydantic_core.to_json(documents_json(session, access.dossier.dossier_id, only))


@router.get("/dossiers/{dossier_id}/documents", response_model=list[DocumentPublic])
async def list_documents(
    listing: Annotated[bytes, Depends(dossier_read(visible_versions))],
) -> Any:
    """Every version of every document the caller may read."""
    return Response(listing, media_type="application/json")


@router.get("/documents/{document_id}", response_model=DocumentDetail)
def get_document(document_id: str, user: CurrentUser, session: SessionDep, now: NowDep) -> Any:
    """One document and the dossier it belongs to (not in docs/api.md; the client uses it to
    find the dossier of a document it was given on its own)."""
    document = readable_document(session, document_id, user, now)
    [listed] = documents_json(session, document.dossier_id, [document_id])
    return JSONResponse({**listed, "dossier_id": document.dossier_id})


@router.post(
    "/dossiers/{dossier_id}/documents/{document_id}/versions",
    status_code=status.HTTP_201_CREATED,
)
@writes
def commit_version(
    document_id: NewId,
    body: VersionCreate,
    access: DossierAccessDep,
    session: SessionDep,
    now: NowDep,
    log: LogDep,
    background: BackgroundTasks,
) -> evidence_log.VersionCommitted:
    access.require_write()
    dossier_id = access.dossier.dossier_id
    user_id = access.user.user_id

    document = session.get(Document, document_id)
    if document is not None and document.dossier_id != dossier_id:
        raise conflict("that document id belongs to another dossier")
    latest = session.exec(
        select(func.max(Version.version)).where(col(Version.document_id) == document_id)
    ).one()
    if body.version != (latest or 0) + 1:
        raise conflict(f"version must be {(latest or 0) + 1}, the latest + 1", "version_conflict")

    upload = session.get(Upload, body.upload_id)
    if upload is None or upload.user_id != user_id or upload.committed:
        raise not_found("no such upload")
    if upload.size != body.payload_size or upload.blake3 != body.payload_blake3:
        raise invalid("payload_size and payload_blake3 must equal those of the upload")
    consumed = session.connection().execute(
        update(Upload)
        .where(col(Upload.upload_id) == upload.upload_id, col(Upload.committed).is_(False))
        .values(committed=True)
    )
    if not consumed.rowcount:
        raise not_found("no such upload")

    if document is None:
        session.add(
            Document(
                document_id=document_id, dossier_id=dossier_id, created_by=user_id, created_at=now
            )
        )
    row = Version(
        document_id=document_id,
        version=body.version,
        dossier_id=dossier_id,
        header=body.header,
        blob_key=upload.blob_key,
        payload_size=upload.size,
        payload_blake3=upload.blake3,
        author_id=user_id,
        created_at=now,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise conflict("that version was committed meanwhile", "version_conflict") from None
    accesslog.append(
        session,
        dossier_id,
        accesslog.Event(
            at=now, actor_id=user_id, action="upload", document_id=document_id, version=row.version
        ),
    )
    proof = None
    if body.commitment is not None:  # in this transaction: the version and its entry, or neither
        log.append(
            session, [evidence_log.commitment_entry(document_id, row.version, body.commitment)], now
        )
        proof = evidence_log.proof_at_commit(session, document_id, row.version)
    session.commit()
    if proof is not None:
        background.add_task(log.cosign_soon)  # after the write lock is given back
    return evidence_log.VersionCommitted(
        evidence=proof,
        document_id=document_id,
        dossier_id=dossier_id,
        version=row.version,
        header=row.header,
        author_id=user_id,
        payload_size=row.payload_size,
        payload_blake3=row.payload_blake3,
        created_at=now,
    )


@router.get(
    "/documents/{document_id}/versions/{version}/payload",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
@writes
def download_payload(
    document_id: str,
    version: VersionNumber,
    user: CurrentUser,
    session: SessionDep,
    blobs: BlobStoreDep,
    now: NowDep,
) -> StreamingResponse:
    document = readable_document(session, document_id, user, now)
    row = session.get(Version, (document_id, version))
    if row is None:
        raise not_found("no such version")
    try:
        reader = blobs.open_reader(row.blob_key)
    except BlobMissing:
        logger.error("blob of %s version %d is missing", document_id, version)
        raise ApiProblem(500, "internal_error", "the payload is not available") from None
    try:
        accesslog.append(
            session,
            document.dossier_id,
            accesslog.Event(
                at=now,
                actor_id=user.user_id,
                action="download",
                document_id=document_id,
                version=version,
            ),
        )
        session.commit()
    except BaseException:
        reader.close()
        raise

    def stream() -> Iterator[bytes]:
        try:
            yield from reader
        finally:
            reader.close()

    return StreamingResponse(
        stream(),
        media_type="application/octet-stream",
        headers={"Content-Length": str(row.payload_size)},
    )


@router.get("/documents/{document_id}/versions/{version}/evidence")
def version_evidence(
    document_id: str, version: VersionNumber, user: CurrentUser, session: SessionDep, now: NowDep
) -> evidence_log.EvidenceProof:
    """Where the version's commitment is in the log, against the earliest cosigned checkpoint
    that covers it (404 for a version committed without one)."""
    readable_document(session, document_id, user, now)
    proof = evidence_log.served_proof(session, document_id, version)
    if proof is None:
        raise not_found("no evidence for that version")
    return proof
