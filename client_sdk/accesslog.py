"""Checking the dossier access log the server keeps (docs/api.md, "Access log").

The server writes the log, so it can lie about what happened *next*; what it cannot do without
being caught is change what this device has already seen. Every entry hashes its predecessor;
the client recomputes the whole chain and checks that the entry it remembered is still there,
unchanged. Rewriting or dropping history therefore fails with `TamperedLogError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vault.errors import IntegrityError
from vault.logchain import verify_chain

from .errors import TamperedLogError


@dataclass(frozen=True)
class LogEntry:
    seq: int
    at: int
    actor_id: str
    action: str
    document_id: str | None
    version: int | None
    subject_id: str | None
    hash: str


def verify_log(entries: list[dict[str, Any]], remembered: tuple[int, str] | None) -> list[LogEntry]:
    """Check the chain and the remembered head; return the entries as `LogEntry` objects."""
    try:
        verify_chain(entries)
    except IntegrityError as exc:
        raise TamperedLogError(str(exc)) from exc
    checked: list[LogEntry] = []
    for position, raw in enumerate(entries, start=1):
        try:
            checked.append(
                LogEntry(
                    seq=int(raw["seq"]),
                    at=int(raw["at"]),
                    actor_id=str(raw["actor_id"]),
                    action=str(raw["action"]),
                    document_id=raw.get("document_id"),
                    version=raw.get("version"),
                    subject_id=raw.get("subject_id"),
                    hash=str(raw["hash"]),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TamperedLogError(f"access log: entry {position} is malformed") from exc
    if remembered is not None:
        seq, seen_hash = remembered
        if seq > len(checked):
            raise TamperedLogError(
                f"access log: the server dropped history (this device saw entry {seq}, "
                f"the server now shows {len(checked)})"
            )
        if checked[seq - 1].hash != seen_hash:
            raise TamperedLogError(f"access log: entry {seq}, seen before, was rewritten")
    return checked
