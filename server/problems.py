"""Errors as RFC 9457 problem details (`application/problem+json`), with the stable codes of
docs/api.md. Nothing a client sent and nothing about the server's internals is echoed back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

PROBLEM_TYPE = "https://kluis.nl/problems/"
MEDIA_TYPE = "application/problem+json"

logger = logging.getLogger("kluis.server")

CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
}


class ApiProblem(Exception):
    """Raise from anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})


def unauthorized(detail: str = "missing, invalid or expired credentials") -> ApiProblem:
    return ApiProblem(401, "unauthorized", detail, {"WWW-Authenticate": "Bearer"})


def not_found(detail: str = "no such resource") -> ApiProblem:
    return ApiProblem(404, "not_found", detail)


def forbidden(detail: str) -> ApiProblem:
    return ApiProblem(403, "forbidden", detail)


def conflict(detail: str, code: str = "conflict") -> ApiProblem:
    return ApiProblem(409, code, detail)


def invalid(detail: str) -> ApiProblem:
    return ApiProblem(422, "validation_error", detail)


def too_large(detail: str) -> ApiProblem:
    return ApiProblem(413, "payload_too_large", detail)


def quota_exceeded(quota: int) -> ApiProblem:
    return ApiProblem(
        413, "quota_exceeded", f"this upload would exceed your storage quota of {quota} bytes"
    )


def rate_limited(retry_after: int) -> ApiProblem:
    return ApiProblem(
        429,
        "rate_limited",
        f"too many failed attempts; try again in {retry_after} seconds",
        {"Retry-After": str(retry_after)},
    )


def problem_response(
    status: int, code: str, detail: str, headers: Mapping[str, str] | None = None
) -> Response:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body = {
        "type": PROBLEM_TYPE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    return JSONResponse(
        body, status_code=status, headers=dict(headers or {}), media_type=MEDIA_TYPE
    )


async def _api_problem(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    return problem_response(exc.status, exc.code, exc.detail, exc.headers)


def _describe(error: Mapping[str, Any]) -> str:
    # Location and message only: pydantic's "input" could hold a key the client sent.
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    return f"{where or 'body'}: {error.get('msg', 'invalid')}"


async def _validation(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    shown = "; ".join(_describe(e) for e in errors[:5])
    if len(errors) > 5:
        shown += f"; and {len(errors) - 5} more"
    return problem_response(422, "validation_error", shown or "invalid request")


def _allowed_methods(request: Request) -> str:
    """Every method any route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE and isinstance(route, APIRoute):
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = CODES_BY_STATUS.get(exc.status_code, "error")
    detail = exc.detail if isinstance(exc.detail, str) else code
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        detail = "no such resource"
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return problem_response(exc.status_code, code, detail, headers)


async def _integrity(_request: Request, exc: Exception) -> Response:
    # Two requests raced for the same new id (possible on PostgreSQL, where writers run side by
    # side): the database refused the second; the route's own check would have said 409 too.
    logger.info("refused by a database constraint: %s", type(exc.__cause__).__name__)
    return problem_response(409, "conflict", "that conflicts with a change made at the same time")


async def _unexpected(_request: Request, exc: Exception) -> Response:
    logger.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
    return problem_response(500, "internal_error", "the server could not complete the request")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiProblem, _api_problem)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(Exception, _unexpected)


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
    },
}


def document(app: FastAPI) -> None:
    """Declare in the OpenAPI schema what every route really answers on failure: a problem
    document (4XX), instead of FastAPI's default JSON validation error."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
                PROBLEM_SCHEMA
            )
            problem = {
                "description": "An RFC 9457 problem with a stable `code` (docs/api.md)",
                "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    responses = operation.setdefault("responses", {})
                    responses.pop("422", None)
                    responses["4XX"] = problem
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
