"""A group's public news page, read and checked without an account (format section 19.5).

The trust anchor is the group fingerprint the reader has from elsewhere (a letter, the village
newsletter, an earlier visit): the key chain the server sends must have it. Then the roster
(14.4) from the writers' memberships, the group's shape (19.1), and every post's revisions
(`vault.messagelog.verify_public_post`): each signed by someone the chain names as editor or
admin in that epoch, each naming the revision before. Identity records come from the server
and are taken only as far as the signed records name them: an author's key must be the one its
membership (signed by an admin) or the chain record names.

What this cannot see: posts the server leaves off the page, and (section 19.5) an edit by an
editor removed since, as long as it is in an epoch not older than the revision before.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from vault.content import Post
from vault.errors import KeyMismatchError, MalformedError
from vault.identity import Identity
from vault.keys import normalise_fingerprint
from vault.messagelog import Verified, verify_public_post
from vault.orgchain import Roster, verify_chain, verify_roster

from .errors import ClientError
from .transport import Api, unb64
from .typed import typed_org_name


@dataclass(frozen=True)
class PublicPost:
    revisions: list[Verified]
    authors: list[str]  # username of each revision's signer
    deleted: bool

    @property
    def latest(self) -> Post | None:
        """The latest revision's body (None if the post was deleted)."""
        if self.deleted:
            return None
        return Post.decode(self.revisions[-1].message.body)


def _blobs(value: object, what: str) -> list[bytes]:
    if not isinstance(value, list):
        raise MalformedError(f"server answer: {what} missing")
    return [unb64(v, what) for v in value]


def read_public_posts(server: str, name: str, fingerprint: str) -> list[PublicPost]:
    """The group's public posts, newest first, each checked against `fingerprint`."""
    name = typed_org_name(name)
    try:
        expected = normalise_fingerprint(fingerprint)
    except MalformedError as exc:
        raise ClientError(str(exc)) from None
    api = Api(server)
    try:
        answer = api.call("GET", f"/public/groups/{name}")
    finally:
        api.close()
    if not isinstance(answer, dict):
        raise MalformedError("server answer: not a public group page")
    people: dict[bytes, Identity] = {}
    for data in _blobs(answer.get("identities"), "identity"):
        identity = Identity.decode(data)  # its self-signature checked
        people[identity.user_id] = identity

    def identity_of(user_id: bytes) -> Identity:
        found = people.get(user_id)
        if found is None:
            raise KeyMismatchError(f"the server sent no keys for {user_id.hex()[:8]}")
        return found

    chain = verify_chain(_blobs(answer.get("records"), "record"), author_of=identity_of, name=name)
    if not hmac.compare_digest(chain.fingerprint, expected):
        raise KeyMismatchError(
            f"group {name}: the server shows keys with fingerprint {chain.fingerprint}, not the "
            "one you trust; do not believe these posts"
        )
    roster = verify_roster(chain, _blobs(answer.get("memberships"), "membership"),
                           identity_of=identity_of)  # fmt: skip
    posts_value = answer.get("posts")
    if not isinstance(posts_value, list):
        raise MalformedError("server answer: posts missing")
    out = []
    for item in posts_value:
        revisions = verify_public_post(
            _blobs(item, "post revision"), roster=roster, identity_of=identity_of
        )
        for v in revisions:
            _check_named_key(roster, v)
        out.append(
            PublicPost(
                revisions,
                [identity_of(v.message.sender_id).username for v in revisions],
                revisions[-1].message.body == b"" and len(revisions) > 1,
            )
        )
    return sorted(out, key=lambda p: p.revisions[0].message.sent_at, reverse=True)


def _check_named_key(roster: Roster, verified: Verified) -> None:
    """The author's key is one the signed records name for them in that epoch: their
    membership (signed by an admin) or the epoch's record (as its author). Identity records
    come from the server; without this, it could pair an editor's id with keys of its own."""
    message = verified.message
    record = roster.chain.epoch_keys(message.epoch)
    named = {
        m.member_key_id
        for user, m in roster.members.get(message.epoch, {}).items()
        if user == message.sender_id
    } | ({record.author_key_id} if record.author_id == message.sender_id else set())
    if message.sender_key_id not in named:
        raise KeyMismatchError(
            f"public post: revision {verified.position} is signed with keys the group's signed "
            "records do not name for its author"
        )
