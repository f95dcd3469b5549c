"""Opening many document headers at once, over every core of this machine.

The first listing of a dossier on a device opens every header in it (docs/format.md section 7:
unwrap the file key, check the key commitment, decrypt and validate the metadata, and check the
signature unless the owner's verified index vouches for the header). That is tens of
microseconds of mostly Python per header, so threads would queue on the interpreter lock; a
dossier of ten thousand documents is split over worker processes instead. Each worker does
exactly what a single process would, and any failure in any worker fails the whole listing
with the same error.

Workers are forked (Linux): they start in milliseconds with the verifying code already
imported. Where fork is not available, or for a few hundred headers, one process does it all.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vault.header import IndexedHeaders, VerifyingIdentity, open_header
from vault.metadata import DocumentMetadata

# Below this many headers, starting workers costs more than it saves.
PARALLEL_MIN = 400
MAX_WORKERS = 8

# (document_id, version, header bytes, the author's trusted identity)
HeaderToOpen = tuple[bytes, int, bytes, VerifyingIdentity]


def _workers() -> int:
    if sys.platform != "linux":  # where fork is both available and safe
        return 1
    return max(1, min(MAX_WORKERS, len(os.sched_getaffinity(0))))


def open_headers(
    headers: Sequence[HeaderToOpen],
    *,
    dossier_id: bytes,
    dossier_keys: Mapping[int, bytes],
    index: IndexedHeaders,
    workers: int | None = None,
) -> list[DocumentMetadata]:
    """Open every header with the dossier's keys; return their metadata in the same order.

    `index` is the dossier's verified index (see `vault.header.open_header`). Raises a
    security error if any header fails, as opening them one by one would; with several
    workers it is the first failure of the first share that has one, which need not be the
    failure at the lowest position."""
    workers = _workers() if workers is None else workers
    if workers < 2 or len(headers) < PARALLEL_MIN:
        return _open_batch(headers, dossier_id, dict(dossier_keys), index)
    # Imported here: 50 ms of start-up that only a large first listing needs.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    job = _Job(headers, dossier_id, dict(dossier_keys), index, workers)
    # With fork, a worker inherits `initargs` in memory: the headers are not pickled and sent
    # to it, only its share of the metadata comes back.
    with ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_receive,
        initargs=(job,),
    ) as pool:
        shares = list(pool.map(_open_share, range(workers)))
    # Share i holds headers i, i + workers, i + 2 * workers, ...: interleave them back.
    out: list[DocumentMetadata] = [shares[0][0]] * len(headers) if headers else []
    for i, share in enumerate(shares):
        out[i::workers] = share
    return out


@dataclass(frozen=True)
class _Job:
    headers: Sequence[HeaderToOpen]
    dossier_id: bytes
    dossier_keys: dict[int, bytes]
    index: IndexedHeaders
    workers: int


_job: _Job | None = None  # in a worker: what the parent handed it at fork


def _receive(job: _Job) -> None:
    global _job
    _job = job


def _open_share(i: int) -> list[DocumentMetadata]:
    if _job is None:  # pragma: no cover - the pool runs _receive in every worker first
        raise RuntimeError("a worker ran before it received its job")
    return _open_batch(
        _job.headers[i :: _job.workers], _job.dossier_id, _job.dossier_keys, _job.index
    )


def _open_batch(
    headers: Sequence[HeaderToOpen],
    dossier_id: bytes,
    dossier_keys: dict[int, bytes],
    index: IndexedHeaders,
) -> list[DocumentMetadata]:
    return [
        open_header(
            header,
            dossier_id=dossier_id,
            document_id=document_id,
            author=author,
            version=version,
            dossier_keys=dossier_keys,
            index=index,
        ).metadata
        for document_id, version, header, author in headers
    ]
