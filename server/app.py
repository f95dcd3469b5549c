"""The application factory: settings, database, blob store, routes, problems and middleware."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from . import notifications, notify, problems
from .blobstore import BlobStore, FilesystemBlobStore
from .cleanup import run_cleanup
from .config import Settings
from .db import make_engine
from .maptiles import TileProxy
from .metrics import Metrics, ObserveRequests, RouteTemplates
from .middleware import ApiCors, BodyLimit, SecurityHeaders
from .routes import api_routers, health, log, maptiles, web
from .schema import prepare
from .tlog_service import TransparencyLog

API_PREFIX = "/api/v1"
M_MMAP_THRESHOLD = -3  # glibc <malloc.h>
MMAP_THRESHOLD = 4 << 20  # above the 1 MiB payload buffers, below Argon2id's 19 MiB
VERSION = "1.0.0"

logger = logging.getLogger("kluis.server")


def make_blobstore(settings: Settings) -> BlobStore:
    """The store `settings.blob_backend` names: "filesystem" (the default) or "s3"."""
    if settings.blob_backend == "s3":
        from .blobstore_s3 import S3BlobStore  # its S3 client library only when it is used

        return S3BlobStore.from_settings(settings)
    return FilesystemBlobStore(settings.blob_path)


def return_freed_memory() -> None:
    """Pin glibc's mmap threshold (process-wide) at 4 MiB.

    Left dynamic, glibc raises it after the first large free, and from then on every Argon2id
    hash (19 MiB of memory) comes from, and stays in, the heap arena of whichever thread ran
    it: resident memory grows by ~20 MiB per worker thread that ever hashed. Pinned, blocks
    above 4 MiB are mmapped and returned to the system when freed, while the 1 MiB payload
    buffers stay in the heap, where they are cheap to reuse.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def system_clock() -> int:
    return int(time.time())


def create_app(
    settings: Settings | None = None,
    *,
    clock: Callable[[], int] | None = None,
    blobstore: BlobStore | None = None,
    web_dir: Path | None = None,
) -> FastAPI:
    """Build the app. `clock` (Unix seconds), `blobstore` and the web client's bundle directory
    `web_dir` can be replaced, e.g. in tests."""
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.secret_key  # noqa: B018  (load or create it now: a bad secret fails at start)
    engine = make_engine(settings.db_url, settings.database_pool_size)
    clock = clock or system_clock
    try:
        transparency = TransparencyLog.of(settings, engine)  # a bad log key fails at start
        prepare(engine)  # the schema is the latest, or the server does not start
        transparency.open(clock())  # log what is not logged yet
    except BaseException:
        engine.dispose()
        raise

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        return_freed_memory()  # in the process that serves, however it was started
        routes.prepare()  # build the route table now rather than in the first request
        cleaner = None
        if settings.cleanup_interval_seconds:
            cleaner = asyncio.create_task(periodic_cleanup(app))
        listener = await notify.start(app.state.hub, engine)
        mailer = None
        if settings.notifications_offered:  # one worker per process, never inside a request
            mailer = asyncio.create_task(notifications.run_worker(engine, settings, clock))
        yield
        app.state.hub.close()
        await notifications.stop_worker(mailer)
        await notify.stop(listener)
        if app.state.tiles is not None:
            app.state.tiles.close()
        if cleaner is not None:
            cleaner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await cleaner
        engine.dispose()

    app = FastAPI(
        title="Kluis",
        version=VERSION,
        summary="Untrusted storage for end-to-end encrypted dossiers (docs/api.md).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.hub = notify.Hub()
    app.state.blobs = blobstore or make_blobstore(settings)
    app.state.metrics = Metrics(VERSION)
    app.state.clock = clock
    app.state.log = transparency
    app.state.tiles = (
        TileProxy(
            settings.tile_url,
            max_tiles=settings.tile_cache_tiles,
            timeout=settings.tile_timeout_seconds,
        )
        if settings.tile_url
        else None
    )

    problems.install(app)
    problems.document(app)
    for router in api_routers:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health.router)
    app.include_router(log.tiles)
    app.include_router(maptiles.router)
    app.include_router(web.make_router(web_dir))

    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_json_bytes,
        # POST /uploads and PUT /uploads/{id}/parts/{n} bound what they stream themselves.
        streaming_paths=re.escape(f"{API_PREFIX}/uploads") + r"(/[0-9a-f]{32}/parts/[0-9]+)?",
    )
    app.add_middleware(
        SecurityHeaders,
        api_prefixes=[API_PREFIX, "/healthz", "/readyz", "/metrics", "/log/", "/map/"],
    )
    routes = RouteTemplates(lambda: _route_templates(app))
    app.add_middleware(
        ObserveRequests,
        metrics=app.state.metrics,
        routes=routes,
        upload_routes={
            ("POST", f"{API_PREFIX}/uploads"),
            ("PUT", f"{API_PREFIX}/uploads/{{upload_id}}/parts/{{number}}"),
        },
        download_route=f"{API_PREFIX}/documents/{{document_id}}/versions/{{version}}/payload",
        access_log=settings.access_log,
    )
    if settings.web_origin_list:  # outermost, so that refusals (413, ...) carry it too
        app.add_middleware(ApiCors, origins=settings.web_origin_list, prefix=f"{API_PREFIX}/")
    return app


async def periodic_cleanup(app: FastAPI) -> None:
    """Run cleanup every `cleanup_interval_seconds` in a worker thread; log and go on if it
    fails (a database or blob store that is down now may be back next time)."""
    settings: Settings = app.state.settings
    while True:
        await asyncio.sleep(settings.cleanup_interval_seconds)
        try:
            report = await asyncio.to_thread(
                run_cleanup, app.state.engine, app.state.blobs, settings, app.state.clock()
            )
        except Exception as exc:
            logger.error("periodic cleanup failed", exc_info=exc)
        else:
            logger.info("periodic cleanup: %s", report)


def _route_templates(app: FastAPI) -> list[str]:
    """Every path template the app serves. FastAPI keeps included routers as opaque entries in
    `app.routes`, so the API's templates come from its OpenAPI schema, the documentation pages
    from `app.routes`, and the operations endpoints (`/metrics` is not in the schema) from
    their router."""
    templates = list(app.openapi().get("paths", {}))
    templates.extend(
        path for route in app.routes if isinstance(path := getattr(route, "path", None), str)
    )
    templates.extend(route.path for route in health.router.routes if hasattr(route, "path"))
    return templates
