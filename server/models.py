"""Database tables and API schemas, one family per resource (Base / Create / Public / table).

Tables hold plain types (bytes for the opaque structures of docs/format.md); API schemas carry
the validation of docs/api.md: ids are 32 lowercase hex digits, binary values are strict
standard base64 with padding and a bounded size, integers are strict (no "5", no true).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    PlainSerializer,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic import (
    Field as PydanticField,
)
from sqlalchemy import BigInteger, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from vault.kinds import GrantKind, OrgKind, Rights, Role

KIB = 1 << 10
MIB = 1 << 20

ID_PATTERN = r"^[0-9a-f]{32}$"
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
HEX_HASH_PATTERN = r"^[0-9a-f]{64}$"
# SQL integers are signed 64-bit; the u64 fields of the format are bounded to fit.
MAX_INT = (1 << 63) - 1

MAX_IDENTITY_BYTES = 1 * KIB
MAX_BUNDLE_BYTES = 1 * KIB
MAX_HEADER_BYTES = 80 * KIB
MAX_INDEX_BYTES = 16 * MIB
MAX_GRANT_BYTES = 1 * KIB
MAX_GRANTS_PER_REQUEST = 10_000
AUTH_KEY_BYTES = 32
SALT_BYTES = 16


def _integer(value: Any) -> Any:
    # A Literal of integers alone would also take true and 1.0 for 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be an integer")
    return value


# The numbers the API takes for the enums of vault.kinds: Literals of the members, so a request
# parses to the member (`GrantKind.DOSSIER`, equal to 1) and the JSON schema lists the numbers.
# tests/server/test_kinds.py checks that each takes every member of its enum and nothing else.
GrantKindNumber = Annotated[
    Literal[GrantKind.DOSSIER, GrantKind.DOCUMENT], BeforeValidator(_integer)
]
RightsNumber = Annotated[Literal[Rights.READ, Rights.WRITE], BeforeValidator(_integer)]
OrgKindNumber = Annotated[
    Literal[
        OrgKind.MUNICIPALITY,
        OrgKind.INSTITUTION,
        OrgKind.CONTRACTOR,
        OrgKind.ENGINEERING,
        OrgKind.GROUP,
        OrgKind.CONVERSATION,
    ],
    BeforeValidator(_integer),
]
# EDITOR only in a group (format section 19.1): checked by the routes, which know the kind.
RoleNumber = Annotated[Literal[Role.MEMBER, Role.ADMIN, Role.EDITOR], BeforeValidator(_integer)]


# -- field types -------------------------------------------------------------------------------
def _b64_decode(value: Any) -> Any:
    if isinstance(value, bytes):  # built in Python (from the database), not from JSON
        return value
    if not isinstance(value, str):
        raise ValueError("must be a base64 string")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ValueError("must be standard base64 with padding") from None


def _b64_encode(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


# bytes carried in JSON as standard base64 with padding; sizes are bounded per field below.
B64 = Annotated[
    bytes,
    BeforeValidator(_b64_decode),
    PlainSerializer(_b64_encode, return_type=str),
    WithJsonSchema({"type": "string", "format": "byte", "contentEncoding": "base64"}),
]


def _no_control_chars(value: str) -> str:
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        raise ValueError("must not contain control characters")
    return value


Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Username = Annotated[str, StringConstraints(pattern=USERNAME_PATTERN)]
HexHash = Annotated[str, StringConstraints(pattern=HEX_HASH_PATTERN)]
DisplayName = Annotated[str, StringConstraints(max_length=256), AfterValidator(_no_control_chars)]
DeviceTokenText = Annotated[str, StringConstraints(max_length=256)]
Time = Annotated[StrictInt, PydanticField(ge=0, le=MAX_INT)]
Counter = Annotated[StrictInt, PydanticField(ge=1, le=MAX_INT)]

IdentityBytes = Annotated[B64, PydanticField(min_length=1, max_length=MAX_IDENTITY_BYTES)]
BundleBytes = Annotated[B64, PydanticField(min_length=1, max_length=MAX_BUNDLE_BYTES)]
AuthKey = Annotated[B64, PydanticField(min_length=AUTH_KEY_BYTES, max_length=AUTH_KEY_BYTES)]
SaltBytes = Annotated[B64, PydanticField(min_length=SALT_BYTES, max_length=SALT_BYTES)]
HeaderBytes = Annotated[B64, PydanticField(min_length=1, max_length=MAX_HEADER_BYTES)]
IndexBytes = Annotated[B64, PydanticField(min_length=1, max_length=MAX_INDEX_BYTES)]
GrantBytes = Annotated[B64, PydanticField(min_length=1, max_length=MAX_GRANT_BYTES)]
Blob = Annotated[bytes, PlainSerializer(_b64_encode, return_type=str)]  # output only


def _big(**kwargs: Any) -> Any:
    return Field(sa_column=Column(BigInteger, nullable=False, **kwargs))


def _binary(name: str | None = None) -> Any:
    if name is None:
        return Field(sa_column=Column(LargeBinary, nullable=False))
    return Field(sa_column=Column(name, LargeBinary, nullable=False))


# -- KDF parameters ----------------------------------------------------------------------------
class KdfParams(SQLModel):
    """The KdfParams fields of format section 2, as JSON. The client enforces the policy."""

    algorithm: Literal["argon2id"]
    memory_kib: Annotated[StrictInt, PydanticField(ge=1, le=0xFFFF_FFFF)]
    iterations: Annotated[StrictInt, PydanticField(ge=1, le=0xFFFF_FFFF)]
    parallelism: Annotated[StrictInt, PydanticField(ge=1, le=0xFF)]
    salt: SaltBytes


# -- users -------------------------------------------------------------------------------------
class UserBase(SQLModel):
    user_id: str = Field(primary_key=True, max_length=32)
    username: str = Field(unique=True, index=True, max_length=64)
    display_name: str = Field(max_length=256)


class User(UserBase, table=True):
    __tablename__ = "users"

    identity: bytes = _binary()
    kdf_memory_kib: int = _big()
    kdf_iterations: int = _big()
    kdf_parallelism: int
    kdf_salt: bytes = _binary()
    passphrase_bundle: bytes = _binary()
    recovery_bundle: bytes = _binary()
    auth_hash: str
    recovery_auth_hash: str
    created_at: int = _big()

    def kdf(self) -> KdfParams:
        return KdfParams(
            algorithm="argon2id",
            memory_kib=self.kdf_memory_kib,
            iterations=self.kdf_iterations,
            parallelism=self.kdf_parallelism,
            salt=self.kdf_salt,
        )

    def set_kdf(self, kdf: KdfParams) -> None:
        self.kdf_memory_kib = kdf.memory_kib
        self.kdf_iterations = kdf.iterations
        self.kdf_parallelism = kdf.parallelism
        self.kdf_salt = kdf.salt


class UserCreate(SQLModel):
    user_id: Id
    username: Username
    display_name: DisplayName
    identity: IdentityBytes
    kdf: KdfParams
    passphrase_bundle: BundleBytes
    recovery_bundle: BundleBytes
    auth_key: AuthKey
    recovery_auth_key: AuthKey


class UserPublic(SQLModel):
    user_id: str
    username: str
    display_name: str
    identity: Blob

    @classmethod
    def of(cls, user: User) -> UserPublic:
        return cls(
            user_id=user.user_id,
            username=user.username,
            display_name=user.display_name,
            identity=user.identity,
        )


# -- authentication ----------------------------------------------------------------------------
class AuthSession(SQLModel, table=True):
    __tablename__ = "auth_sessions"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="users.user_id", index=True)
    expires_at: int = _big(index=True)
    created_at: int = _big()


class RateCounter(SQLModel, table=True):
    """A fixed-window failure counter ("account:<name>" or "address:<ip>")."""

    __tablename__ = "rate_counters"

    key: str = Field(primary_key=True, max_length=200)
    window_start: int = _big(index=True)
    count: int


class DeviceToken(SQLModel, table=True):
    """A device that logged in to this account before (OWASP's "device cookie"), stored as the
    SHA-256 of the token the device holds. Replaced at each login with it (server.ratelimit)."""

    __tablename__ = "device_tokens"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="users.user_id", index=True)
    expires_at: int = _big(index=True)
    created_at: int = _big()


class LoginBackoff(SQLModel, table=True):
    """Consecutive failures of one account from one address ("pair:<name> <address>") or with
    one device token ("device:<token hash>"), and when the next attempt may come."""

    __tablename__ = "login_backoff"

    key: str = Field(primary_key=True, max_length=200)
    failures: int
    last_failure_at: int = _big(index=True)
    next_attempt_at: int = _big()


class PreloginRequest(SQLModel):
    username: Username


class PreloginResponse(SQLModel):
    kdf: KdfParams


class WithDeviceToken(SQLModel):
    # The device token an earlier login handed this device: an attempt with a valid one is held
    # back only by failures made with it. Any other value counts as no token.
    device_token: DeviceTokenText | None = None


class LoginRequest(WithDeviceToken):
    username: Username
    auth_key: AuthKey


class LoginResponse(SQLModel):
    token: str
    expires_at: int
    user: UserPublic
    passphrase_bundle: Blob
    device_token: str  # for this device's next login; the one it presented is used up


class RecoveryRequest(WithDeviceToken):
    username: Username
    recovery_auth_key: AuthKey


class RecoveryResponse(SQLModel):
    recovery_bundle: Blob
    user: UserPublic


class NewPassphrase(SQLModel):
    kdf: KdfParams
    passphrase_bundle: BundleBytes
    auth_key: AuthKey


class PassphraseChange(NewPassphrase, WithDeviceToken):
    # Proof of the current passphrase: a session token alone must not replace the login key.
    current_auth_key: AuthKey


class ResetPassphraseRequest(NewPassphrase, WithDeviceToken):
    username: Username
    recovery_auth_key: AuthKey


# -- dossiers and grants -----------------------------------------------------------------------
class Dossier(SQLModel, table=True):
    __tablename__ = "dossiers"

    dossier_id: str = Field(primary_key=True, max_length=32)
    owner_id: str = Field(foreign_key="users.user_id", index=True)
    index_data: bytes = _binary("index")
    index_counter: int = _big()
    created_at: int = _big()


class GrantBase(SQLModel):
    grant_id: str = Field(primary_key=True, max_length=32)
    kind: int
    document_id: str | None = Field(default=None, index=True, max_length=32)
    number: int = _big()
    # A user or an organisation (organisations.org_id): no foreign key to either table.
    recipient_id: str = Field(index=True)
    rights: int
    expires_at: int = _big()


class Grant(GrantBase, table=True):
    __tablename__ = "grants"

    dossier_id: str = Field(foreign_key="dossiers.dossier_id", index=True)
    granter_id: str = Field(foreign_key="users.user_id")
    grant_data: bytes = _binary("grant")
    created_at: int = _big(index=True)

    @classmethod
    def of(cls, g: GrantCreate, dossier_id: str, granter_id: str, now: int) -> Grant:
        """The row for a `grant_in` filed by `granter_id` (who uploaded it) at `now`."""
        return cls(
            grant_id=g.grant_id,
            dossier_id=dossier_id,
            kind=g.kind,
            document_id=g.document_id,
            number=g.number,
            recipient_id=g.recipient_id,
            granter_id=granter_id,
            rights=g.rights,
            expires_at=g.expires_at,
            grant_data=g.grant,
            created_at=now,
        )


class GrantCreate(SQLModel):
    """`grant_in`: the signed grant plus the fields the server uses for access control."""

    grant: GrantBytes
    grant_id: Id
    kind: GrantKindNumber
    document_id: Id | None = None
    number: Counter
    recipient_id: Id
    rights: RightsNumber
    expires_at: Time


class GrantPublic(SQLModel):
    """`grant_out` = `grant_in` + {dossier_id, granter_id, created_at}."""

    grant: Blob
    grant_id: str
    kind: int
    document_id: str | None
    number: int
    recipient_id: str
    rights: int
    expires_at: int
    dossier_id: str
    granter_id: str
    created_at: int

    @classmethod
    def of(cls, grant: Grant) -> GrantPublic:
        return cls(
            grant=grant.grant_data,
            grant_id=grant.grant_id,
            kind=grant.kind,
            document_id=grant.document_id,
            number=grant.number,
            recipient_id=grant.recipient_id,
            rights=grant.rights,
            expires_at=grant.expires_at,
            dossier_id=grant.dossier_id,
            granter_id=grant.granter_id,
            created_at=grant.created_at,
        )


Grants = Annotated[list[GrantCreate], PydanticField(max_length=MAX_GRANTS_PER_REQUEST)]


class GrantsCreate(SQLModel):
    grants: Grants
    # The grants re-wrap a new epoch's key for the owner and those who hold the dossier already
    # (a key rotation): checked, and not logged as shares (server/sharing.py).
    rotation: bool = False


class DossierCreate(SQLModel):
    dossier_id: Id
    index: IndexBytes
    grants: Grants
    # Not in docs/api.md: the first index has counter 1 (format section 9); a client may say so.
    counter: Counter = 1


class DossierPublic(SQLModel):
    dossier_id: str
    owner: UserPublic
    index: Blob
    created_at: int

    @classmethod
    def of(cls, dossier: Dossier, owner: User) -> DossierPublic:
        return cls(
            dossier_id=dossier.dossier_id,
            owner=UserPublic.of(owner),
            index=dossier.index_data,
            created_at=dossier.created_at,
        )


class IndexUpdate(SQLModel):
    index: IndexBytes
    counter: Counter


# -- documents, versions and uploads -----------------------------------------------------------
class Document(SQLModel, table=True):
    __tablename__ = "documents"

    document_id: str = Field(primary_key=True, max_length=32)
    dossier_id: str = Field(foreign_key="dossiers.dossier_id", index=True)
    created_by: str = Field(foreign_key="users.user_id")
    created_at: int = _big()


class VersionBase(SQLModel):
    document_id: str = Field(primary_key=True, foreign_key="documents.document_id")
    version: int = Field(primary_key=True, sa_type=BigInteger)
    payload_size: int = _big()
    payload_blake3: str = Field(max_length=64)


class Version(VersionBase, table=True):
    __tablename__ = "versions"

    dossier_id: str = Field(foreign_key="dossiers.dossier_id", index=True)
    header: bytes = _binary()
    blob_key: str = Field(index=True, max_length=64)
    author_id: str = Field(foreign_key="users.user_id")
    created_at: int = _big()


class VersionCreate(SQLModel):
    version: Counter
    header: HeaderBytes
    upload_id: Id
    payload_size: Annotated[StrictInt, PydanticField(ge=0, le=MAX_INT)]
    payload_blake3: HexHash
    # the version's evidence commitment (format section 20), appended to the log with the commit
    commitment: Annotated[B64, PydanticField(min_length=32, max_length=32)] | None = None


class VersionPublic(SQLModel):
    """`version_out`."""

    document_id: str
    dossier_id: str
    version: int
    header: Blob
    author_id: str
    payload_size: int
    payload_blake3: str
    created_at: int


class DocumentPublic(SQLModel):
    document_id: str
    versions: list[VersionPublic]


class DocumentDetail(DocumentPublic):
    dossier_id: str


class Upload(SQLModel, table=True):
    __tablename__ = "uploads"

    upload_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(foreign_key="users.user_id", index=True)
    blob_key: str = Field(unique=True, max_length=64)
    size: int = _big()
    blake3: str = Field(max_length=64)
    created_at: int = _big(index=True)
    committed: bool = False


class UploadPublic(SQLModel):
    upload_id: str
    size: int
    blake3: str


# -- uploads in parts (docs/api.md "Uploads in parts") ------------------------------------------
MIN_PART_SIZE = 5 * MIB  # S3's minimum for every part but the last
MAX_PART_SIZE = 256 * MIB
MAX_PARTS = 10_000  # S3's maximum


class PartUpload(SQLModel, table=True):
    """An upload in parts still receiving (or being completed). Completion moves it to
    `uploads` under the same id in one transaction; its declared size counts against the
    quota from creation. `updated_at` is its last activity, which cleanup goes by."""

    __tablename__ = "part_uploads"

    upload_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(foreign_key="users.user_id", index=True, max_length=32)
    blob_key: str = Field(unique=True, max_length=64)
    store_handle: str = Field(max_length=1024)  # the blob store's (an S3 multipart upload id)
    size: int = _big()
    part_size: int = _big()
    completing: bool = False  # a completion began: no more parts
    created_at: int = _big()
    updated_at: int = _big(index=True)


class UploadPart(SQLModel, table=True):
    """A part that arrived whole and checked (size and BLAKE3) and is stored."""

    __tablename__ = "upload_parts"

    upload_id: str = Field(
        primary_key=True, foreign_key="part_uploads.upload_id", ondelete="CASCADE", max_length=32
    )
    number: int = Field(primary_key=True)
    size: int = _big()
    blake3: str = Field(max_length=64)
    store_ref: str  # the blob store's name for this copy (S3: its parts' ETags)
    received_at: int = _big()


PartSize = Annotated[StrictInt, PydanticField(ge=MIN_PART_SIZE, le=MAX_PART_SIZE)]


class PartUploadCreate(SQLModel):
    size: Annotated[StrictInt, PydanticField(ge=1, le=MAX_INT)]
    part_size: PartSize


class PartUploadComplete(SQLModel):
    size: Annotated[StrictInt, PydanticField(ge=1, le=MAX_INT)]
    blake3: HexHash


class PartPublic(SQLModel):
    number: int
    size: int
    blake3: str


class PartUploadPublic(SQLModel):
    """`part_upload`: an upload in parts, or (`state` "complete") an upload ready to commit."""

    upload_id: str
    state: Literal["receiving", "completing", "complete"]
    size: int
    part_size: int | None  # null for an upload sent in one request
    parts: list[PartPublic]  # the parts that arrived, by number; empty once complete
    blake3: str | None  # once complete
    expires_at: int  # cleanup may remove it after this unless it is used (or committed)


# -- access log --------------------------------------------------------------------------------
class LogEntryBase(SQLModel):
    seq: int = Field(primary_key=True, sa_type=BigInteger)
    at: int = _big()
    actor_id: str = Field(max_length=32)
    action: str = Field(max_length=16)
    document_id: str | None = Field(default=None, max_length=32)
    version: int | None = Field(default=None, sa_type=BigInteger)
    subject_id: str | None = Field(default=None, max_length=32)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class LogEntry(LogEntryBase, table=True):
    __tablename__ = "log_entries"
    __table_args__ = (UniqueConstraint("dossier_id", "seq"),)

    dossier_id: str = Field(primary_key=True, foreign_key="dossiers.dossier_id")


class LogEntryPublic(SQLModel):
    seq: int
    at: int
    actor_id: str
    action: str
    document_id: str | None
    version: int | None
    subject_id: str | None
    prev_hash: str
    hash: str


# -- organisations, receipts (docs/api.md "Organisations") ------------------------------------
MAX_ORG_RECORD_BYTES = 2 * KIB
MAX_MEMBERSHIP_BYTES = 1 * KIB
MAX_RECEIPT_BYTES = 9 * MIB  # up to 100,000 entries of 88 bytes (format section 15)
MAX_MEMBERSHIPS_PER_REQUEST = 10_000
FINGERPRINT_PATTERN = r"^[0-9]{5}( [0-9]{5}){11}$"

OrgRecordBytes = Annotated[B64, PydanticField(min_length=1, max_length=MAX_ORG_RECORD_BYTES)]
MembershipBytes = Annotated[B64, PydanticField(min_length=1, max_length=MAX_MEMBERSHIP_BYTES)]
ReceiptBytes = Annotated[B64, PydanticField(min_length=1, max_length=MAX_RECEIPT_BYTES)]
Epoch = Annotated[StrictInt, PydanticField(ge=1, le=0xFFFF_FFFF)]


class Organisation(SQLModel, table=True):
    """An organisation in the directory. `verified_fingerprint` is what the operator recorded
    after checking it out of band; clients compare it with the keys they receive."""

    __tablename__ = "organisations"

    org_id: str = Field(primary_key=True, max_length=32)
    name: str = Field(unique=True, index=True, max_length=64)
    kind: int
    epoch: int = _big()
    verified_fingerprint: str | None = Field(default=None, max_length=71)
    verified_at: int | None = Field(default=None, sa_type=BigInteger)
    created_by: str = Field(foreign_key="users.user_id")
    created_at: int = _big()


class OrgKeyRecord(SQLModel, table=True):
    """One epoch's signed OrgKeys record (format section 14.1), opaque here."""

    __tablename__ = "org_key_records"

    org_id: str = Field(primary_key=True, foreign_key="organisations.org_id", max_length=32)
    epoch: int = Field(primary_key=True, sa_type=BigInteger)
    record: bytes = _binary()
    created_at: int = _big()


class OrgMember(SQLModel, table=True):
    """The current roster, for access control only: clients believe signed memberships."""

    __tablename__ = "org_members"

    org_id: str = Field(primary_key=True, foreign_key="organisations.org_id", max_length=32)
    user_id: str = Field(primary_key=True, foreign_key="users.user_id", index=True, max_length=32)
    role: int
    added_at: int = _big()


class OrgMembership(SQLModel, table=True):
    """A signed membership (format section 14.3): one epoch's keys sealed to one member."""

    __tablename__ = "org_memberships"

    org_id: str = Field(primary_key=True, foreign_key="organisations.org_id", max_length=32)
    epoch: int = Field(primary_key=True, sa_type=BigInteger)
    member_id: str = Field(primary_key=True, foreign_key="users.user_id", max_length=32)
    role: int
    membership: bytes = _binary()
    created_at: int = _big()


class Receipt(SQLModel, table=True):
    """A receipt an organisation signed for a dossier (format section 15), opaque here."""

    __tablename__ = "receipts"

    receipt_id: str = Field(primary_key=True, max_length=32)
    dossier_id: str = Field(foreign_key="dossiers.dossier_id", index=True, max_length=32)
    org_id: str = Field(foreign_key="organisations.org_id", index=True, max_length=32)
    submitted_by: str = Field(foreign_key="users.user_id", max_length=32)
    receipt: bytes = _binary()
    created_at: int = _big()


class MembershipIn(SQLModel):
    member_id: Id
    role: RoleNumber
    membership: MembershipBytes


CONVERSATION_PREFIX = "dm-"


class OrganisationCreate(SQLModel):
    org_id: Id
    name: Username
    kind: OrgKindNumber
    record: OrgRecordBytes
    membership: MembershipBytes  # the creator's own, as admin of epoch 1

    @model_validator(mode="after")
    def _conversation_names(self) -> OrganisationCreate:
        """A conversation is named `dm-` + its id, and nothing else starts with `dm-` (format
        section 19.1): a conversation's name says nothing about who talks in it."""
        if self.kind == OrgKind.CONVERSATION:
            if self.name != CONVERSATION_PREFIX + self.org_id:
                raise ValueError("a conversation is named dm- followed by its id")
        elif self.name.startswith(CONVERSATION_PREFIX):
            raise ValueError("only a conversation has a name starting with dm-")
        return self


class MemberAdd(MembershipIn):
    epoch: Epoch


class OrgGrantIn(GrantCreate):
    dossier_id: Id


class Rotation(SQLModel):
    """Remove a member: epoch n+1's record, the remaining members' memberships of it, and every
    grant to the organisation re-wrapped for it (format section 14.5)."""

    epoch: Epoch
    record: OrgRecordBytes
    removed_id: Id
    memberships: Annotated[
        list[MembershipIn], PydanticField(min_length=1, max_length=MAX_MEMBERSHIPS_PER_REQUEST)
    ]
    grants: Annotated[list[OrgGrantIn], PydanticField(max_length=100_000)]


class MembershipPublic(SQLModel):
    epoch: int
    member_id: str
    role: int
    membership: Blob


class OrganisationPublic(SQLModel):
    org_id: str
    name: str
    kind: int
    epoch: int
    verified_fingerprint: str | None
    verified_at: int | None
    created_at: int
    my_role: int | None  # the caller's role in the server's roster (a claim, like all of it)

    @classmethod
    def of(cls, org: Organisation, my_role: int | None) -> OrganisationPublic:
        return cls(
            org_id=org.org_id,
            name=org.name,
            kind=org.kind,
            epoch=org.epoch,
            verified_fingerprint=org.verified_fingerprint,
            verified_at=org.verified_at,
            created_at=org.created_at,
            my_role=my_role,
        )


class OrganisationDetail(OrganisationPublic):
    records: list[Blob]
    memberships: list[MembershipPublic]


class OrgGrantPublic(GrantPublic):
    owner_id: str  # the dossier's owner, as the server says

    @classmethod
    def of_grant(cls, grant: Grant, owner_id: str) -> OrgGrantPublic:
        return cls(**{**dict(GrantPublic.of(grant)), "owner_id": owner_id})


class OrgCase(SQLModel):
    """One dossier of an organisation's inbox (`GET /organisations/{id}/inbox`): the dossier as
    `GET /dossiers/{id}` gives it (its owner's record and signed index) and every current grant
    to the organisation in it, so that a member's client checks a whole inbox in one call."""

    dossier: DossierPublic
    grants: list[GrantPublic]


class ReceiptCreate(SQLModel):
    receipt_id: Id
    org_id: Id
    receipt: ReceiptBytes


class ReceiptPublic(SQLModel):
    receipt_id: str
    dossier_id: str
    org_id: str
    submitted_by: str
    receipt: Blob
    created_at: int

    @classmethod
    def of(cls, row: Receipt) -> ReceiptPublic:
        return cls(
            receipt_id=row.receipt_id,
            dossier_id=row.dossier_id,
            org_id=row.org_id,
            submitted_by=row.submitted_by,
            receipt=row.receipt,
            created_at=row.created_at,
        )


# -- group messages (docs/api.md "Group messages", format section 19.3) ------------------------
MAX_MESSAGES_PER_PAGE = 1000


class GroupMessage(SQLModel, table=True):
    """One message of a group's (or conversation's) chain, at its place in server order
    (`position`, from 1). The bytes are opaque but for the header the server parsed to keep the
    chain in one line: each message's `previous_hash` is the hash of the one before it."""

    __tablename__ = "group_messages"

    org_id: str = Field(primary_key=True, foreign_key="organisations.org_id", max_length=32)
    position: int = Field(primary_key=True, sa_type=BigInteger)
    sender_id: str = Field(foreign_key="users.user_id", max_length=32)
    message_hash: str = Field(max_length=64)
    message: bytes = _binary()
    created_at: int = _big()


class MessageCreate(SQLModel):
    # Its size is checked by the route (413, `server.groups.MAX_MESSAGE_BYTES`); the JSON body
    # limit bounds what is read before that.
    message: Annotated[B64, PydanticField(min_length=1)]


class MessagePublic(SQLModel):
    position: int
    sender_id: str
    message_hash: str
    message: Blob
    created_at: int

    @classmethod
    def of(cls, row: GroupMessage) -> MessagePublic:
        return cls(
            position=row.position,
            sender_id=row.sender_id,
            message_hash=row.message_hash,
            message=row.message,
            created_at=row.created_at,
        )


class MessagePosted(SQLModel):
    position: int
    message_hash: str
    created_at: int


class MessagePage(SQLModel):
    """Messages after a position, oldest first; `head` is the newest position (0: none)."""

    messages: list[MessagePublic]
    head: int


# -- archive keys (format section 19.2): earlier epochs' keys given to one member -------------
ARCHIVE_KEY_BYTES = 309  # the fixed size of a KLGA statement
MAX_ARCHIVE_KEYS = 4096  # per request: one per earlier epoch, for one or a few members


class GroupArchiveKey(SQLModel, table=True):
    """An admin's signed archive key (KLGA), opaque here: the member's client checks it."""

    __tablename__ = "group_archive_keys"

    org_id: str = Field(primary_key=True, foreign_key="organisations.org_id", max_length=32)
    member_id: str = Field(primary_key=True, foreign_key="users.user_id", max_length=32)
    epoch: int = Field(primary_key=True, sa_type=BigInteger)
    granted_in: int = _big()
    archive_key: bytes = _binary()
    created_at: int = _big()


class ArchiveKeyIn(SQLModel):
    member_id: Id
    epoch: Annotated[int, PydanticField(ge=1, le=2**32 - 1)]
    archive_key: Annotated[
        B64, PydanticField(min_length=ARCHIVE_KEY_BYTES, max_length=ARCHIVE_KEY_BYTES)
    ]


class ArchiveKeysIn(SQLModel):
    keys: Annotated[list[ArchiveKeyIn], PydanticField(min_length=1, max_length=MAX_ARCHIVE_KEYS)]


class ArchiveKeyPublic(SQLModel):
    epoch: int
    granted_in: int
    archive_key: Blob
