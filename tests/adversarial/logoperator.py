"""The operator's hands on the key transparency log: it holds the log's keys (they are files in
the server's data directory), so it can append any entry it likes and sign any checkpoint. What
it cannot do is make a device accept a tree that does not extend the one it saw, nor hide an
entry from the owner of the name it is filed under; these helpers let a test try.
"""

from __future__ import annotations

import secrets

from sqlmodel import Session, col, select

from client_sdk.localserver import LocalServer
from server import tlog
from server.config import Settings
from server.db import make_engine
from server.tlog_keys import LogKeys
from server.tlog_models import TlogEntry
from vault.checkpoint import Checkpoint, sign_checkpoint


def log_keys(server: LocalServer) -> LogKeys:
    """The log's keys, as the operator reads them from the server's data directory."""
    return LogKeys.of(Settings(data_dir=server.data_dir))


def append(server: LocalServer, entries: list[tlog.Pending], *, take_over: bool = True) -> int:
    """Append entries with the log's own code and keys, as a lying operator can. With
    `take_over`, an entry whose subject is logged already takes that subject over (the old
    entry stays in the tree, as nothing can be taken out of it), so lookups are proved against
    the new entry; without, the new entry is filed beside it and lookups still prove the old."""
    if not take_over:
        entries = [
            tlog.Pending(f"{p.subject}:rogue:{secrets.token_hex(4)}", p.entry) for p in entries
        ]
    keys = log_keys(server)
    engine = make_engine(Settings(data_dir=server.data_dir).db_url)
    try:
        with Session(engine) as session:
            for item in entries:
                old = session.exec(
                    select(TlogEntry).where(col(TlogEntry.subject) == item.subject)
                ).first()
                if old is not None:
                    old.subject = f"replaced:{old.index}"
                    session.add(old)
            session.flush()
            size = tlog.append(session, keys, entries, 0)
            session.commit()
        return size
    finally:
        engine.dispose()


def log_identity(
    server: LocalServer, user_id: str, record: bytes, *, take_over: bool = True
) -> int:
    """Log an identity record for an account (the operator's own keys under its name)."""
    entry = tlog.identity_entry(log_keys(server), user_id, record)
    return append(server, [entry], take_over=take_over)


def signed_checkpoint(server: LocalServer, size: int, root: bytes) -> bytes:
    """A checkpoint of any size and root, signed with the log's key (no witness cosigned it)."""
    keys = log_keys(server)
    return sign_checkpoint(Checkpoint(keys.origin, size, root), keys.signer)


def inclusion(server: LocalServer, index: int, size: int) -> list[bytes]:
    """The inclusion proof of entry `index` in the tree of `size` entries, as the log's own
    code computes it (for an answer the operator rewrites to prove an entry of its choice)."""
    engine = make_engine(Settings(data_dir=server.data_dir).db_url)
    try:
        with Session(engine) as session:
            return tlog.inclusion(session, index, size)
    finally:
        engine.dispose()
