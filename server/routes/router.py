"""The API's routers: a sync endpoint runs in one worker-thread call, and what it returns is
validated in the event loop.

FastAPI runs a sync endpoint in a worker thread and then validates its return value in a
second worker-thread call. Each call costs a queue hand-off and two thread switches (on a busy
replica, more than a small query), and a request can wait for a free thread twice. Kluis's
endpoints return models they built themselves (or a Response), so that validation is a type
check, cheaper than the switch. `OneThreadCallRoute` wraps each sync endpoint in a coroutine
that runs it with `run_in_threadpool`, exactly as FastAPI would, and FastAPI then validates the
answer in place as it does for any `async def` endpoint. The endpoint's own signature (and so
its dependencies, parameters and OpenAPI schema) is unchanged: FastAPI reads it through
`functools.wraps`, as it does for `server.db.writes`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool


def in_worker_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """`endpoint` (sync) as a coroutine function that runs it in one worker-thread call."""

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return run


class OneThreadCallRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = in_worker_thread(endpoint)
        super().__init__(path, endpoint, **kwargs)


def resource_router(tag: str) -> APIRouter:
    """A router for one resource's routes (tagged `tag` in the OpenAPI document)."""
    return APIRouter(tags=[tag], route_class=OneThreadCallRoute)
