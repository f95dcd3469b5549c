"""The browser client, served from the same process as the API: `GET /` answers the page and
`GET /assets/{name}` its scripts and styles, from the bundle `make web` builds into
`server/web/static/` (it ships inside the wheel).

Every answer carries a strict Content-Security-Policy: code only from this origin, WebAssembly
compilation allowed (libsodium and BLAKE3 run as WebAssembly), no eval, no inline script or
style, nothing from other origins, no framing; images also from blob: URLs, which is how the
page previews a photo it decrypted (an <img> runs no code). The worker script gets the same
policy, which is the one a module worker runs under.

Code delivery: index.html names main.js and style.css with their SHA-384 (`integrity`), main.js
carries worker.js's and checks it before running it, and `Integrity-Policy` makes a browser that
knows it refuse any script without integrity. The build writes manifest.json (every file's size
and SHA-384), shipped in the package but not served: `kluis web verify URL` compares what a
server serves with it (client_sdk/webverify.py).

`kluis web --server URL` (client_sdk/webserve.py) serves the same bundle from the user's own
computer with the same headers (server/web/headers.json, read by both) but for `connect-src`,
which there allows the remote server; `GET /config.json` tells the page which server to talk
to: here `"server": null`, this one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi import APIRouter
from starlette.responses import FileResponse, JSONResponse

from ..problems import ApiProblem

WEB_DIR = Path(__file__).resolve().parent.parent / "web" / "static"

HEADERS_FILE = Path(__file__).resolve().parent.parent / "web" / "headers.json"
# The headers of the web app's answers live in a data file that `kluis web` reads too (the
# client never imports the server): server/web/headers.json. What they say: code only from
# this origin, WebAssembly compilation allowed (libsodium and BLAKE3), no eval, no inline script
# or style; the vault worker runs from a blob: URL made of the bytes of assets/worker.js after
# the page checked their SHA-384 (a Worker has no `integrity` of its own: web/README.md), so
# `worker-src 'self' blob:`; a decrypted photo is previewed as a blob: URL in an <img> (never as
# a page or object); the API only at this origin (`connect-src 'self'`); no framing. Every
# script the page loads must carry Subresource Integrity (`Integrity-Policy`). The file names
# carry no hash yet, so `cache-control: no-cache`: a new release is used at once.
_HEADERS = json.loads(HEADERS_FILE.read_text(encoding="utf-8"))
CSP_DIRECTIVES: tuple[str, ...] = tuple(_HEADERS["content-security-policy"])
CONTENT_SECURITY_POLICY = "; ".join(CSP_DIRECTIVES)
INTEGRITY_POLICY = _HEADERS["headers"]["integrity-policy"]
WEB_HEADERS: dict[str, str] = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    **_HEADERS["headers"],
}
# What the page reads at start (web/src/app/config.ts): no other server than this one.
# `kluis web` serves its own, naming the remote server.
CONFIG_FILE = "config.json"
CONFIG_FORMAT = "kluis-web-config/1"
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

    @router.get("/" + CONFIG_FILE)
    async def config() -> JSONResponse:
        return JSONResponse({"format": CONFIG_FORMAT, "server": None}, headers=WEB_HEADERS)

    @router.get("/assets/{name}")
    async def asset(name: str) -> FileResponse:
        if not ASSET_NAME.fullmatch(name):
            raise ApiProblem(404, "not_found", "no such page")
        return answer(root / "assets" / name)

    return router
