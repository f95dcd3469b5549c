"""The endpoints of docs/api.md that the client uses, one method each, and what they answer.

`ServerApi` is the only part of the client that calls the server: the rest of `client_sdk`
never sees a path, a JSON body or a raw answer. Each answer's shape is checked here, once (a
list that is not a list, an object that is not an object, an id that is not an id: a
`MalformedError`, exit status 3), and comes out as small frozen row records. Checking the shape
is not trusting the content: every row is still the untrusted server's claim, believed only
after the checks of docs/format.md that the feature modules make on it.

A grant row stays a claim with its grant undecoded (`GrantRow.grant`): a malformed row that is
not addressed to me gives me nothing and must not stop anything, so it is decoded only where it
is used. The HTTP mechanics (errors, streaming, uploads in parts) are in `transport`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from vault.errors import MalformedError, RollbackError
from vault.grant import Grant
from vault.kdf import KdfParams
from vault.kinds import GrantKind

from .errors import Conflict
from .ids import check_id
from .transport import Api, b64, unb64

KDF_ALGORITHM = "argon2id"


# -- shape checks, once ---------------------------------------------------------------------------
MESSAGE_PAGE = 1000  # the server's largest page of messages (docs/api.md)


def _list(answer: Any, what: str) -> list[Any]:
    if not isinstance(answer, list):
        raise MalformedError(f"server answer: {what} is not a list")
    return answer


def _object(answer: Any, what: str) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise MalformedError(f"server answer: {what} is not an object")
    return answer


def _objects(answer: Any, what: str) -> list[dict[str, Any]]:
    """The objects of a list answer; anything else in it is dropped (it claims nothing)."""
    return [item for item in _list(answer, what) if isinstance(item, dict)]


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def _hashes(value: Any, what: str) -> list[bytes]:
    return [unb64(h, what) for h in _list(value, what)]


# -- the key transparency log (docs/api.md, "Key transparency") ------------------------------------
@dataclass(frozen=True)
class LogHeadRow:
    """`{head}`: the newest signed checkpoint and a consistency proof from the `since` sent."""

    checkpoint: bytes = field(repr=False)
    consistency: list[bytes] = field(repr=False)

    @classmethod
    def from_json(cls, value: Any) -> LogHeadRow:
        head = _object(value, "a log head")
        note = head.get("checkpoint")
        if not isinstance(note, str):
            raise MalformedError("server answer: a log head without a checkpoint")
        return cls(note.encode("utf-8"), _hashes(head.get("consistency"), "consistency proof"))


@dataclass(frozen=True)
class LogProofRow:
    """`{log_proof}`: where a record's entry is in the head's tree, and its name's label proof
    (absent for an operator key)."""

    index: int
    inclusion: list[bytes] = field(repr=False)
    label_proof: bytes | None = field(repr=False)

    @classmethod
    def from_json(cls, value: Any) -> LogProofRow | None:
        if value is None:
            return None
        proof = _object(value, "a log proof")
        index = proof.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise MalformedError("server answer: a log proof without an entry index")
        label_proof = proof.get("label_proof")
        return cls(
            index,
            _hashes(proof.get("inclusion"), "inclusion proof"),
            None if label_proof is None else unb64(label_proof, "label proof"),
        )


@dataclass(frozen=True)
class LogParametersRow:
    """`GET /log/parameters`: what the server says its log's parameters are (pinned on first
    use only, or compared with what the user gave)."""

    origin: str
    log_key: str
    vrf_key: str


@dataclass(frozen=True)
class LogLookupRow:
    """A batch lookup's answer: the head and, per username found, its record with its proof."""

    head: LogHeadRow
    users: dict[str, UserRow]


# -- rows -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UserRow:
    """`{user}`: an identity record, to be checked against the log and the pins of `trust`;
    a lookup also carries where the record is in the log (`log`, None: it is not) and the
    head that proof is against."""

    identity: bytes = field(repr=False)
    log: LogProofRow | None = None
    head: LogHeadRow | None = None

    @classmethod
    def from_json(cls, value: Any, what: str = "a user") -> UserRow:
        user = _object(value, what)
        head = user.get("head")
        return cls(
            unb64(user.get("identity"), "identity"),
            LogProofRow.from_json(user.get("log")),
            None if head is None else LogHeadRow.from_json(head),
        )


@dataclass(frozen=True)
class DossierRow:
    """`{dossier}`: its owner's record and its signed index, as the server claims them."""

    dossier_id: str
    owner: UserRow
    index: bytes = field(repr=False)
    created_at: int


@dataclass(frozen=True)
class VersionRecord:
    """`version_out`: a version as the server lists it, untrusted until its header is opened."""

    document_id: str
    version: int
    header: bytes = field(repr=False)
    author_id: str

    @classmethod
    def from_json(cls, value: Any) -> VersionRecord:
        try:
            return cls(
                document_id=check_id(str(value["document_id"]), "document id"),
                version=int(value["version"]),
                header=unb64(value["header"], "header"),
                author_id=check_id(str(value["author_id"]), "author id"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedError("server answer: malformed document version") from exc


@dataclass(frozen=True)
class GrantRow:
    """`grant_out` (with `owner_id` from an organisation's grants): claims until the grant is
    opened or its signature verified; `grant()` decodes it where it is used."""

    encoded: str | None = field(repr=False)
    kind: int | None
    document_id: str | None
    number: int | None
    recipient_id: str | None
    dossier_id: str | None = None
    owner_id: str | None = None

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> GrantRow:
        return cls(
            encoded=_str_or_none(value.get("grant")),
            kind=_int_or_none(value.get("kind")),
            document_id=_str_or_none(value.get("document_id")),
            number=_int_or_none(value.get("number")),
            recipient_id=_str_or_none(value.get("recipient_id")),
            dossier_id=_str_or_none(value.get("dossier_id")),
            owner_id=_str_or_none(value.get("owner_id")),
        )

    def grant(self) -> bytes:
        return unb64(self.encoded, "grant")


@dataclass(frozen=True)
class LoginAnswer:
    """A login's (or a recovery's) answer: the session, my published record, my key bundle."""

    user: UserRow
    token: str | None
    expires_at: int | None
    bundle: bytes | None = field(repr=False)  # the passphrase or recovery bundle asked for
    device_token: str | None

    def session(self) -> tuple[str, int]:
        if self.token is None or self.expires_at is None:
            raise MalformedError("server answer: a login answer without a session")
        return self.token, self.expires_at


@dataclass(frozen=True)
class OrganisationEntry:
    """One entry of the directory (`GET /organisations`): claims, checked only by fetching
    the organisation's signed records."""

    org_id: str
    name: str
    kind: int | None
    my_role: int | str | None


@dataclass(frozen=True)
class OrganisationDetail:
    """`{organisation_detail}`: the signed key records and memberships, and the fingerprint
    the server's operator recorded (if any)."""

    org_id: str
    records: list[bytes] = field(repr=False)
    memberships: list[bytes] = field(repr=False)
    verified_fingerprint: str | None
    record_proofs: list[LogProofRow | None] = field(default_factory=list, repr=False)
    head: LogHeadRow | None = None


@dataclass(frozen=True)
class ReceiptRow:
    """`{receipt}`: a receipt as filed, its signature unchecked; `receipt()` decodes it."""

    receipt_id: str
    org_id: str | None
    encoded: str | None = field(repr=False)

    def receipt(self) -> bytes:
        return unb64(self.encoded, "receipt")


@dataclass(frozen=True)
class DirectoryRow:
    """One business as the server lists it: a claim until its profile verified."""

    org_id: str
    profile: bytes

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> DirectoryRow:
        org_id, profile = value.get("org_id"), value.get("profile")
        if not isinstance(org_id, str) or not isinstance(profile, str):
            raise MalformedError("server answer: a directory entry has the wrong shape")
        return cls(check_id(org_id, "org_id"), unb64(profile, "profile"))


@dataclass(frozen=True)
class StoredUpload:
    """What the server says it stored of an upload: checked against what was sent."""

    upload_id: str
    size: object
    blake3: str


# -- what goes in -----------------------------------------------------------------------------
def grant_json(data: bytes) -> dict[str, Any]:
    """`grant_in` (and a rotation's re-wrap, which names its dossier): every column is read
    from the signed grant itself, so no column can say other than the grant does."""
    grant = Grant.decode(data)
    return {
        "grant": b64(data),
        "grant_id": grant.grant_id.hex(),
        "kind": int(grant.kind),
        "document_id": grant.document_id.hex() if grant.kind == GrantKind.DOCUMENT else None,
        "number": grant.number,
        "recipient_id": grant.recipient_id.hex(),
        "rights": int(grant.rights),
        "expires_at": grant.expires_at,
        "dossier_id": grant.dossier_id.hex(),
    }


def kdf_to_json(params: KdfParams) -> dict[str, Any]:
    return {
        "algorithm": KDF_ALGORITHM,
        "memory_kib": params.memory_kib,
        "iterations": params.iterations,
        "parallelism": params.parallelism,
        "salt": b64(params.salt),
    }


def kdf_from_json(value: Any) -> KdfParams:
    if not isinstance(value, dict) or value.get("algorithm") != KDF_ALGORITHM:
        raise MalformedError("server answer: unknown key-derivation parameters")
    try:
        return KdfParams(
            algorithm=1,
            memory_kib=int(value["memory_kib"]),
            iterations=int(value["iterations"]),
            parallelism=int(value["parallelism"]),
            salt=unb64(value["salt"], "salt"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedError("server answer: malformed key-derivation parameters") from exc


class ServerApi(Api):
    """docs/api.md, as the client uses it: one method per endpoint."""

    # -- accounts ---------------------------------------------------------------------------
    def prelogin(self, username: str) -> KdfParams:
        answer = self.call("POST", "/auth/prelogin", json={"username": username})
        return kdf_from_json(answer.get("kdf") if isinstance(answer, dict) else None)

    def register(self, body: dict[str, Any]) -> None:
        self.call("POST", "/users", json=body)

    def _login_answer(self, answer: Any, bundle_field: str | None) -> LoginAnswer:
        if not isinstance(answer, dict) or not isinstance(answer.get("user"), dict):
            raise MalformedError("server answer: malformed login answer")
        bundle = answer.get(bundle_field) if bundle_field else None
        expires_at = answer.get("expires_at")
        device_token = answer.get("device_token")
        return LoginAnswer(
            user=UserRow.from_json(answer["user"]),
            token=None if answer.get("token") is None else str(answer["token"]),
            expires_at=None if expires_at is None else int(expires_at),
            bundle=None if bundle is None else unb64(bundle, str(bundle_field)),
            device_token=device_token if isinstance(device_token, str) and device_token else None,
        )

    def login(self, username: str, auth_key: bytes, device_token: str | None) -> LoginAnswer:
        body = {"username": username, "auth_key": b64(auth_key)}
        body |= {"device_token": device_token} if device_token else {}
        return self._login_answer(self.call("POST", "/auth/login", json=body), "passphrase_bundle")

    def recovery(
        self, username: str, recovery_auth_key: bytes, device_token: str | None
    ) -> LoginAnswer:
        body = {"username": username, "recovery_auth_key": b64(recovery_auth_key)}
        body |= {"device_token": device_token} if device_token else {}
        return self._login_answer(self.call("POST", "/auth/recovery", json=body), "recovery_bundle")

    def reset_passphrase(self, body: dict[str, Any]) -> LoginAnswer:
        return self._login_answer(self.call("POST", "/auth/reset-passphrase", json=body), None)

    def change_passphrase(self, body: dict[str, Any]) -> None:
        self.call("PUT", "/me/passphrase", json=body)

    def logout(self) -> None:
        self.call("POST", "/auth/logout")

    def me(self) -> None:
        """Whether this session still holds (an error if not); the answer is not used."""
        self.call("GET", "/me")

    def user(self, username: str, since: int | None = None) -> UserRow:
        return UserRow.from_json(self._logged("GET", f"/users/{username}", since))

    def user_by_id(self, user_id: str, since: int | None = None) -> UserRow:
        return UserRow.from_json(self._logged("GET", f"/users/by-id/{user_id}", since))

    def _logged(self, method: str, path: str, since: int | None, body: Any = None) -> Any:
        """A call whose answer is proved against the log's newest checkpoint, from `since`
        (the size of the newest checkpoint this device accepted). A server whose log is now
        smaller than that (409 `log_behind`) rolled its log back: RollbackError."""
        try:
            if body is not None:
                return self.call(
                    method, path, json=body | ({} if since is None else {"since": since})
                )
            return self.call(method, path, params=_since(since))
        except Conflict as exc:
            if exc.code != "log_behind":
                raise
            raise RollbackError(
                f"the server's key transparency log now has fewer entries than the {since} "
                "this device saw: it was rolled back or replaced"
            ) from None

    # -- the key transparency log -----------------------------------------------------------------
    def log_parameters(self) -> LogParametersRow:
        answer = _object(json_loads(self.get_root("/log/parameters")), "the log's parameters")
        values = [answer.get(k) for k in ("origin", "log_key", "vrf_key")]
        if not all(isinstance(v, str) for v in values):
            raise MalformedError("server answer: malformed log parameters")
        return LogParametersRow(*(str(v) for v in values))

    def log_lookup(self, usernames: Sequence[str], since: int | None) -> LogLookupRow:
        """`POST /log/lookup`: many users' records, all proved against one head."""
        body = {"users": list(usernames)}
        answer = _object(self._logged("POST", "/log/lookup", since, body), "a batch lookup")
        users = {}
        for row in _objects(answer.get("users"), "users"):
            name = row.get("username")
            if isinstance(name, str):
                users[name] = UserRow(
                    unb64(row.get("identity"), "identity"), LogProofRow.from_json(row.get("log"))
                )
        return LogLookupRow(LogHeadRow.from_json(answer.get("head")), users)

    def log_head(self, since: int | None) -> LogHeadRow:
        return LogHeadRow.from_json(self._logged("GET", "/log/head", since))

    def log_checkpoint(self) -> bytes:
        """`GET /log/checkpoint`: the newest signed checkpoint, as the public sees it."""
        return self.get_root("/log/checkpoint")

    def log_tile(self, path: str) -> bytes:
        """A hash tile or entry bundle (`tile/...`, vault.tlog.Tile.path)."""
        return self.get_root(f"/log/{path}")

    def users_by_ids(self, user_ids: Sequence[str]) -> list[UserRow]:
        """The users among `user_ids` the server knows, in one request (at most 1,000)."""
        answer = self.call("POST", "/users/by-ids", json={"ids": list(user_ids)})
        return [UserRow.from_json(u) for u in _list(answer, "users")]

    # -- dossiers -----------------------------------------------------------------------------
    def create_dossier(self, dossier_id: str, index: bytes, grants: Sequence[bytes]) -> None:
        self.call(
            "POST",
            "/dossiers",
            json={
                "dossier_id": dossier_id,
                "index": b64(index),
                "grants": [_grant_in(g) for g in grants],
            },
        )

    def dossier_ids(self) -> list[str]:
        return [
            check_id(str(_object(d, "a dossier").get("dossier_id")), "dossier id")
            for d in _list(self.call("GET", "/dossiers"), "dossiers")
        ]

    def dossier(self, dossier_id: str) -> DossierRow:
        answer = self.call("GET", f"/dossiers/{dossier_id}")
        if not isinstance(answer, dict) or answer.get("dossier_id") != dossier_id:
            raise MalformedError("server answer: not the dossier that was asked for")
        try:
            created_at = int(answer.get("created_at", 0))
        except (TypeError, ValueError) as exc:
            raise MalformedError("server answer: malformed dossier") from exc
        return DossierRow(
            dossier_id=dossier_id,
            owner=UserRow.from_json(answer.get("owner")),
            index=unb64(answer.get("index"), "index"),
            created_at=created_at,
        )

    def put_index(self, dossier_id: str, index: bytes, counter: int) -> None:
        self.call(
            "PUT", f"/dossiers/{dossier_id}/index", json={"index": b64(index), "counter": counter}
        )

    def grants(self, dossier_id: str) -> list[GrantRow]:
        answer = self.call("GET", f"/dossiers/{dossier_id}/grants")
        return [GrantRow.from_json(g) for g in _objects(answer, "grants")]

    def post_grants(
        self, dossier_id: str, grants: Sequence[bytes], *, rotation: bool = False
    ) -> None:
        body: dict[str, Any] = {"grants": [_grant_in(g) for g in grants]}
        if rotation:  # a new epoch's key for those who hold the dossier: no new share
            body["rotation"] = True
        self.call("POST", f"/dossiers/{dossier_id}/grants", json=body)

    def delete_grants(
        self, dossier_id: str, recipient_id: str, document_id: str | None = None
    ) -> None:
        params = {"recipient_id": recipient_id}
        params |= {"document_id": document_id} if document_id is not None else {}
        self.call("DELETE", f"/dossiers/{dossier_id}/grants", params=params)

    def shared(self) -> list[GrantRow]:
        """Grants addressed to me; a row that is no object holds no grant (`GrantRow.grant`
        then says so): every row here is a share to be shown or refused, none is skipped."""
        return [
            GrantRow.from_json(row if isinstance(row, dict) else {})
            for row in _list(self.call("GET", "/shared"), "shared")
        ]

    def log(self, dossier_id: str) -> list[Any]:
        """The access log's entries as sent: the hash chain covers them as they are, so
        `accesslog.verify_log` parses them."""
        return _list(self.call("GET", f"/dossiers/{dossier_id}/log"), "log")

    # -- documents ------------------------------------------------------------------------------
    def listing(self, dossier_id: str) -> dict[str, list[VersionRecord]]:
        """{document id: its versions, oldest first} of `GET /dossiers/{id}/documents`."""
        answer = _list(self.call("GET", f"/dossiers/{dossier_id}/documents"), "documents")
        listing: dict[str, list[VersionRecord]] = {}
        for item in answer:
            if not isinstance(item, dict) or not isinstance(item.get("versions"), list):
                raise MalformedError("server answer: malformed document")
            document_id = check_id(str(item.get("document_id")), "document id")
            versions = [VersionRecord.from_json(v) for v in item["versions"]]
            if len(versions) > 1:  # most documents have one version: skip ten thousand sorts
                versions.sort(key=lambda v: v.version)
            _check_versions(document_id, versions)
            listing[document_id] = versions
        return listing

    def document(self, document_id: str) -> tuple[str, list[VersionRecord]]:
        """The dossier id and the versions, oldest first, of `GET /documents/{id}`."""
        answer = self.call("GET", f"/documents/{document_id}")
        if not isinstance(answer, dict) or answer.get("document_id") != document_id:
            raise MalformedError("server answer: not the document that was asked for")
        dossier_id = check_id(str(answer.get("dossier_id")), "dossier id")
        versions = sorted(
            (VersionRecord.from_json(v) for v in answer.get("versions") or []),
            key=lambda v: v.version,
        )
        _check_versions(document_id, versions)
        return dossier_id, versions

    def stored_upload(self, chunks: Iterable[bytes]) -> StoredUpload:
        """`POST /uploads`, streamed."""
        return _stored(self.upload(chunks))

    def post_version(
        self,
        dossier_id: str,
        document_id: str,
        *,
        version: int,
        header: bytes,
        upload_id: str,
        payload_size: int,
        payload_blake3: str,
        commitment: bytes | None = None,
    ) -> dict[str, Any]:
        """Commit a version (with its evidence commitment, format section 20); the answer."""
        body: dict[str, Any] = {
            "version": version,
            "header": b64(header),
            "upload_id": upload_id,
            "payload_size": payload_size,
            "payload_blake3": payload_blake3,
        }
        if commitment is not None:
            body["commitment"] = b64(commitment)
        answer = self.call(
            "POST", f"/dossiers/{dossier_id}/documents/{document_id}/versions", json=body
        )
        return answer if isinstance(answer, dict) else {}

    def version_evidence(self, document_id: str, version: int) -> Any:
        """`GET /documents/{id}/versions/{n}/evidence`: the commitment's proof (unchecked)."""
        return self.call("GET", f"/documents/{document_id}/versions/{version}/evidence")

    @staticmethod
    def payload_path(document_id: str, version: int) -> str:
        """Where `download` finds a version's payload."""
        return f"/documents/{document_id}/versions/{version}/payload"

    # -- receipts -------------------------------------------------------------------------------
    def receipts(self, dossier_id: str) -> list[ReceiptRow]:
        rows = _objects(self.call("GET", f"/dossiers/{dossier_id}/receipts"), "receipts")
        return [
            ReceiptRow(
                receipt_id=str(r.get("receipt_id", "")),
                org_id=_str_or_none(r.get("org_id")),
                encoded=_str_or_none(r.get("receipt")),
            )
            for r in rows
        ]

    def post_receipt(self, dossier_id: str, receipt_id: str, org_id: str, data: bytes) -> None:
        self.call(
            "POST",
            f"/dossiers/{dossier_id}/receipts",
            json={"receipt_id": receipt_id, "org_id": org_id, "receipt": b64(data)},
        )

    # -- organisations --------------------------------------------------------------------------
    def organisations(self) -> list[OrganisationEntry]:
        entries = []
        for item in _list(self.call("GET", "/organisations"), "organisations"):
            entry = _object(item, "an organisation")
            kind, role = entry.get("kind"), entry.get("my_role")
            entries.append(
                OrganisationEntry(
                    org_id=str(entry.get("org_id")),
                    name=str(entry.get("name")),
                    kind=_int_or_none(kind),
                    my_role=role if isinstance(role, int | str) else None,
                )
            )
        return entries

    def organisation(
        self, *, name: str | None, org_id: str | None, since: int | None = None
    ) -> OrganisationDetail:
        path = f"/organisations/by-name/{name}" if name is not None else f"/organisations/{org_id}"
        answer = self._logged("GET", path, since)
        detail = _object(answer, "an organisation")
        records = detail.get("records")
        memberships = detail.get("memberships")
        if not isinstance(records, list) or not isinstance(memberships, list):
            raise MalformedError("server answer: malformed organisation")
        operator = detail.get("verified_fingerprint")
        head = detail.get("head")
        return OrganisationDetail(
            org_id=str(detail.get("org_id", "")),
            records=[unb64(r, "organisation keys") for r in records],
            memberships=[
                unb64(m.get("membership") if isinstance(m, dict) else None, "membership")
                for m in memberships
            ],
            verified_fingerprint=None if operator is None else str(operator),
            record_proofs=[
                LogProofRow.from_json(p) for p in _list(detail.get("record_proofs", []), "proofs")
            ],
            head=None if head is None else LogHeadRow.from_json(head),
        )

    def create_organisation(
        self, org_id: str, name: str, kind: int, record: bytes, membership: bytes
    ) -> None:
        self.call(
            "POST",
            "/organisations",
            json={
                "org_id": org_id,
                "name": name,
                "kind": kind,
                "record": b64(record),
                "membership": b64(membership),
            },
        )

    def add_member(
        self, org_id: str, member_id: str, role: int, epoch: int, membership: bytes
    ) -> None:
        self.call(
            "POST",
            f"/organisations/{org_id}/members",
            json={
                "member_id": member_id,
                "role": role,
                "epoch": epoch,
                "membership": b64(membership),
            },
        )

    def rotate_organisation(
        self,
        org_id: str,
        *,
        epoch: int,
        record: bytes,
        removed_id: str,
        memberships: Sequence[tuple[str, int, bytes]],
        grants: Sequence[bytes],
    ) -> None:
        """`memberships`: (member id, role, signed membership) of every remaining member;
        `grants`: the re-wraps for the new epoch, each naming its dossier."""
        self.call(
            "POST",
            f"/organisations/{org_id}/rotate",
            json={
                "epoch": epoch,
                "record": b64(record),
                "removed_id": removed_id,
                "memberships": [
                    {"member_id": member_id, "role": role, "membership": b64(statement)}
                    for member_id, role, statement in memberships
                ],
                "grants": [grant_json(g) for g in grants],
            },
        )

    def organisation_grants(self, org_id: str) -> list[GrantRow]:
        answer = self.call("GET", f"/organisations/{org_id}/grants")
        return [GrantRow.from_json(r) for r in _objects(answer, "grants")]

    # -- group messages (docs/api.md "Group messages") -----------------------------------------
    def post_message(self, org_id: str, message: bytes) -> int:
        """Append a message on top of the chain; its position (409 `stale_head`: sign again)."""
        answer = _object(
            self.call("POST", f"/organisations/{org_id}/messages", json={"message": b64(message)}),
            "a posted message",
        )
        position = answer.get("position")
        if type(position) is not int:
            raise MalformedError("server answer: a posted message without its position")
        return position

    def messages(self, org_id: str, *, after: int, limit: int = MESSAGE_PAGE) -> list[bytes]:
        """The messages after position `after`, oldest first (their bytes only: the position
        and hash the server adds are claims the chain itself makes checkable)."""
        answer = _object(
            self.call(
                "GET",
                f"/organisations/{org_id}/messages",
                params={"after": after, "limit": limit},
            ),
            "a page of messages",
        )
        rows = answer.get("messages")
        if not isinstance(rows, list):
            raise MalformedError("server answer: malformed page of messages")
        return [unb64(r.get("message") if isinstance(r, dict) else None, "message") for r in rows]

    def give_archive_keys(self, org_id: str, keys: Sequence[tuple[str, int, bytes]]) -> None:
        """`keys`: (member id, earlier epoch, signed archive key) each (format 19.2)."""
        self.call(
            "POST",
            f"/organisations/{org_id}/archive-keys",
            json={
                "keys": [
                    {"member_id": member, "epoch": epoch, "archive_key": b64(data)}
                    for member, epoch, data in keys
                ]
            },
        )

    def archive_keys(self, org_id: str) -> list[bytes]:
        """My archive keys of the group (claims: each is checked before use)."""
        rows = _objects(self.call("GET", f"/organisations/{org_id}/archive-keys"), "archive keys")
        return [unb64(r.get("archive_key"), "archive key") for r in rows]

    def group_events(self, org_id: str, *, after: int) -> Iterator[str]:
        """Server-Sent Events of a group (docs/api.md "Live group events"): "message" when the
        chain grew, "removed" when I am no longer in its roster. A hint to read the chain,
        never a claim: what it says, `messages` checks."""
        return self.events(f"/organisations/{org_id}/events", {"after": after})

    # -- the business directory (docs/api.md "Business directory") ------------------------------
    def put_profile(self, org_id: str, profile: bytes) -> None:
        self.call("PUT", f"/organisations/{org_id}/profile", json={"profile": b64(profile)})

    def directory(self, query: dict[str, str]) -> list[DirectoryRow]:
        answer = self.call("GET", "/directory", params=query)
        return [DirectoryRow.from_json(r) for r in _objects(answer, "the directory")]

    # -- e-mail notifications (docs/api.md "Notifications") --------------------------------------
    def notify_choice(self) -> dict[str, Any]:
        return _object(self.call("GET", "/notify"), "the notification choice")

    def put_notify_choice(self, body: dict[str, Any]) -> dict[str, Any]:
        return _object(self.call("PUT", "/notify", json=body), "the notification choice")

    def delete_notify_choice(self) -> None:
        self.call("DELETE", "/notify")


def _since(since: int | None) -> dict[str, int] | None:
    """`?since=N`: the size of the newest checkpoint this device accepted."""
    return None if since is None else {"since": since}


def json_loads(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise MalformedError("server answer is not JSON") from exc


def _grant_in(data: bytes) -> dict[str, Any]:
    """`grant_in` of a dossier's own endpoints: the dossier is in the path."""
    fields = grant_json(data)
    del fields["dossier_id"]
    return fields


def _check_versions(document_id: str, versions: list[VersionRecord]) -> None:
    if not versions or any(v.document_id != document_id for v in versions):
        raise MalformedError("server answer: a document's versions do not match it")


def _stored(answer: dict[str, Any]) -> StoredUpload:
    return StoredUpload(
        upload_id=str(answer.get("upload_id")),
        size=answer.get("size"),
        blake3=str(answer.get("blake3", "")),
    )
