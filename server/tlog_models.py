"""Tables and API schemas of the key transparency log (docs/format.md section 17, docs/api.md
"Key transparency").

The log itself is three tables: `tlog_entries` (the LogEntry bytes, in order), `tlog_nodes`
(every complete subtree hash, from which roots, proofs and tiles are computed) and
`tlog_checkpoints` (each tree head the log signed, with the witnesses' cosignatures as they
arrive). `subject` ties an entry to what it logs (a user's key version, an organisation's
epoch, an operator key, a statement) so that a lookup finds its index; it never leaves the
server: tiles and checkpoints carry no names.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field as PydanticField
from pydantic import StrictInt
from sqlalchemy import BigInteger, Column, LargeBinary
from sqlmodel import Field, SQLModel

from .models import MAX_INT, Blob, OrganisationDetail, Username, UserPublic, _big, _binary

MAX_LOOKUP_NAMES = 1000


class TlogEntry(SQLModel, table=True):
    """Entry `index` of the log; `subject` is the server's own key for what it logs."""

    __tablename__ = "tlog_entries"

    index: int = Field(
        sa_column=Column("entry_index", BigInteger, primary_key=True, autoincrement=False)
    )
    entry: bytes = _binary()
    subject: str = Field(unique=True, max_length=80)
    created_at: int = _big()


class TlogNode(SQLModel, table=True):
    """The hash of the complete subtree (level, index) (vault.tlog `Node`)."""

    __tablename__ = "tlog_nodes"

    level: int = Field(primary_key=True)
    index: int = Field(
        sa_column=Column("node_index", BigInteger, primary_key=True, autoincrement=False)
    )
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class TlogCheckpoint(SQLModel, table=True):
    """The log's signed tree head of `size` entries; `note` gains witness cosignatures later."""

    __tablename__ = "tlog_checkpoints"

    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    note: bytes = _binary()
    created_at: int = _big()


class OperatorStatementRow(SQLModel, table=True):
    """An operator verification statement (format section 17.2) about an organisation."""

    __tablename__ = "operator_statements"

    subject: str = Field(primary_key=True, max_length=80)
    org_id: str = Field(foreign_key="organisations.org_id", index=True, max_length=32)
    statement: bytes = _binary()
    created_at: int = _big()


class WitnessState(SQLModel, table=True):
    """The tree size the log believes a witness (by verifier key) last cosigned."""

    __tablename__ = "tlog_witnesses"

    witness: str = Field(primary_key=True, max_length=300)
    size: int = _big()


# -- API schemas -----------------------------------------------------------------------------------
Since = Annotated[StrictInt, PydanticField(ge=0, le=MAX_INT)]


class LogProof(SQLModel):
    """Where one record is in the log: its entry's index and inclusion proof against the tree
    of `checkpoint_size` entries (the checkpoint sent alongside), and the label of its name
    with the VRF proof (absent for an operator key, whose entry has no label)."""

    index: int
    inclusion: list[Blob]
    label: Blob | None
    label_proof: Blob | None


class LogHead(SQLModel):
    """The newest checkpoint (a signed note, cosigned by the witnesses that answered) and a
    consistency proof to it from the size the caller named (`since`)."""

    checkpoint: str
    size: int
    consistency: list[Blob]


class LogParameters(SQLModel):
    """`GET /log/parameters`: the origin, the log's verifier key and the VRF public key (hex)."""

    origin: str
    log_key: str
    vrf_key: str


class RecordProof(SQLModel):
    """A record as published, with its place in the log."""

    record: Blob
    log: LogProof


class UserKeys(SQLModel):
    user_id: str
    username: str
    identity: Blob
    log: LogProof


class OrganisationKeys(SQLModel):
    org_id: str
    name: str
    records: list[RecordProof]  # every epoch's OrgKeys record, epoch 1 first
    statements: list[RecordProof]  # the operator's statements about it, oldest first


class UserLookup(UserPublic):
    """A user lookup's answer: the account, where its identity record is in the log (None: not
    logged, so no client may use its keys) and the checkpoint the proof is against."""

    log: LogProof | None
    head: LogHead


class OrganisationLookup(OrganisationDetail):
    """An organisation lookup's answer: `record_proofs[i]` places `records[i]` in the log (None:
    not logged), `statements` are the operator's, all against `head`."""

    record_proofs: list[LogProof | None]
    statements: list[RecordProof]
    head: LogHead


class LookupRequest(SQLModel):
    users: Annotated[list[Username], PydanticField(max_length=MAX_LOOKUP_NAMES)] = []
    organisations: Annotated[list[Username], PydanticField(max_length=MAX_LOOKUP_NAMES)] = []
    since: Since | None = None


class LookupAnswer(SQLModel):
    """Every name found, each proved against the one checkpoint in `head`; names not found are
    listed in `missing_users` / `missing_organisations` (a name without an account has no
    entry, and its absence is the server's word, as before)."""

    head: LogHead
    users: list[UserKeys]
    organisations: list[OrganisationKeys]
    operator_keys: list[RecordProof]
    missing_users: list[str]
    missing_organisations: list[str]
