"""A witness for Kluis logs: C2SP tlog-witness `add-checkpoint` over HTTP (docs/format.md
section 17.5, docs/deployment.md "Running a witness").

    python -m client_sdk.witness --key-file F --log VKEY [--log VKEY ...] [--port 7380]
                                 [--host 127.0.0.1] [--state FILE] [--name NAME]

A village association or a municipality runs one. The log posts each new checkpoint with a
consistency proof from the size the witness last cosigned; the witness checks the log's
signature, that the new tree extends the one it holds (RFC 9162 consistency proof), writes the
new size and root to its state file (atomically, before it answers), and answers with its
cosignature (C2SP tlog-cosignature v1). It never cosigns two trees that are not one history,
so a log that shows two devices different trees cannot get both cosigned by it. A refusal is
printed on stderr: a fork is exactly what the operator of a witness wants to hear of.

Status codes are those of tlog-witness: 400 a request that does not parse or a tree that
shrinks, 403 a checkpoint the log's key did not sign, 404 a log this witness does not know,
409 (`text/x.tlog.size`, the size it holds) when the request's old size is not the witness's,
or the same size with another root, 422 a consistency proof that does not verify.

The key file holds the witness's Ed25519 seed as `PRIVATE+KEY+<name>+<key ID>+<base64(0x04 ||
seed)>`; it is created (mode 0600) on first start. `run` is what `kluis witness` calls.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from vault.checkpoint import TrustedLog, open_checkpoint
from vault.cosignature import SIG_COSIGNATURE_V1, Cosigner
from vault.errors import MalformedError, SignatureError, VaultError
from vault.note import Signature, key_id, parse_note, parse_vkey
from vault.tlog import verify_consistency
from vault.witness import parse_add_checkpoint

PRIVATE_PREFIX = "PRIVATE+KEY+"
SIZE_CONTENT_TYPE = "text/x.tlog.size"
DEFAULT_PORT = 7380
MAX_BODY = 1 << 20


def load_or_create_key(path: Path, name: str) -> Cosigner:
    """The witness's cosigner from `path`, created with a new random seed if it is missing."""
    if not path.exists():
        seed = secrets.token_bytes(32)
        kid = key_id(name, SIG_COSIGNATURE_V1, Cosigner(name, seed).verifier.public_key)
        encoded = base64.b64encode(bytes([SIG_COSIGNATURE_V1]) + seed).decode("ascii")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{PRIVATE_PREFIX}{name}+{kid.hex()}+{encoded}\n")
    text = path.read_text("ascii").strip()
    parts = text[len(PRIVATE_PREFIX) :].split("+", 2)  # a name has no "+"; base64 may
    if not text.startswith(PRIVATE_PREFIX) or len(parts) != 3:
        raise ValueError(f"{path}: not a witness key file (PRIVATE+KEY+<name>+<id>+<key>)")
    key_name, _kid, encoded = parts
    raw = base64.b64decode(encoded, validate=True)
    if len(raw) != 33 or raw[0] != SIG_COSIGNATURE_V1:
        raise ValueError(f"{path}: not a v1 cosignature key")
    return Cosigner(key_name, raw[1:])


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


class Witness:
    """The witness's checks and state: per log origin, the size and root it last cosigned."""

    def __init__(
        self,
        cosigner: Cosigner,
        logs: Sequence[str],
        state_file: Path,
        clock: Callable[[], int] = lambda: int(time.time()),
        report: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
    ) -> None:
        self.cosigner = cosigner
        self.logs = {log.name: TrustedLog(log.name, log) for log in map(parse_vkey, logs)}
        self.state_file = state_file
        self.clock = clock
        self.report = report
        self._lock = threading.Lock()
        self._state: dict[str, tuple[int, bytes]] = {}
        if state_file.exists():
            saved = json.loads(state_file.read_text("utf-8"))
            self._state = {o: (s["size"], base64.b64decode(s["root"])) for o, s in saved.items()}

    def held(self, origin: str) -> tuple[int, bytes] | None:
        return self._state.get(origin)

    def _save(self) -> None:
        saved = {
            o: {"size": size, "root": base64.b64encode(root).decode("ascii")}
            for o, (size, root) in self._state.items()
        }
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(saved, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.state_file)

    def add_checkpoint(self, body: bytes) -> Answer:
        try:
            request = parse_add_checkpoint(body)
            origin = parse_note(request.checkpoint).text.split("\n", 1)[0]
        except VaultError as exc:
            return Answer(400, f"{exc}\n".encode())
        log = self.logs.get(origin)
        if log is None:
            return Answer(404, f"unknown log {origin!r}\n".encode())
        try:
            checkpoint = open_checkpoint(request.checkpoint, log).checkpoint
        except SignatureError as exc:
            return Answer(403, f"{exc}\n".encode())
        except VaultError as exc:
            return Answer(400, f"{exc}\n".encode())
        with self._lock:
            held_size, held_root = self._state.get(origin, (0, b""))
            if request.old_size != held_size:
                return Answer(409, f"{held_size}\n".encode(), SIZE_CONTENT_TYPE)
            if checkpoint.size < held_size:
                return Answer(400, b"the checkpoint is smaller than its old size\n")
            if held_size:
                try:
                    verify_consistency(
                        held_size, checkpoint.size, held_root, checkpoint.root, request.proof
                    )
                except (MalformedError, SignatureError) as exc:
                    return Answer(400, f"{exc}\n".encode())
                except VaultError as exc:
                    self.report(
                        f"witness: REFUSED {origin} at {checkpoint.size} entries: it does not "
                        f"extend the tree of {held_size} entries this witness cosigned ({exc})"
                    )
                    if checkpoint.size == held_size:
                        return Answer(409, f"{held_size}\n".encode(), SIZE_CONTENT_TYPE)
                    return Answer(422, f"{exc}\n".encode())
            self._state[origin] = (checkpoint.size, checkpoint.root)
            self._save()  # remembered before it is answered
        text = checkpoint.text().encode("utf-8")
        signer = self.cosigner.at(self.clock())
        cosignature = Signature(signer.name, signer.key_id, signer.sign(text))
        return Answer(200, cosignature.line.encode("utf-8"))


def make_app(witness: Witness) -> Starlette:
    async def add_checkpoint(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return PlainTextResponse("too large\n", status_code=413)
        answer = witness.add_checkpoint(body)
        return Response(answer.body, status_code=answer.status, media_type=answer.content_type)

    return Starlette(routes=[Route("/add-checkpoint", add_checkpoint, methods=["POST"])])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kluis witness", description="Witness Kluis logs (C2SP tlog-witness)."
    )
    parser.add_argument("--key-file", type=Path, required=True, help="created if missing")
    parser.add_argument("--log", action="append", default=[], help="a log's verifier key")
    parser.add_argument("--name", default=None, help="the witness's key name (new key files)")
    parser.add_argument("--state", type=Path, default=None, help="default: <key file>.state")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Run a witness until interrupted (the entry point `kluis witness` calls)."""
    args = _parser().parse_args(argv)
    if not args.log:
        print("kluis witness: name at least one log with --log VKEY", file=sys.stderr)
        return 2
    name = args.name or socket.gethostname().lower() + "/witness"
    try:
        cosigner = load_or_create_key(args.key_file, name)
        state = args.state or args.key_file.with_name(args.key_file.name + ".state")
        witness = Witness(cosigner, args.log, state)
    except (OSError, ValueError, VaultError) as exc:
        print(f"kluis witness: {exc}", file=sys.stderr)
        return 2
    config = uvicorn.Config(
        make_app(witness), host=args.host, port=args.port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)

    async def announce() -> None:
        while not server.started:
            await asyncio.sleep(0.02)
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        print(f"Kluis witness {cosigner.verifier.vkey}", flush=True)
        print(f"listening on http://{host}:{port}/add-checkpoint", flush=True)

    async def main() -> None:
        task = asyncio.create_task(announce())
        await server.serve()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())
    return 0


if __name__ == "__main__":
    sys.exit(run())
