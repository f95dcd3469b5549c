"""Operations endpoints, outside the API prefix: liveness, readiness and metrics.

- `GET /healthz`: the process is up and its event loop answers (touches nothing else), for a
  liveness probe: failing it means "restart me".
- `GET /readyz`: the database answers and the blob store is reachable and usable; 503
  otherwise, for a load balancer's readiness check: failing it means "send me no traffic".
  The answer names which check failed, never why (that goes to the log).
- `GET /metrics`: Prometheus text format (server.metrics). Restrict it at the reverse proxy.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from ..blobstore import BlobStore
from ..db import open_session
from ..metrics import Metrics

router = APIRouter(tags=["health"])
logger = logging.getLogger("kluis.server")

READY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "unavailable"]},
        "checks": {
            "type": "object",
            "additionalProperties": {"type": "string", "enum": ["ok", "unavailable"]},
        },
    },
}


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={
        200: {"content": {"application/json": {"schema": READY_SCHEMA}}},
        503: {
            "description": "A dependency is unavailable",
            "content": {"application/json": {"schema": READY_SCHEMA}},
        },
    },
)
def readyz(request: Request) -> JSONResponse:
    """Database and blob store reachable: 200, else 503 naming what is not."""
    checks = {"database": "ok", "blobstore": "ok"}
    try:
        with open_session(request.app.state.engine) as session:
            session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except Exception as exc:
        checks["database"] = "unavailable"
        logger.warning("readiness: the database does not answer (%s)", type(exc).__name__)
    blobs: BlobStore = request.app.state.blobs
    try:
        blobs.check()
    except Exception as exc:
        checks["blobstore"] = "unavailable"
        logger.warning("readiness: the blob store is unavailable: %s", exc)
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry: Metrics = request.app.state.metrics
    body, content_type = registry.exposition()
    return Response(body, media_type=content_type)
