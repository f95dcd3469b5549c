"""The API routes, one module per resource, mounted under /api/v1 by `server.app`."""

from fastapi import APIRouter

from . import auth, documents, dossiers, organisations, uploads, users

api_router = APIRouter()
for module in (auth, users, dossiers, documents, uploads, organisations):
    api_router.include_router(module.router)
