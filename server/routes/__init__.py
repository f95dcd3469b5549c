"""The API routes, one module per resource, mounted under /api/v1 by `server.app`.

Each resource's router is mounted on the app itself rather than through one more router in
between: FastAPI matches a request level by level, and every level costs every request.
"""

from fastapi import APIRouter

from . import (
    archive_keys,
    auth,
    directory,
    documents,
    dossiers,
    groups,
    log,
    notifications,
    organisations,
    parts,
    public_posts,
    uploads,
    user_batches,
    users,
)

api_routers: list[APIRouter] = [
    module.router
    for module in (
        auth,
        user_batches,
        users,
        dossiers,
        documents,
        uploads,
        parts,
        organisations,
        groups,
        archive_keys,
        directory,
        log,
        notifications,
        public_posts,
    )
]
