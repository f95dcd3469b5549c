"""The map's tiles through the Kluis origin (server/maptiles.py): `GET /map/config` says
whether there is a map at all, `GET /map/tiles/{z}/{x}/{y}.png` serves a tile. Public, like the
directory."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from ..maptiles import MAX_ZOOM, TileProxy, TileUnavailable, in_range
from ..problems import ApiProblem, not_found
from .router import OneThreadCallRoute

router = APIRouter(prefix="/map", tags=["map"], route_class=OneThreadCallRoute)
CACHE_SECONDS = 7 * 24 * 3600


def _proxy(request: Request) -> TileProxy | None:
    proxy: TileProxy | None = request.app.state.tiles
    return proxy


@router.get("/config")
async def map_config(request: Request) -> dict[str, bool]:
    return {"tiles": _proxy(request) is not None}


@router.get("/tiles/{z}/{x}/{y}.png", responses={200: {"content": {"image/png": {}}}})
async def map_tile(
    request: Request,
    z: Annotated[int, Path(ge=0, le=MAX_ZOOM)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
) -> Response:
    proxy = _proxy(request)
    if proxy is None:
        raise not_found("this server shows no map")
    if not in_range(z, x, y):
        raise not_found("no such tile")
    try:
        tile = await run_in_threadpool(proxy.tile, z, x, y)
    except TileUnavailable as exc:
        raise ApiProblem(502, "tile_unavailable", f"the map's tile server: {exc}") from None
    return Response(
        tile.content,
        media_type=tile.media_type,
        headers={"Cache-Control": f"public, max-age={CACHE_SECONDS}"},
    )
