"""The key transparency log as this device checks it (docs/format.md section 17, docs/client.md
section 24): the log's pinned parameters, the newest checkpoint this device accepted, every
looked-up key's place in the log, and monitoring of the device's own name.

A key is used only after `vault.keylookup.verify_lookup` passed on it: the record is in the
tree of a checkpoint the pinned log key signed and enough trusted witnesses cosigned, and that
tree extends the newest one this device accepted before (kept in the profile, so a server
cannot make the device forget it). The log's parameters (origin, log key, VRF key) are pinned
per server on first use, or given by the user (`--log-key`, `KLUIS_LOG_KEY`); a log key other
than the pinned one is a security failure, never a silent change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vault.checkpoint import (
    Checkpoint,
    TrustedLog,
    VerifiedCheckpoint,
    check_extension,
    open_checkpoint,
)
from vault.cosignature import WitnessPolicy, parse_witness_vkey
from vault.errors import IntegrityError, KeyMismatchError, MalformedError
from vault.keylookup import Lookup, verify_lookup
from vault.logentry import EntryKind, LogEntry, Namespace
from vault.note import parse_vkey
from vault.tlog import EMPTY_ROOT, TILE_WIDTH, Tile, decode_entry_bundle, leaf_hash, node_hash

from .api import LogHeadRow, LogProofRow, ServerApi
from .errors import ClientError, DamagedProfile
from .profile import Profile

__all__ = ["Audit", "Frontier", "KeyLog", "LogSettings", "LoggedEntry", "Watched"]


@dataclass(frozen=True)
class LogSettings:
    """What the user gave this command: the log's verifier key (`--log-key`, `KLUIS_LOG_KEY`),
    the witnesses' verifier keys and how many of them must have cosigned. None keeps what this
    device pinned or chose before."""

    log_key: str | None = None
    witnesses: tuple[str, ...] | None = None
    quorum: int | None = None

    def policy(self) -> WitnessPolicy | None:
        """The witness policy given (a user error, exit 1, if it does not parse)."""
        if self.witnesses is None:
            if self.quorum:
                raise ClientError("a witness quorum needs the witnesses' keys (--witness)")
            return None
        try:
            witnesses = tuple(parse_witness_vkey(v) for v in self.witnesses)
            quorum = len(witnesses) if self.quorum is None else self.quorum
            return WitnessPolicy(witnesses, quorum)
        except (MalformedError, ValueError) as exc:
            raise ClientError(f"the witness policy you gave is not usable: {exc}") from None


@dataclass(frozen=True)
class LoggedEntry:
    """One entry of the log as monitoring reads it."""

    index: int
    entry: bytes


class Frontier:
    """The right edge of a tree (the roots of its perfect subtrees, largest first): enough to
    append leaves and compute the new root, so a monitor reads each entry once and checks all
    it read against a signed root."""

    def __init__(self, size: int = 0, nodes: Sequence[tuple[int, bytes]] = ()) -> None:
        self.size = size
        self.nodes = list(nodes)
        if sum(1 << level for level, _ in nodes) != size:
            raise DamagedProfile("the stored state of the log's audit is damaged")

    def append(self, entry: bytes) -> None:
        level, node = 0, leaf_hash(entry)
        while self.nodes and self.nodes[-1][0] == level:
            node = node_hash(self.nodes.pop()[1], node)
            level += 1
        self.nodes.append((level, node))
        self.size += 1

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        node = self.nodes[-1][1]
        for _level, left in reversed(self.nodes[:-1]):
            node = node_hash(left, node)
        return node

    def to_json(self) -> dict[str, Any]:
        return {"size": self.size, "nodes": [[lv, h.hex()] for lv, h in self.nodes]}

    @classmethod
    def from_json(cls, value: Any) -> Frontier:
        if value is None:
            return cls()
        try:
            return cls(
                int(value["size"]), [(int(lv), bytes.fromhex(h)) for lv, h in value["nodes"]]
            )
        except (KeyError, TypeError, ValueError):
            raise DamagedProfile("the stored state of the log's audit is damaged") from None


class KeyLog:
    """The log of one server as one device knows it."""

    def __init__(
        self, api: ServerApi, profile: Profile, server: str, settings: LogSettings | None = None
    ) -> None:
        self.api = api
        self.profile = profile
        self.server = server
        self.settings = settings or LogSettings()
        self._trusted: tuple[TrustedLog, bytes] | None = None

    # -- the pinned parameters ---------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return self.profile.key_log(self.server) or {}

    def _save(self, **changes: Any) -> None:
        self.profile.save_key_log(self.server, {**self._state(), **changes})

    def pinned(self) -> bool:
        """Whether this device has pinned the log of this server."""
        return "log_key" in self._state()

    def trusted(self) -> tuple[TrustedLog, bytes]:
        """The log as this device trusts it (origin, log key, witness policy) and its VRF key.

        On first use the server's parameters are pinned (after comparing the log key with the
        one the user gave, if any); afterwards a log key given that differs from the pinned
        one is a security failure (KeyMismatchError): a log's key never changes."""
        if self._trusted is not None:
            return self._trusted
        state = self._state()
        given = self.settings.log_key
        if "log_key" not in state:
            params = self.api.log_parameters()
            if given is not None and given != params.log_key:
                raise KeyMismatchError(
                    f"the server's log key is {params.log_key}, not the log key you gave "
                    f"({given}): this server does not run the log you expect"
                )
            state = {**state, "log_key": params.log_key, "vrf_key": params.vrf_key}
        elif given is not None and given != state["log_key"]:
            raise KeyMismatchError(
                f"this device pinned the log key {state['log_key']} for {self.server}; the "
                f"log key given now is {given}. A log's key never changes: if the operator "
                "started a new log, every key must be checked again"
            )
        policy = self.settings.policy()
        if policy is not None:
            state["witnesses"] = [w.vkey for w in policy.witnesses]
            state["quorum"] = policy.threshold
        try:
            key = parse_vkey(str(state["log_key"]))
            vrf_key = bytes.fromhex(str(state["vrf_key"]))
            witnesses = tuple(parse_witness_vkey(str(v)) for v in state.get("witnesses", []))
            trusted = TrustedLog(
                key.name, key, WitnessPolicy(witnesses, int(state.get("quorum", 0)))
            )
        except (MalformedError, ValueError, TypeError) as exc:
            if "log_key" in self._state():
                raise DamagedProfile(
                    f"{self.profile.dir}: the pinned log parameters are unreadable ({exc})"
                ) from None
            raise MalformedError(f"server answer: unusable log parameters ({exc})") from None
        if len(vrf_key) != 32:
            raise MalformedError("server answer: the log's VRF key is not 32 bytes")
        if state != self._state():
            self.profile.save_key_log(self.server, state)
        self._trusted = (trusted, vrf_key)
        return self._trusted

    # -- the newest checkpoint this device accepted ------------------------------------------
    def checkpoint(self) -> VerifiedCheckpoint | None:
        """The newest checkpoint this device accepted (re-opened: the profile is no proof)."""
        note = self._state().get("checkpoint")
        if not isinstance(note, str):
            return None
        log, _vrf = self.trusted()
        try:
            return open_checkpoint(note.encode("utf-8"), log)
        except MalformedError as exc:
            raise DamagedProfile(f"{self.profile.dir}: the stored checkpoint is damaged") from exc

    def since(self) -> int | None:
        stored = self._state().get("checkpoint")
        if not isinstance(stored, str):
            return None
        return Checkpoint.parse(stored.split("\n\n")[0] + "\n").size

    def _previous(self) -> Checkpoint | None:
        held = self.checkpoint()
        return None if held is None else held.checkpoint

    def _keep(self, verified: VerifiedCheckpoint) -> None:
        """Keep `verified` as the newest accepted, if it is newer (it extends the one held)."""
        held = self.since()
        if held is None or verified.checkpoint.size > held:
            self._save(checkpoint=verified.note.decode("utf-8"))

    def accept_head(self, head: LogHeadRow) -> VerifiedCheckpoint:
        """Open a head and check it extends the checkpoint held; keep it. Forks are
        IntegrityError, rollbacks RollbackError, missing cosignatures SignatureError."""
        log, _vrf = self.trusted()
        verified = open_checkpoint(head.checkpoint, log)
        check_extension(self._previous(), verified.checkpoint, head.consistency)
        self._keep(verified)
        return verified

    def refresh(self) -> VerifiedCheckpoint:
        """Move to the log's newest checkpoint (`GET /log/head`)."""
        self.trusted()
        return self.accept_head(self.api.log_head(self.since()))

    # -- records ------------------------------------------------------------------------------
    def check_record(
        self,
        head: LogHeadRow | None,
        proof: LogProofRow | None,
        namespace: Namespace,
        name: str,
        record: bytes,
        *,
        first: bool = True,
    ) -> Lookup:
        """The checks of format 17.6 on one record a lookup returned; the checkpoint is kept
        only when all passed. `first` False: a further record proved against the head whose
        extension was checked already (an organisation's later epochs)."""
        what = f"{'the organisation ' if namespace == Namespace.ORGANISATION else ''}{name}"
        if head is None:
            raise IntegrityError(f"the server's answer for {what} carries no log checkpoint")
        if proof is None or proof.label_proof is None:
            raise IntegrityError(
                f"the keys the server shows for {what} are not in the key transparency log: "
                "the server may be showing this device keys it shows nobody else"
            )
        log, vrf_key = self.trusted()
        previous = self._previous()
        if not first and previous is not None:
            head = LogHeadRow(head.checkpoint, [])
        looked = verify_lookup(
            log=log,
            vrf_key=vrf_key,
            previous=previous,
            checkpoint=head.checkpoint,
            consistency=head.consistency,
            namespace=namespace,
            name=name,
            label_proof=proof.label_proof,
            record=record,
            index=proof.index,
            inclusion=proof.inclusion,
        )
        self._keep(looked.checkpoint)
        return looked

    # -- monitoring ---------------------------------------------------------------------------
    def read_entries(self, frontier: Frontier, upto: VerifiedCheckpoint) -> list[LoggedEntry]:
        """The entries after `frontier` up to the checkpoint `upto`, read from entry bundles
        and appended to `frontier`; all of them together must give the checkpoint's root
        (IntegrityError otherwise), so no entry is believed before the whole read checks."""
        size = upto.checkpoint.size
        if frontier.size > size:
            raise DamagedProfile(f"{self.profile.dir}: the log's audit is ahead of its checkpoint")
        read: list[LoggedEntry] = []
        while frontier.size < size:
            bundle = frontier.size // TILE_WIDTH
            width = min(TILE_WIDTH, size - bundle * TILE_WIDTH)
            entries = decode_entry_bundle(self.api.log_tile(Tile(None, bundle, width).path), width)
            for entry in entries[frontier.size - bundle * TILE_WIDTH :]:
                read.append(LoggedEntry(frontier.size, entry))
                frontier.append(entry)
        if frontier.root() != upto.checkpoint.root:
            raise IntegrityError(
                f"the log's entries up to {size} do not match its signed checkpoint: the "
                "server serves entries other than the ones the log signed"
            )
        return read

    def audit(self, watched: Mapping[bytes, Watched]) -> Audit:
        """Self-monitoring: read every entry added since the last audit (up to the newest
        checkpoint) and check each entry under a watched label: an identity or organisation
        entry whose record this device does not know as its own (or its organisation's) is
        IntegrityError naming the entry. The audit's progress is kept only when all passed."""
        held = self.refresh()
        state = self._state()
        frontier = Frontier.from_json(state.get("audit"))
        start = frontier.size
        found: list[tuple[int, str, LogEntry]] = []
        for item in self.read_entries(frontier, held):
            entry = LogEntry.decode(item.entry)
            mine = watched.get(entry.label or b"")
            if mine is None or entry.kind not in (EntryKind.IDENTITY, EntryKind.ORGANISATION):
                continue
            if entry.digest not in mine.records:
                raise IntegrityError(
                    f"the log's entry {item.index} gives {mine.name} a key "
                    f"({'key version' if entry.kind == EntryKind.IDENTITY else 'epoch'} "
                    f"{entry.version}) that {mine.maker} did not make: someone (the server's "
                    "operator, or whoever controls it) published other keys under this name"
                )
            found.append((item.index, mine.name, entry))
        self._save(audit=frontier.to_json())
        return Audit(start, frontier.size, held, found)

    def history(self, label: bytes) -> list[tuple[int, LogEntry]]:
        """Every entry the log holds under `label`, oldest first, read from its entry bundles
        and checked against the newest checkpoint this device accepted."""
        held = self.checkpoint() or self.refresh()
        return [
            (item.index, entry)
            for item in self.read_entries(Frontier(), held)
            if (entry := LogEntry.decode(item.entry)).label == label
        ]


@dataclass(frozen=True)
class Watched:
    """A label this device monitors: whose it is, who makes its records, and the hashes
    (`vault.logentry.record_digest`) of the records it knows to be genuine."""

    name: str
    maker: str
    records: frozenset[bytes]


@dataclass(frozen=True)
class Audit:
    """What an audit read: entries [start, end) of the log, up to `checkpoint`, and the
    entries it found under a watched label (index, whose, entry), all genuine."""

    start: int
    end: int
    checkpoint: VerifiedCheckpoint
    found: list[tuple[int, str, LogEntry]]
