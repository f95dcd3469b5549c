"""The numbered kinds the format and the API share: grant kinds and rights (docs/format.md
section 8), organisation kinds (sections 14.1, 19.1) and member roles (sections 14.3, 19.1).

Each is one byte in a signed structure and one integer in the JSON of docs/api.md, where the
server decides access by it and the clients by these enums; the server's API types are built
from them (server/models.py), so the two sides cannot drift apart. A member's name in lower case
("dossier", "write", "municipality", "admin") is how people see it. Nothing here is secret.
"""

from __future__ import annotations

import enum

__all__ = ["GrantKind", "OrgKind", "Rights", "Role"]


class GrantKind(enum.IntEnum):
    DOSSIER = 1  # the dossier key of one epoch; number = epoch
    DOCUMENT = 2  # the file key of one document version; number = version


class Rights(enum.IntEnum):
    READ = 1
    WRITE = 2  # read and write


class OrgKind(enum.IntEnum):
    MUNICIPALITY = 1
    INSTITUTION = 2
    CONTRACTOR = 3
    ENGINEERING = 4
    GROUP = 5  # a village group (section 19.1)
    CONVERSATION = 6  # two users' personal messages (section 19.1)


# The kinds `kluis org create` makes: groups and conversations are made by the group commands
# (section 19), never as an institution a resident could mistake them for.
INSTITUTION_KINDS = (
    OrgKind.MUNICIPALITY,
    OrgKind.INSTITUTION,
    OrgKind.CONTRACTOR,
    OrgKind.ENGINEERING,
)


class Role(enum.IntEnum):
    """A member's role in an organisation epoch (not a user's access to a dossier)."""

    MEMBER = 1
    ADMIN = 2
    EDITOR = 3  # groups only (section 19.1): writes posts and events
