"""The browser client, served from the same process as the API: `GET /` answers the page and
`GET /assets/{name}` its scripts and styles, from the bundle `make web` builds into
`server/web/static/` (it ships inside the wheel).

Every answer carries a strict Content-Security-Policy: code only from this origin, WebAssembly
compilation allowed (libsodium and BLAKE3 run as WebAssembly), no eval, no inline script or
style, nothing from other origins, no framing; images also from blob: URLs, which is how the
page previews a photo it decrypted (an <img> runs no code). The worker script gets the same
policy, which is the one a module worker runs under.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter
from starlette.responses import FileResponse

from ..problems import ApiProblem

WEB_DIR = Path(__file__).resolve().parent.parent / "web" / "static"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "worker-src 'self'",
        "style-src 'self'",
        # A decrypted photo is previewed as a blob: URL in an <img> (never as a page or object).
        "img-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
WEB_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    # The file names carry no hash yet: revalidate every time, so a new release is used at once.
    "cache-control": "no-cache",
}
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
}
ASSET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def make_router(directory: Path | None = None) -> APIRouter:
    """Routes for the bundle in `directory` (default: the one inside the package)."""
    root = directory or WEB_DIR
    router = APIRouter(include_in_schema=False)

    def answer(path: Path) -> FileResponse:
        media_type = MEDIA_TYPES.get(path.suffix)
        if media_type is None or not path.is_file():
            raise ApiProblem(404, "not_found", "no such page")
        return FileResponse(path, media_type=media_type, headers=WEB_HEADERS)

    @router.get("/")
    async def index() -> FileResponse:
        if not (root / "index.html").is_file():
            raise ApiProblem(404, "not_found", "the web client is not built (make web)")
        return answer(root / "index.html")

    @router.get("/assets/{name}")
    async def asset(name: str) -> FileResponse:
        if not ASSET_NAME.fullmatch(name):
            raise ApiProblem(404, "not_found", "no such page")
        return answer(root / "assets" / name)

    return router
