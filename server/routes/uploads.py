"""`POST /uploads`: stream a payload into the blob store, never holding it in memory.

The upload is counted against the size limit while it streams (413, and the partial file is
removed) and its BLAKE3 is computed on the way. It belongs to its uploader and is invisible
until a version commits it; cleanup deletes it after the grace period otherwise.

Every stored upload counts against its uploader's storage quota (`KLUIS_STORAGE_QUOTA_BYTES`):
what they may still store bounds the stream, and the total is checked again, with the user's
row locked, when the upload is recorded, so parallel uploads cannot overshoot it together. The
declared size of an upload in parts (server/routes/parts.py) counts from its creation.
"""

from __future__ import annotations

import contextlib
import secrets

from fastapi import Request, status
from sqlalchemy import func
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from ..blobstore import BlobTooLarge, StoredBlob
from ..db import release, write_transaction
from ..deps import BlobStoreDep, CurrentUser, SessionDep, SettingsDep
from ..models import PartUpload, Upload, UploadPublic, User
from ..problems import ApiProblem, quota_exceeded, too_large
from .router import resource_router

router = resource_router("uploads")


@router.post(
    "/uploads",
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            # No body is an empty payload (0 bytes), which is allowed.
            "required": False,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def upload(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    blobs: BlobStoreDep,
) -> UploadPublic:
    quota = settings.storage_quota_bytes
    room = await run_in_threadpool(room_left, session, user.user_id, quota)
    limit = min(settings.max_upload_bytes, room)

    def refuse() -> ApiProblem:
        if limit < settings.max_upload_bytes:
            return quota_exceeded(quota)
        return too_large(f"the payload is larger than the limit of {limit} bytes")

    declared = request.headers.get("content-length")
    if limit <= 0 or (declared is not None and declared.isdigit() and int(declared) > limit):
        raise refuse()

    try:
        stored = await blobs.write_stream(request.stream(), limit)
    except BlobTooLarge:
        raise refuse() from None
    except ClientDisconnect:
        raise ApiProblem(400, "bad_request", "the upload was interrupted") from None

    upload_id = secrets.token_hex(16)
    # The grace period for committing it starts now that it is stored, not when the request
    # began: a large body on a slow line can take longer than the grace period to arrive.
    stored_at: int = request.app.state.clock()
    try:
        await run_in_threadpool(_record, session, upload_id, user.user_id, stored, stored_at, quota)
    except BaseException:
        with contextlib.suppress(Exception):
            await run_in_threadpool(blobs.delete, stored.key)
        raise
    return UploadPublic(upload_id=upload_id, size=stored.size, blake3=stored.blake3)


def storage_used(session: Session, user_id: str) -> int:
    """Bytes the user has stored or reserved: every upload of theirs, committed or still
    pending, and the declared size of every upload in parts still open."""
    stored = session.exec(
        select(func.coalesce(func.sum(Upload.size), 0)).where(col(Upload.user_id) == user_id)
    ).one()
    reserved = session.exec(
        select(func.coalesce(func.sum(PartUpload.size), 0)).where(
            col(PartUpload.user_id) == user_id
        )
    ).one()
    return int(stored) + int(reserved)


def room_left(session: Session, user_id: str, quota: int) -> int:
    """Bytes the user may still store. The transaction ends in the same worker-thread call, so
    nothing stays locked or checked out while the body streams."""
    try:
        return quota - storage_used(session, user_id)
    finally:
        release(session)


def _record(
    session: Session, upload_id: str, user_id: str, stored: StoredBlob, now: int, quota: int
) -> None:
    with write_transaction(session):
        # Lock the uploader's row (PostgreSQL; SQLite's write lock is database-wide already) so
        # that uploads finishing at once on several servers are counted one after the other.
        # FOR NO KEY UPDATE: rows that merely refer to the user (sessions, versions) go on.
        uploader = select(User.user_id).where(col(User.user_id) == user_id)
        session.exec(uploader.with_for_update(key_share=True))
        if storage_used(session, user_id) + stored.size > quota:
            raise quota_exceeded(quota)
        session.add(
            Upload(
                upload_id=upload_id,
                user_id=user_id,
                blob_key=stored.key,
                size=stored.size,
                blake3=stored.blake3,
                created_at=now,
            )
        )
        session.commit()
