"""Housekeeping: remove what no one can reach any more.

- uploads never committed, older than the grace period (row first, then its blob: a commit
  racing with cleanup either wins and keeps the upload, or finds it gone and gets 404);
- partial files of interrupted uploads older than the grace period;
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

from .blobstore import BlobStore
from .config import Settings
from .db import open_session
from .models import AuthSession, Upload, Version
from .ratelimit import LoginLimiter, purge_expired

IN_BATCH = 1000  # keys per IN (...) list: well under SQLite's limit on bound parameters


def _referenced(session: Session, among: list[str] | None = None) -> set[str]:
    """Blob keys an upload or a version refers to (only those `among`, if given)."""
    found: set[str] = set()
    for column in (col(Upload.blob_key), col(Version.blob_key)):
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
        sessions = session.connection().execute(
            delete(AuthSession).where(col(AuthSession.expires_at) <= now)
        )
        counters = purge_expired(session, now, LoginLimiter(settings))
        session.commit()
    for _, blob_key in stale:
        blobs.delete(blob_key)

    partials = blobs.remove_partials(older_than=cutoff)

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
        partials=partials,
        orphans=orphans,
        sessions=int(sessions.rowcount or 0),
        counters=counters,
    )
