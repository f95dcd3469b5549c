"""Uploading a payload in parts (docs/api.md, "Uploads in parts") and resuming it after a
dropped connection.

The payload is encrypted in a producer thread straight into part-sized buffers; as each fills
up, it is sent with its BLAKE3, two parts at a time on two connections (so that one part's
transfer overlaps the server's storing, fsync and bookkeeping of the other), and its buffer is
reused only once the server answered that it stored and checked the part. There are two
buffers, so memory is two parts (32 MiB with the default 16 MiB parts) whatever the file's size;
with both in flight, the encryption waits.

What a dropped connection costs: only the parts in flight, which are still in their buffers. A
part the server acknowledged is stored durably, so the client never needs its bytes again: it
neither spools the ciphertext to a temporary file (a second copy of the whole payload on the
user's disk) nor re-derives a lost part by encrypting again (possible, since the payload is a
deterministic function of the file, the file key and the nonce, but only while the file stays
unchanged, and not needed). A client process that dies loses its upload: the file key exists
only in memory and is never written down to resume with; the server removes the upload after
its grace period.

After a network error, an answer 5xx or 429, or a part damaged on the way (422
`digest_mismatch`), the client waits (0.5 s, doubling up to 30 s), asks the server which parts
arrived, checks that every part it was told was stored is still there with its hash, and sends
the part again unless it arrived (then the answer was lost, not the part). After `retries`
failures in a row it gives up: the server's upload is aborted if the server can be reached, and
the error says what happened. The completion is asked for in the same way: asking again is safe.

The whole payload's size is declared up front (the server reserves it against the quota): it is
known from the plaintext's size. A file that grows or shrinks while it is read no longer
encrypts to that size, and the upload stops with an error instead of sending something else.
"""

from __future__ import annotations

import contextlib
import hmac
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, BinaryIO, TypeVar

import blake3

from vault.errors import IntegrityError, MalformedError
from vault.payload import PayloadDigest, encrypt_payload

from .errors import ApiError, ClientError, ServerUnreachable
from .transport import Api

MIB = 1 << 20
T = TypeVar("T")
Progress = Callable[[int], None]

UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
FILE_CHANGED = "the file changed while it was being uploaded; nothing was stored, try again"


@dataclass(frozen=True)
class PartPolicy:
    """When and how payloads go up in parts. A payload larger than `threshold` bytes goes in
    parts of `part_size` (5 to 256 MiB), `parallel` at a time (each in a buffer of its own); a
    request that fails on the way is tried again up to `retries` times in a row, waiting
    `backoff` seconds first and twice as long each time, at most `max_backoff`."""

    threshold: int = 16 * MIB
    part_size: int = 16 * MIB
    parallel: int = 2
    retries: int = 8
    backoff: float = 0.5
    max_backoff: float = 30.0


class _Stopped(Exception):
    """Raised in the producer when the sender gave up: the encryption stops."""


class _PartSink:
    """The file object the payload is encrypted into: it cuts the stream into parts of
    `part_size` bytes and hands each full one to the sender, through two reused buffers."""

    def __init__(self, part_size: int, size: int, buffers: int) -> None:
        self._part_size = part_size
        self._size = size
        self._free: queue.Queue[bytearray] = queue.Queue()
        for _ in range(min(buffers, -(-size // part_size))):
            self._free.put(bytearray(min(part_size, size)))
        self._ready: queue.Queue[tuple[int, bytearray, int] | None] = queue.Queue()
        self._stopped = threading.Event()
        self._buffer: bytearray | None = None
        self._filled = 0
        self._number = 0
        self._written = 0

    # -- the producer's side (the encryption's writer thread) ---------------------------------
    def write(self, data: bytes | memoryview) -> int:
        view = memoryview(data)
        self._written += len(view)
        if self._written > self._size:
            raise ClientError(FILE_CHANGED)
        offset = 0
        while offset < len(view):
            if self._buffer is None:
                self._buffer = self._take()
                self._filled = 0
            count = min(len(view) - offset, len(self._buffer) - self._filled)
            self._buffer[self._filled : self._filled + count] = view[offset : offset + count]
            self._filled += count
            offset += count
            if self._filled == len(self._buffer):
                self._hand_over()
        return len(view)

    def finish(self) -> None:
        if self._written != self._size:
            raise ClientError(FILE_CHANGED)
        if self._buffer is not None and self._filled:
            self._hand_over()
        self._ready.put(None)

    def fail(self) -> None:
        self._ready.put(None)

    def _take(self) -> bytearray:
        while True:
            try:
                return self._free.get(timeout=0.1)
            except queue.Empty:
                if self._stopped.is_set():
                    raise _Stopped() from None

    def _hand_over(self) -> None:
        assert self._buffer is not None
        self._number += 1
        self._ready.put((self._number, self._buffer, self._filled))
        self._buffer = None

    # -- the sender's side --------------------------------------------------------------------
    def parts(self) -> Iterator[tuple[int, memoryview, bytearray]]:
        """(number, its bytes, its buffer to `release` once sent), until the payload ends."""
        while (item := self._ready.get()) is not None:
            number, buffer, length = item
            yield number, memoryview(buffer)[:length], buffer

    def release(self, buffer: bytearray) -> None:
        self._free.put(buffer)

    def stop(self) -> None:
        self._stopped.set()


def upload_in_parts(
    api: Api,
    source: BinaryIO,
    age_key: bytes,
    size: int,
    policy: PartPolicy,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, PayloadDigest]:
    """Encrypt `source` (closed at the end) and upload the payload, `size` bytes, in parts;
    return the completed upload's id and the payload's digest."""
    created = api.create_part_upload(size, policy.part_size)
    upload_id = str(created.get("upload_id"))
    if not UPLOAD_ID.fullmatch(upload_id):
        raise MalformedError("server answer: the upload id is not 32 hex digits")
    sink = _PartSink(policy.part_size, size, max(1, policy.parallel))
    outcome: dict[str, Any] = {}

    def produce() -> None:
        try:
            with source as src:
                outcome["digest"] = encrypt_payload(src, sink, age_key, progress=progress)  # type: ignore[arg-type]
            sink.finish()
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc
            sink.fail()

    sender = _Sender(api, upload_id, -(-size // policy.part_size), policy, sleep)

    def send(number: int, data: memoryview, buffer: bytearray) -> None:
        try:
            sender.send(number, data)
        except BaseException:
            sink.stop()  # the producer stops at its next part; the loop below ends
            raise
        data.release()
        sink.release(buffer)

    worker = threading.Thread(target=produce, name="kluis-encrypt-parts", daemon=True)
    worker.start()
    pool = ThreadPoolExecutor(max(1, policy.parallel), thread_name_prefix="kluis-parts")
    sending: set[Future[None]] = set()
    try:
        for number, data, buffer in sink.parts():
            for future in [f for f in sending if f.done()]:
                sending.discard(future)
                future.result()  # a part that failed raises here
            sending.add(pool.submit(send, number, data, buffer))
        # Every part was handed over, or a part that failed stopped the producer: its failure
        # is the one to raise, not the producer's stop.
        for future in wait(sending, return_when=FIRST_EXCEPTION).done:
            future.result()
        for future in wait(sending).done:
            future.result()
        worker.join()
        if "error" in outcome:
            raise outcome["error"]
        digest: PayloadDigest = outcome["digest"]
        if digest.size != size:  # cannot happen: the sink counted every byte
            raise ClientError(FILE_CHANGED)
        sender.complete(digest)
    except BaseException:
        sink.stop()
        worker.join()
        wait(sending)
        with contextlib.suppress(Exception):  # else the server removes it after its grace period
            api.abort_upload(upload_id)
        raise
    finally:
        pool.shutdown(wait=True)
    return upload_id, digest


class _Sender:
    """Sends the parts of one upload and completes it, trying again after failures."""

    def __init__(
        self,
        api: Api,
        upload_id: str,
        count: int,
        policy: PartPolicy,
        sleep: Callable[[float], None],
    ) -> None:
        self.api = api
        self.upload_id = upload_id
        self.count = count
        self.policy = policy
        self.sleep = sleep
        self.stored: dict[int, str] = {}  # parts the server said it stored, with their BLAKE3
        self.lock = threading.Lock()  # parts are sent from several threads

    def send(self, number: int, data: memoryview) -> None:
        digest = str(blake3.blake3(data).hexdigest())

        def attempt() -> bool:
            answer = self.api.put_part(self.upload_id, number, data, digest)
            stored = (answer.get("number"), answer.get("size"), answer.get("blake3"))
            if stored != (number, len(data), digest):
                raise IntegrityError(
                    f"the server stored other bytes than this device sent as part {number}"
                )
            return True

        def arrived() -> bool | None:
            parts = self._arrived()
            return True if parts.get(number) == digest else None

        self._retrying(attempt, arrived, f"part {number} of {self.count}", part=True)
        with self.lock:
            self.stored[number] = digest

    def complete(self, digest: PayloadDigest) -> None:
        wanted = digest.blake3.hex()

        def attempt() -> bool:
            answer = self.api.complete_part_upload(self.upload_id, digest.size, wanted)
            self._check_complete(answer.get("size"), answer.get("blake3"), digest)
            return True

        def arrived() -> bool | None:
            state = self.api.part_upload(self.upload_id)
            if state.get("state") != "complete":
                return None  # still to complete (or the completion is still running): ask again
            self._check_complete(state.get("size"), state.get("blake3"), digest)
            return True

        self._retrying(attempt, arrived, "the completion", part=False)

    @staticmethod
    def _check_complete(size: object, blake3_hex: object, digest: PayloadDigest) -> None:
        if size != digest.size or not hmac.compare_digest(str(blake3_hex), digest.blake3.hex()):
            raise IntegrityError("the server stored other bytes than this device sent")

    def _arrived(self) -> dict[int, str]:
        """The parts the server has, after checking it still has every one it said it stored."""
        state = self.api.part_upload(self.upload_id)
        parts = state.get("parts")
        if state.get("upload_id") != self.upload_id or not isinstance(parts, list):
            raise MalformedError("server answer: not the upload that was asked for")
        arrived = {p.get("number"): p.get("blake3") for p in parts if isinstance(p, dict)}
        with self.lock:
            stored = dict(self.stored)
        for number, digest in stored.items():
            if arrived.get(number) != digest:
                raise ClientError(
                    f"the server no longer has part {number} of this upload, which it had "
                    "stored; nothing was stored, try again"
                )
        return {n: str(d) for n, d in arrived.items() if isinstance(n, int)}

    def _retrying(
        self,
        attempt: Callable[[], T],
        recovered: Callable[[], T | None],
        what: str,
        *,
        part: bool,
    ) -> T:
        """`attempt()`; after a failure worth trying again, wait, ask `recovered()` whether it
        happened after all (its answer if so), and try again, `retries` times at most."""
        failures = 0
        while True:
            try:
                return attempt()
            except (ServerUnreachable, ApiError) as exc:
                if not _worth_again(exc, part=part):
                    raise
                failures += 1
                if failures > self.policy.retries:
                    raise ServerUnreachable(
                        f"gave up uploading after {failures} failed attempts at {what} "
                        f"({exc}); the upload was abandoned, try again later"
                    ) from exc
            delay = self.policy.backoff * 2 ** (failures - 1)
            self.sleep(min(self.policy.max_backoff, delay))
            with contextlib.suppress(ServerUnreachable):  # still away: the next attempt says
                done = recovered()
                if done is not None:
                    return done


def _worth_again(exc: ServerUnreachable | ApiError, *, part: bool) -> bool:
    """Whether a failed request may go better a moment later: the connection dropped, the
    server or a proxy before it is restarting (5xx) or busy (429), or a part was damaged on
    the way (or cut off, as the server saw it)."""
    if isinstance(exc, ServerUnreachable):
        return True
    if exc.status >= 500 or exc.status == 429:
        return True
    return part and exc.code in ("digest_mismatch", "bad_request")
