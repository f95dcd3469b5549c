"""Many users' keys in one request (issue 19: groups of up to 1,000 members): what an admin's
client needs to seal a new epoch's keys to every remaining member, without one round trip per
member. Each answer is the same `UserLookup` as `GET /users/by-id/{id}` (with its place in the
key transparency log); clients check each record as they check one (client_sdk/directory.py).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field as PydanticField
from sqlmodel import SQLModel, col, select

from ..deps import CurrentUser, SessionDep
from ..models import Id, User
from ..tlog_models import UserLookup
from ..tlog_service import LogDep
from .router import resource_router

router = resource_router("users")

MAX_IDS = 1000


class UserIds(SQLModel):
    ids: Annotated[list[Id], PydanticField(min_length=1, max_length=MAX_IDS)]


@router.post("/users/by-ids")
def users_by_ids(
    body: UserIds, _caller: CurrentUser, session: SessionDep, log: LogDep
) -> list[UserLookup]:
    """The users among `ids` (unknown ids left out), in the order of their ids."""
    users = session.exec(
        select(User).where(col(User.user_id).in_(sorted(set(body.ids)))).order_by(col(User.user_id))
    ).all()
    return [log.user_lookup(session, user, None) for user in users]
