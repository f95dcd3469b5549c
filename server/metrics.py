"""Prometheus metrics (served at `/metrics`) and the one-line-per-request log.

`ObserveRequests` is the outermost middleware. For every HTTP request it records

- `kluis_http_requests_total{method, route, status}` and the latency histogram
  `kluis_http_request_duration_seconds{method, route, status}`, where `route` is the route
  TEMPLATE (`/api/v1/dossiers/{dossier_id}`: paths hold ids, a label per id would grow
  without bound) or `unmatched`, and `status` the class (`2xx`, `4xx`, ...);
- `kluis_http_errors_total{method, route, status}` with the exact status of every 4xx/5xx
  answer, and `kluis_http_exceptions_total{route, exception}` for exceptions that escaped;
- `kluis_payload_uploaded_bytes_total` / `kluis_payload_downloaded_bytes_total`: payload
  bytes received by `POST /uploads` and the parts of uploads in parts, and sent by the payload
  download route;
- `kluis_http_requests_in_flight`, and the process's CPU, memory and file descriptors;

and writes one JSON line (logger `kluis.access`, server.logging_setup) with the method, route
template, status, duration and request id, nothing else.

The numbers are per process, in a registry of this app's own. Kluis runs one process per
replica (uvicorn with one worker), so each replica is scraped on its own; several worker
processes behind one port would each report their own share (prometheus-client's multiprocess
mode is not set up).
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable, Collection, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .logging_setup import ACCESS_LOGGER, FIELDS

UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds: metadata calls should sit in the lower buckets, payload transfers in the upper.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
# An incoming X-Request-ID is kept only if it looks like a UUID or hex id (from a proxy);
# anything else (which could be anything, even a token) is replaced by a fresh one.
REQUEST_ID = re.compile(r"^[0-9A-Fa-f-]{8,64}$")

access_logger = logging.getLogger(ACCESS_LOGGER)


class Metrics:
    """The app's metrics, in a registry of its own (tests build many apps in one process)."""

    def __init__(self, version: str) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` series
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        Info("kluis", "The Kluis server", registry=self.registry).info({"version": version})
        labels = ("method", "route", "status")
        self.requests = Counter(
            "kluis_http_requests", "HTTP requests answered", labels, registry=self.registry
        )
        self.latency = Histogram(
            "kluis_http_request_duration_seconds",
            "Time from request to the end of the answer",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "kluis_http_errors",
            "Answers with a 4xx or 5xx status, by exact status",
            labels,
            registry=self.registry,
        )
        self.exceptions = Counter(
            "kluis_http_exceptions",
            "Exceptions that escaped a request (answered 500 if nothing was sent yet)",
            ("route", "exception"),
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "kluis_http_requests_in_flight", "Requests being handled", registry=self.registry
        )
        self.uploaded = Counter(
            "kluis_payload_uploaded_bytes",
            "Payload bytes received by POST /uploads and PUT /uploads/{id}/parts/{n}",
            registry=self.registry,
        )
        self.downloaded = Counter(
            "kluis_payload_downloaded_bytes",
            "Payload bytes sent by payload downloads",
            registry=self.registry,
        )

    def exposition(self) -> tuple[bytes, str]:
        """The text format and its content type, for `/metrics`."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class RouteTemplates:
    """Maps a request path to the template of the route that serves it, or `unmatched`.

    Built once (at startup, or on first use) from the app's route templates,
    independent of how the framework records the matched route. When two templates match,
    the one with more literal characters wins (`/users/by-id/{id}` over `/users/{name}`).
    """

    def __init__(self, templates: Callable[[], Iterable[str]]) -> None:
        self._source = templates
        self._patterns: list[tuple[re.Pattern[str], str]] | None = None

    def _compile(self) -> list[tuple[re.Pattern[str], str]]:
        compiled = []
        for template in set(self._source()):
            pieces = re.split(r"(\{[^}]+\})", template)
            regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in pieces)
            literal = sum(len(p) for p in pieces if not p.startswith("{"))
            compiled.append((literal, re.compile(f"^{regex}$"), template))
        compiled.sort(key=lambda item: -item[0])
        return [(pattern, template) for _, pattern, template in compiled]

    def prepare(self) -> None:
        if self._patterns is None:
            self._patterns = self._compile()

    def __call__(self, path: str) -> str:
        self.prepare()
        assert self._patterns is not None
        for pattern, template in self._patterns:
            if pattern.match(path):
                return template
        return UNMATCHED


class ObserveRequests:
    """Pure ASGI middleware: metrics and the request log line for every HTTP request."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        routes: RouteTemplates,
        upload_routes: Collection[tuple[str, str]],
        download_route: str,
        access_log: bool = True,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes
        self.upload_routes = frozenset(upload_routes)  # (method, route template)
        self.download_route = download_route
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        route = self.routes(scope["path"])
        counts_upload = (method, route) in self.upload_routes
        counts_download = route == self.download_route
        status = 0
        received = 0
        sent = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        async def observing_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("ascii")))
                message["headers"] = headers
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        self.metrics.in_flight.inc()
        exception: str | None = None
        try:
            await self.app(scope, counting_receive if counts_upload else receive, observing_send)
        except BaseException as exc:
            exception = type(exc).__name__
            status = status or 500
            raise
        finally:
            self.metrics.in_flight.dec()
            seconds = time.perf_counter() - started
            self._record(method, route, status, seconds, exception)
            if counts_upload:
                self.metrics.uploaded.inc(received)
            if counts_download:
                self.metrics.downloaded.inc(sent)
            if self.access_log:
                self._log(method, route, status, seconds, request_id, exception)

    def _record(
        self, method: str, route: str, status: int, seconds: float, exception: str | None
    ) -> None:
        status_class = f"{status // 100}xx" if status else "none"
        m = self.metrics
        m.requests.labels(method, route, status_class).inc()
        m.latency.labels(method, route, status_class).observe(seconds)
        if status >= 400:
            m.errors.labels(method, route, str(status)).inc()
        if exception is not None:
            m.exceptions.labels(route, exception).inc()

    @staticmethod
    def _log(
        method: str,
        route: str,
        status: int,
        seconds: float,
        request_id: str,
        exception: str | None,
    ) -> None:
        fields: dict[str, object] = {
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "request_id": request_id,
        }
        if exception is not None:
            fields["exception"] = exception
        access_logger.info("request", extra={FIELDS: fields})


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if REQUEST_ID.match(candidate):
                return candidate
            break
    return secrets.token_hex(8)
