"""Housekeeping: remove what no one can reach any more.

- uploads never committed, older than the grace period (row first, then its blob: a commit
  racing with cleanup either wins and keeps the upload, or finds it gone and gets 404);
- uploads in parts nobody has touched for the grace period (no part, question, completion or
  part still arriving): row first, only if still untouched, then everything the blob store
  holds of it; a completion racing with cleanup either moves the row first and keeps it, or
  finds it gone and gets 404;
- partial files of interrupted uploads older than the grace period (but nothing of an upload
  in parts still recorded);
- orphan blobs (referenced by no upload and no version) older than the grace period, which is
  what a crash between writing a blob and recording it leaves behind (the references are read
  again after walking the store, so a blob recorded meanwhile stays);
- expired sessions, finished rate-limit windows, forgotten login delays and expired device
  tokens.

Run it from cron or a timer: `python -m server cleanup --data-dir ...`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from .blobstore import BlobStore, PartsUpload
from .config import Settings
from .db import open_session
from .models import AuthSession, PartUpload, Upload, Version
from .ratelimit import LoginLimiter, purge_expired

IN_BATCH = 1000  # keys per IN (...) list: well under SQLite's limit on bound parameters


def _referenced(session: Session, among: list[str] | None = None) -> set[str]:
    """Blob keys an upload, an upload in parts or a version refers to (only those `among`, if
    given). An upload in parts refers to its key from the start: a completion publishes the
    blob before it moves the upload's row."""
    found: set[str] = set()
    for column in (col(Upload.blob_key), col(PartUpload.blob_key), col(Version.blob_key)):
        if among is None:
            found.update(session.exec(select(column)))
            continue
        for first in range(0, len(among), IN_BATCH):
            batch = among[first : first + IN_BATCH]
            found.update(session.exec(select(column).where(column.in_(batch))))
    return found


@dataclass(frozen=True)
class CleanupReport:
    uploads: int
    part_uploads: int
    partials: int
    orphans: int
    sessions: int
    counters: int


def run_cleanup(engine: Engine, blobs: BlobStore, settings: Settings, now: int) -> CleanupReport:
    cutoff = now - settings.upload_grace_seconds

    with open_session(engine, write=True) as session:
        stale = list(
            session.exec(
                select(Upload.upload_id, Upload.blob_key).where(
                    col(Upload.committed).is_(False), col(Upload.created_at) < cutoff
                )
            )
        )
        if stale:
            stale_ids = [upload_id for upload_id, _ in stale]
            session.exec(
                delete(Upload).where(
                    col(Upload.upload_id).in_(stale_ids), col(Upload.committed).is_(False)
                )
            )
            # Any still here were committed meanwhile (possible on PostgreSQL): keep their blobs.
            kept = set(
                session.exec(select(Upload.upload_id).where(col(Upload.upload_id).in_(stale_ids)))
            )
            stale = [(upload_id, key) for upload_id, key in stale if upload_id not in kept]
        abandoned: list[PartsUpload] = []
        for upload_id, key, handle in session.exec(
            select(PartUpload.upload_id, PartUpload.blob_key, PartUpload.store_handle).where(
                col(PartUpload.updated_at) < cutoff
            )
        ).all():
            # Only if still untouched: a part may have begun to arrive since the select. The
            # parts' rows go with it (ON DELETE CASCADE).
            gone = session.connection().execute(
                delete(PartUpload).where(
                    col(PartUpload.upload_id) == upload_id, col(PartUpload.updated_at) < cutoff
                )
            )
            if gone.rowcount:
                abandoned.append(PartsUpload(key=key, handle=handle))
        sessions = session.connection().execute(
            delete(AuthSession).where(col(AuthSession.expires_at) <= now)
        )
        counters = purge_expired(session, now, LoginLimiter(settings))
        session.commit()
    for _, blob_key in stale:
        blobs.delete(blob_key)
    for upload in abandoned:
        blobs.abort_parts(upload)

    with open_session(engine) as session:
        in_use = set(session.exec(select(PartUpload.blob_key)))
    partials = blobs.remove_partials(older_than=cutoff, keep=in_use)

    with open_session(engine) as session:
        referenced = _referenced(session)
    candidates = [
        blob.key
        for blob in blobs.list_blobs()
        if blob.key not in referenced and blob.modified_at < cutoff
    ]
    if candidates:
        # Walking a large store takes a while, and an upload that took longer than the grace
        # period may be recorded meanwhile (an S3 object can carry its upload's start as its
        # time): read the references again, after the walk, before deleting anything.
        with open_session(engine) as session:
            referenced = _referenced(session, candidates)
    orphans = 0
    for key in candidates:
        if key not in referenced:
            blobs.delete(key)
            orphans += 1

    return CleanupReport(
        uploads=len(stale),
        part_uploads=len(abandoned),
        partials=partials,
        orphans=orphans,
        sessions=int(sessions.rowcount or 0),
        counters=counters,
    )
