"""`POST /uploads`: stream a payload into the blob store, never holding it in memory.

The upload is counted against the size limit while it streams (413, and the partial file is
removed) and its BLAKE3 is computed on the way. It belongs to its uploader and is invisible
until a version commits it; cleanup deletes it after the grace period otherwise.
"""

from __future__ import annotations

import contextlib
import secrets

from fastapi import APIRouter, Request, status
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from ..blobstore import BlobTooLarge, StoredBlob
from ..db import release
from ..deps import BlobStoreDep, CurrentUser, NowDep, SessionDep, SettingsDep
from ..models import Upload, UploadPublic
from ..problems import ApiProblem, too_large

router = APIRouter(tags=["uploads"])


@router.post(
    "/uploads",
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            "required": True,
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
    now: NowDep,
) -> UploadPublic:
    limit = settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(f"the payload is larger than the limit of {limit} bytes")
    await run_in_threadpool(release, session)  # nothing stays locked while the body streams

    try:
        stored = await blobs.write_stream(request.stream(), limit)
    except BlobTooLarge:
        raise too_large(f"the payload is larger than the limit of {limit} bytes") from None
    except ClientDisconnect:
        raise ApiProblem(400, "bad_request", "the upload was interrupted") from None

    upload_id = secrets.token_hex(16)
    try:
        await run_in_threadpool(_record, session, upload_id, user.user_id, stored, now)
    except BaseException:
        with contextlib.suppress(Exception):
            await run_in_threadpool(blobs.delete, stored.key)
        raise
    return UploadPublic(upload_id=upload_id, size=stored.size, blake3=stored.blake3)


def _record(session: Session, upload_id: str, user_id: str, stored: StoredBlob, now: int) -> None:
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
