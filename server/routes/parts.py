"""Uploads in parts (docs/api.md, "Uploads in parts"): a payload sent as parts of a size the
client chose, in any order, each checked on arrival, resumable after a dropped connection.

- `POST /uploads/parts` declares the size and part size; the declared size counts against the
  uploader's quota from then on (checked with the user's row locked, as for `POST /uploads`).
- `PUT /uploads/{id}/parts/{n}` stores part n, exactly its size, with the BLAKE3 the client
  sends in `Kluis-Part-BLAKE3`; again to replace it. The part counts as missing from the moment
  a copy of it starts arriving until that copy is stored and checked.
- `GET /uploads/{id}` says which parts arrived (or that the upload is complete).
- `POST /uploads/{id}/complete` with the whole size and BLAKE3: the blob store joins the parts
  and checks both; only then does the upload move, under the same id and in one transaction,
  to the uploads a version commit consumes. A completion cut off by a crash is simply asked
  again: the store finishes it or checks what it had published.
- `DELETE /uploads/{id}` aborts it (or drops an upload not committed) and frees its quota.

Only the uploader sees their uploads (404 for anyone else). Every request marks the upload's
last activity, and a part still arriving marks it every minute (every quarter of the grace
period if that is shorter), so cleanup removes only uploads nobody has touched for the grace
period.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Path, Request, Response, status
from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import ClientDisconnect

from ..blobstore import (
    BlobMismatch,
    BlobMissing,
    BlobStore,
    BlobTooLarge,
    LayoutRefused,
    PartLayout,
    PartsUpload,
    StoredBlob,
    StoredPart,
)
from ..db import write_transaction
from ..deps import BlobStoreDep, CurrentUser, SessionDep, SettingsDep
from ..models import (
    ID_PATTERN,
    MAX_PARTS,
    PartPublic,
    PartUpload,
    PartUploadComplete,
    PartUploadCreate,
    PartUploadPublic,
    Upload,
    UploadPart,
    UploadPublic,
    User,
)
from ..problems import ApiProblem, conflict, invalid, not_found, quota_exceeded, too_large
from .router import resource_router
from .uploads import room_left, storage_used

router = resource_router("uploads")
logger = logging.getLogger("kluis.server")

PART_HASH_HEADER = "Kluis-Part-BLAKE3"
HASH = re.compile(r"^[0-9a-f]{64}$")
MAX_OPEN_PART_UPLOADS = 100  # per user, at once
TOUCH_INTERVAL = 60.0  # seconds of a part arriving between two marks of activity (at most)

UploadId = Annotated[str, Path(pattern=ID_PATTERN)]
PartNumber = Annotated[int, Path(ge=1, le=MAX_PARTS)]


class _IdConvertor(Convertor[str]):
    """An id in a path (32 lowercase hex digits), matched while routing: `/uploads/parts` is
    then no upload id, and a GET there is 405 like any method a path does not serve."""

    regex = ID_PATTERN.strip("^$")

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("id", _IdConvertor())


def parts_missing(missing: list[int]) -> ApiProblem:
    shown = ", ".join(map(str, missing[:20])) + (", ..." if len(missing) > 20 else "")
    return conflict(f"{len(missing)} part(s) have not arrived: {shown}", "parts_missing")


def upload_completing() -> ApiProblem:
    return conflict("the upload is being completed: no more parts", "upload_completing")


def digest_mismatch(detail: str) -> ApiProblem:
    return ApiProblem(422, "digest_mismatch", detail)


def _layout(row: PartUpload) -> PartLayout:
    return PartLayout(row.size, row.part_size)


def _store_upload(row: PartUpload) -> PartsUpload:
    return PartsUpload(key=row.blob_key, handle=row.store_handle)


def _grace(request: Request) -> int:
    grace: int = request.app.state.settings.upload_grace_seconds
    return grace


def _now(request: Request) -> int:
    now: int = request.app.state.clock()
    return now


def _mark_activity(session: Session, upload_id: str, user_id: str, now: int) -> PartUpload | None:
    """Mark the upload active now and return it, locked (PostgreSQL: its row; SQLite: the
    write lock), or None if the caller has no such upload in parts."""
    marked = session.connection().execute(
        update(PartUpload)
        .where(col(PartUpload.upload_id) == upload_id, col(PartUpload.user_id) == user_id)
        .values(updated_at=now)
    )
    if not marked.rowcount:
        return None
    return session.exec(select(PartUpload).where(col(PartUpload.upload_id) == upload_id)).one()


def _received(session: Session, upload_id: str) -> list[UploadPart]:
    return list(
        session.exec(
            select(UploadPart)
            .where(col(UploadPart.upload_id) == upload_id)
            .order_by(col(UploadPart.number))
        )
    )


def _answer(row: PartUpload, parts: list[UploadPart], grace: int) -> PartUploadPublic:
    return PartUploadPublic(
        upload_id=row.upload_id,
        state="completing" if row.completing else "receiving",
        size=row.size,
        part_size=row.part_size,
        parts=[PartPublic(number=p.number, size=p.size, blake3=p.blake3) for p in parts],
        blake3=None,
        expires_at=row.updated_at + grace,
    )


def _complete_answer(upload: Upload, grace: int) -> PartUploadPublic:
    return PartUploadPublic(
        upload_id=upload.upload_id,
        state="complete",
        size=upload.size,
        part_size=None,
        parts=[],
        blake3=upload.blake3,
        expires_at=upload.created_at + grace,
    )


def _pending_upload(session: Session, upload_id: str, user_id: str) -> Upload | None:
    """The caller's upload ready to commit (sent whole or completed), if not committed yet."""
    return session.exec(
        select(Upload).where(
            col(Upload.upload_id) == upload_id,
            col(Upload.user_id) == user_id,
            col(Upload.committed).is_(False),
        )
    ).first()


# -- create ------------------------------------------------------------------------------------
@router.post("/uploads/parts", status_code=status.HTTP_201_CREATED)
async def create_part_upload(
    body: PartUploadCreate,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    blobs: BlobStoreDep,
) -> PartUploadPublic:
    if body.size > settings.max_upload_bytes:
        raise too_large(
            f"the payload is larger than the limit of {settings.max_upload_bytes} bytes"
        )
    layout = PartLayout(body.size, body.part_size)
    if layout.count > MAX_PARTS:
        raise invalid(f"at most {MAX_PARTS} parts: use larger parts")
    quota = settings.storage_quota_bytes
    if body.size > await run_in_threadpool(room_left, session, user.user_id, quota):
        raise quota_exceeded(quota)
    try:
        begun = await run_in_threadpool(blobs.begin_parts, layout)
    except LayoutRefused as exc:
        raise invalid(str(exc)) from None
    upload_id = secrets.token_hex(16)
    now = _now(request)
    try:
        row = await run_in_threadpool(
            _record_part_upload, session, upload_id, user.user_id, begun, layout, now, quota
        )
    except BaseException:
        with contextlib.suppress(Exception):  # else cleanup finds it, unrecorded, later
            await run_in_threadpool(blobs.abort_parts, begun)
        raise
    return _answer(row, [], _grace(request))


def _record_part_upload(
    session: Session,
    upload_id: str,
    user_id: str,
    begun: PartsUpload,
    layout: PartLayout,
    now: int,
    quota: int,
) -> PartUpload:
    with write_transaction(session):
        # The uploader's row locked, as when an upload is recorded: reservations made at once
        # on several servers are counted one after the other.
        uploader = select(User.user_id).where(col(User.user_id) == user_id)
        session.exec(uploader.with_for_update(key_share=True))
        if storage_used(session, user_id) + layout.size > quota:
            raise quota_exceeded(quota)
        open_uploads = session.exec(
            select(func.count()).select_from(PartUpload).where(col(PartUpload.user_id) == user_id)
        ).one()
        if open_uploads >= MAX_OPEN_PART_UPLOADS:
            raise conflict(
                f"at most {MAX_OPEN_PART_UPLOADS} uploads in parts at once: "
                "complete or abort one first",
                "too_many_uploads",
            )
        row = PartUpload(
            upload_id=upload_id,
            user_id=user_id,
            blob_key=begun.key,
            store_handle=begun.handle,
            size=layout.size,
            part_size=layout.part_size,
            completing=False,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.commit()
    return row


# -- which parts arrived -----------------------------------------------------------------------
@router.get("/uploads/{upload_id:id}")
def get_upload(
    upload_id: UploadId, request: Request, user: CurrentUser, session: SessionDep
) -> PartUploadPublic:
    row = session.exec(
        select(PartUpload).where(
            col(PartUpload.upload_id) == upload_id, col(PartUpload.user_id) == user.user_id
        )
    ).first()
    if row is not None:
        return _answer(row, _received(session, upload_id), _grace(request))
    upload = _pending_upload(session, upload_id, user.user_id)
    if upload is None:
        raise not_found("no such upload")
    return _complete_answer(upload, _grace(request))


# -- a part ------------------------------------------------------------------------------------
@router.put(
    "/uploads/{upload_id:id}/parts/{number}",
    openapi_extra={
        "parameters": [
            {
                "name": PART_HASH_HEADER,
                "in": "header",
                "required": True,
                "description": "the BLAKE3 of the part's bytes, 64 lowercase hex digits",
                "schema": {"type": "string", "pattern": HASH.pattern},
            }
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        },
    },
)
async def put_part(
    upload_id: UploadId,
    number: PartNumber,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    blobs: BlobStoreDep,
) -> PartPublic:
    blake3_hex = request.headers.get(PART_HASH_HEADER, "")
    if not HASH.match(blake3_hex):
        raise invalid(f"{PART_HASH_HEADER} must be the part's BLAKE3, 64 lowercase hex digits")
    declared = request.headers.get("content-length")
    row = await run_in_threadpool(
        _start_part, session, upload_id, user.user_id, number, declared, _now(request)
    )
    layout, begun = _layout(row), _store_upload(row)

    async def touch() -> None:
        await run_in_threadpool(_touch, session, upload_id, _now(request))

    # A quarter of the grace period at most, so that cleanup never sees it idle for longer.
    interval = min(TOUCH_INTERVAL, _grace(request) / 4)
    try:
        stored = await blobs.write_part(
            begun, layout, number, _marking(request.stream(), touch, interval), blake3_hex
        )
    except (BlobTooLarge, BlobMismatch) as exc:
        if isinstance(exc, BlobMismatch) and exc.what == "blake3":
            raise digest_mismatch(
                f"part {number}'s bytes do not have the BLAKE3 in {PART_HASH_HEADER}: send it again"
            ) from None
        raise _wrong_size(layout, number) from None
    except ClientDisconnect:
        raise ApiProblem(400, "bad_request", "the part was interrupted") from None
    except BlobMissing:
        # Completed meanwhile (the store sealed the parts), aborted, or lost by the store. Only
        # the last is to be forgotten: a part arriving late must not undo a completion.
        if await run_in_threadpool(
            _forget, session, blobs, upload_id, user.user_id, only_receiving=True
        ):
            raise not_found("no such upload") from None
        raise upload_completing() from None
    await run_in_threadpool(_record_part, session, upload_id, user.user_id, stored, _now(request))
    return PartPublic(number=number, size=stored.size, blake3=stored.blake3)


def _wrong_size(layout: PartLayout, number: int) -> ApiProblem:
    return invalid(f"part {number} of this upload is {layout.length(number)} bytes")


def _start_part(
    session: Session,
    upload_id: str,
    user_id: str,
    number: int,
    declared: str | None,
    now: int,
) -> PartUpload:
    with write_transaction(session):
        row = _mark_activity(session, upload_id, user_id, now)
        if row is None:
            raise not_found("no such upload")
        if row.completing:
            raise upload_completing()
        layout = _layout(row)
        if number > layout.count:
            raise invalid(f"this upload has {layout.count} part(s)")
        length = layout.length(number)
        if declared is not None and (not declared.isdigit() or int(declared) != length):
            raise _wrong_size(layout, number)
        # From now until this copy is stored and checked, the part has not arrived: the store
        # may replace the earlier copy as the new bytes come in (S3 does).
        session.connection().execute(
            delete(UploadPart).where(
                col(UploadPart.upload_id) == upload_id, col(UploadPart.number) == number
            )
        )
        session.commit()
    return row


async def _marking(
    chunks: AsyncIterator[bytes], touch: Callable[[], Awaitable[None]], interval: float
) -> AsyncIterator[bytes]:
    """The body, marking the upload active every `interval` seconds while it arrives: a large
    part on a slow line can take longer than the grace period."""
    marked = time.monotonic()
    async for chunk in chunks:
        yield chunk
        if time.monotonic() - marked >= interval:
            marked = time.monotonic()
            await touch()


def _touch(session: Session, upload_id: str, now: int) -> None:
    with write_transaction(session):
        session.connection().execute(
            update(PartUpload).where(col(PartUpload.upload_id) == upload_id).values(updated_at=now)
        )
        session.commit()


def _record_part(
    session: Session, upload_id: str, user_id: str, stored: StoredPart, now: int
) -> None:
    with write_transaction(session):
        row = _mark_activity(session, upload_id, user_id, now)
        if row is None:  # aborted or removed while the part arrived
            raise not_found("no such upload")
        if row.completing:  # the completion took the parts as they were before this one
            raise upload_completing()
        session.connection().execute(
            delete(UploadPart).where(
                col(UploadPart.upload_id) == upload_id, col(UploadPart.number) == stored.number
            )
        )
        session.add(
            UploadPart(
                upload_id=upload_id,
                number=stored.number,
                size=stored.size,
                blake3=stored.blake3,
                store_ref=stored.ref,
                received_at=now,
            )
        )
        session.commit()


def _forget(
    session: Session,
    blobs: BlobStore,
    upload_id: str,
    user_id: str,
    *,
    only_receiving: bool = False,
) -> bool:
    """Drop the upload's row, which frees its quota, and whatever the store still holds of it:
    the store lost it (an object store's own expiry), or it is not what the client meant to
    send. With `only_receiving`, an upload whose completion began is left alone. Return
    whether there is no such upload (any more)."""
    with write_transaction(session):
        row = session.exec(
            select(PartUpload).where(
                col(PartUpload.upload_id) == upload_id, col(PartUpload.user_id) == user_id
            )
        ).first()
        if row is None:
            return _pending_upload(session, upload_id, user_id) is None
        if only_receiving and row.completing:
            return False
        gone = session.connection().execute(
            delete(PartUpload).where(col(PartUpload.upload_id) == upload_id)
        )
        session.commit()
    if gone.rowcount:
        with contextlib.suppress(Exception):
            blobs.abort_parts(_store_upload(row))
    return True


# -- complete ----------------------------------------------------------------------------------
@router.post("/uploads/{upload_id:id}/complete")
async def complete_upload(
    upload_id: UploadId,
    body: PartUploadComplete,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    blobs: BlobStoreDep,
) -> UploadPublic:
    started = await run_in_threadpool(
        _start_completion, session, upload_id, user.user_id, body, _now(request)
    )
    if isinstance(started, UploadPublic):  # completed before: the answer again
        return started
    row, parts = started
    layout = _layout(row)
    try:
        stored = await run_in_threadpool(
            blobs.complete_parts, _store_upload(row), layout, parts, body.blake3
        )
    except BlobMismatch:
        await run_in_threadpool(_forget, session, blobs, upload_id, user.user_id)
        raise digest_mismatch(
            "the parts joined do not have this size and BLAKE3; the upload is removed"
        ) from None
    except BlobMissing:
        await run_in_threadpool(_forget, session, blobs, upload_id, user.user_id)
        raise not_found("no such upload") from None
    answer = await run_in_threadpool(
        _finish_completion, session, upload_id, user.user_id, stored, _now(request)
    )
    if answer is None:  # aborted while it was completed: what was joined is nobody's
        with contextlib.suppress(Exception):
            await run_in_threadpool(blobs.delete, stored.key)
        raise not_found("no such upload")
    return answer


def _start_completion(
    session: Session, upload_id: str, user_id: str, body: PartUploadComplete, now: int
) -> UploadPublic | tuple[PartUpload, list[StoredPart]]:
    with write_transaction(session):
        row = _mark_activity(session, upload_id, user_id, now)
        if row is None:
            done = _pending_upload(session, upload_id, user_id)
            if done is None:
                raise not_found("no such upload")
            if (done.size, done.blake3) != (body.size, body.blake3):
                raise digest_mismatch("the upload is complete with another size or BLAKE3")
            return UploadPublic(upload_id=upload_id, size=done.size, blake3=done.blake3)
        if body.size != row.size:
            raise invalid(f"size must be the size declared, {row.size}")
        received = _received(session, upload_id)
        arrived = {part.number for part in received}
        missing = [n for n in range(1, _layout(row).count + 1) if n not in arrived]
        if missing:
            raise parts_missing(missing)
        row.completing = True
        session.add(row)
        session.commit()
    parts = [StoredPart(p.number, p.size, p.blake3, p.store_ref) for p in received]
    return row, parts


def _finish_completion(
    session: Session, upload_id: str, user_id: str, stored: StoredBlob, now: int
) -> UploadPublic | None:
    """Move the upload in parts to the uploads a version commit consumes, in one transaction;
    None if it was aborted (or removed by cleanup) meanwhile."""
    with write_transaction(session):
        moved = session.connection().execute(
            delete(PartUpload).where(
                col(PartUpload.upload_id) == upload_id, col(PartUpload.user_id) == user_id
            )
        )
        if not moved.rowcount:  # another completion moved it, or it was aborted
            done = _pending_upload(session, upload_id, user_id)
            if done is None or done.blob_key != stored.key:
                return None
            return UploadPublic(upload_id=upload_id, size=done.size, blake3=done.blake3)
        session.add(
            Upload(
                upload_id=upload_id,
                user_id=user_id,
                blob_key=stored.key,
                size=stored.size,
                blake3=stored.blake3,
                created_at=now,  # its grace period for committing starts now
            )
        )
        session.commit()
    return UploadPublic(upload_id=upload_id, size=stored.size, blake3=stored.blake3)


# -- abort -------------------------------------------------------------------------------------
@router.delete("/uploads/{upload_id:id}", status_code=status.HTTP_204_NO_CONTENT)
def abort_upload(
    upload_id: UploadId, user: CurrentUser, session: SessionDep, blobs: BlobStoreDep
) -> Response:
    """Abort an upload in parts, or drop an upload not committed; its quota is free again."""
    with write_transaction(session):
        row = session.exec(
            select(PartUpload).where(
                col(PartUpload.upload_id) == upload_id, col(PartUpload.user_id) == user.user_id
            )
        ).first()
        upload = None if row is not None else _pending_upload(session, upload_id, user.user_id)
        if row is not None:
            gone = session.connection().execute(
                delete(PartUpload).where(col(PartUpload.upload_id) == upload_id)
            )
        elif upload is not None:
            gone = session.connection().execute(
                delete(Upload).where(
                    col(Upload.upload_id) == upload_id, col(Upload.committed).is_(False)
                )
            )
        else:
            raise not_found("no such upload")
        if not gone.rowcount:  # committed, completed or aborted meanwhile
            raise not_found("no such upload")
        session.commit()
    with contextlib.suppress(Exception):  # else cleanup finds what is left, unrecorded
        if row is not None:
            blobs.abort_parts(_store_upload(row))
        elif upload is not None:
            blobs.delete(upload.blob_key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
