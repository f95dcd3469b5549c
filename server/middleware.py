"""Pure ASGI middleware: security headers on every answer, and a size bound on request bodies
that are read whole (everything but the streamed upload endpoint, which enforces its own).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import problem_response

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
API_HEADERS: list[tuple[bytes, bytes]] = [
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
]


class SecurityHeaders:
    """Add the headers a browser needs not to sniff, frame, cache or leak API answers."""

    def __init__(self, app: ASGIApp, api_prefixes: Iterable[str]) -> None:
        self.app = app
        self.api_prefixes = tuple(api_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = SECURITY_HEADERS
        if str(scope.get("path", "")).startswith(self.api_prefixes):
            extra = SECURITY_HEADERS + API_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers.extend((k, v) for k, v in extra if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _BodyTooLarge(HTTPException):
    """Raised inside the app's body read; FastAPI passes HTTP exceptions through to the
    problem handlers, which answer 413 `payload_too_large`."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request bodies are limited to {max_bytes} bytes")


class BodyLimit:
    """Refuse (413) request bodies over `max_bytes`, except on paths that stream their own
    (those that match `streaming_paths`, a regular expression matched against the whole
    path)."""

    def __init__(self, app: ASGIApp, max_bytes: int, streaming_paths: str) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.streaming_paths = re.compile(streaming_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.streaming_paths.fullmatch(str(scope.get("path"))):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await self._refuse(scope, receive, send)
                return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413, "payload_too_large", f"request bodies are limited to {self.max_bytes} bytes"
        )
        response.headers["connection"] = "close"
        await response(scope, receive, send)


class ApiCors:
    """CORS for the API only, and only for the origins named in KLUIS_WEB_ORIGINS.

    A request from one of those origins to a path under `prefix` goes through Starlette's
    CORSMiddleware (preflights answered, `Access-Control-Allow-Origin` on answers); every other
    request (no Origin, another origin, another path) reaches the app untouched, so it carries
    no CORS header at all. No credentials: the web app sends a bearer token and
    `credentials: "omit"`."""

    METHODS = ("GET", "POST", "PUT", "DELETE")
    HEADERS = ("authorization", "content-type", "kluis-part-blake3")

    def __init__(self, app: ASGIApp, origins: Iterable[str], prefix: str) -> None:
        from starlette.middleware.cors import CORSMiddleware

        self.app = app
        self.origins = frozenset(origins)
        self.prefix = prefix
        self.cors = CORSMiddleware(
            app,
            allow_origins=sorted(self.origins),
            allow_methods=self.METHODS,
            allow_headers=self.HEADERS,
            allow_credentials=False,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(self.prefix):
            origin = next((v for k, v in scope.get("headers", []) if k == b"origin"), None)
            if origin is not None and origin.decode("latin-1") in self.origins:
                await self.cors(scope, receive, send)
                return
        await self.app(scope, receive, send)
