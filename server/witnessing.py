"""Asking the configured witnesses to cosign the log's newest checkpoint (C2SP tlog-witness
`add-checkpoint`, docs/format.md section 17.5), and keeping their cosignatures with it.

The log remembers, per witness, the size it last cosigned, and sends a consistency proof from
there. A witness that holds another size answers 409 with that size (`text/x.tlog.size`); the
log then proves consistency from it, once. A witness that refuses (a fork it saw, a checkpoint
it cannot verify) or is down is logged and skipped: the checkpoint is served with the
cosignatures it got, and each client decides whether they meet its quorum.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from vault.cosignature import CosignatureVerifier, parse_witness_vkey
from vault.errors import VaultError
from vault.note import Signature, parse_note
from vault.witness import AddCheckpoint, add_cosignatures, parse_cosignature_lines

from . import tlog
from .db import open_session
from .tlog_models import TlogCheckpoint, WitnessState

SIZE_CONTENT_TYPE = "text/x.tlog.size"
logger = logging.getLogger("kluis.server")


@dataclass(frozen=True)
class Witness:
    """A configured witness: its add-checkpoint URL and its cosigning key."""

    url: str
    verifier: CosignatureVerifier

    @classmethod
    def parse(cls, text: str) -> Witness:
        """`<add-checkpoint URL> <verifier key>` (ValueError if it is not that)."""
        url, _, vkey = text.strip().partition(" ")
        if not url.startswith(("http://", "https://")) or not vkey:
            raise ValueError(f"a witness is '<add-checkpoint URL> <verifier key>', not {text!r}")
        try:
            return cls(url, parse_witness_vkey(vkey.strip()))
        except VaultError as exc:
            raise ValueError(f"witness {url}: {exc}") from None


def _own(verifier: CosignatureVerifier, text: bytes, lines: list[Signature]) -> list[Signature]:
    """The lines that are this witness's cosignature on `text` and verify."""
    return [
        s
        for s in lines
        if s.name == verifier.name
        and s.key_id == verifier.key_id
        and verifier.verify(text, s.signature)
    ]


def _ask(
    http: httpx.Client, witness: Witness, session: Session, checkpoint: TlogCheckpoint, old: int
) -> tuple[list[Signature], int | None]:
    """One add-checkpoint exchange: (cosignatures, None) or ([], the size the witness holds)."""
    proof = tlog.consistency(session, old, checkpoint.size)
    body = AddCheckpoint(old, tuple(proof), checkpoint.note).encode()
    response = http.post(witness.url, content=body)
    if response.status_code == httpx.codes.CONFLICT and response.headers.get(
        "content-type", ""
    ).startswith(SIZE_CONTENT_TYPE):
        return [], int(response.text.strip())
    response.raise_for_status()
    text = parse_note(checkpoint.note).text.encode("utf-8")
    return _own(witness.verifier, text, parse_cosignature_lines(response.content)), None


def cosign_latest(engine: Engine, witnesses: list[Witness], timeout: float) -> int:
    """Ask every witness to cosign the newest checkpoint; add what they signed to it. Returns
    how many cosignatures it now carries from these witnesses."""
    if not witnesses:
        return 0
    with open_session(engine) as session:
        checkpoint = tlog.latest_checkpoint(session)
        if checkpoint is None:
            return 0
        got: list[Signature] = []
        sizes: dict[str, int] = {}
        with httpx.Client(timeout=timeout) as http:
            for witness in witnesses:
                state = session.get(WitnessState, witness.verifier.vkey)
                old = min(state.size if state else 0, checkpoint.size)
                try:
                    lines, held = _ask(http, witness, session, checkpoint, old)
                    if held is not None and held <= checkpoint.size:
                        lines, held = _ask(http, witness, session, checkpoint, held)
                except (httpx.HTTPError, VaultError, ValueError) as exc:
                    logger.warning("witness %s did not cosign: %s", witness.url, exc)
                    continue
                if lines:
                    got.extend(lines[:1])
                    sizes[witness.verifier.vkey] = checkpoint.size
                else:
                    logger.warning("witness %s holds a tree of %s entries", witness.url, held)
        session.commit()
    with open_session(engine, write=True) as session:
        row = session.get(TlogCheckpoint, checkpoint.size)
        assert row is not None
        row.note = add_cosignatures(row.note, got)
        session.add(row)
        for vkey, size in sizes.items():
            state = session.get(WitnessState, vkey) or WitnessState(witness=vkey, size=size)
            state.size = max(state.size, size)
            session.add(state)
        session.commit()
    return len(got)
