"""`kluis web --server URL`: the web app from this package, served on this computer.

Who does not want to trust a server's operator for the code of the web app runs it from here:
the bundle installed with this package (next to its manifest, found as `kluis web verify` finds
it, without importing the server), checked against the manifest first (every file's size and
SHA-384; a changed file is an `IntegrityError`, exit 3), then served from memory, exactly the
checked bytes, on 127.0.0.1 only. The page talks to the remote server through CORS (the server
names this page's origin in KLUIS_WEB_ORIGINS, docs/deployment.md).

What differs from the server's own web route (server/routes/web.py): `/config.json` names the
remote server (the page reads it at start and shows it; it carries an address, never code), and
the Content-Security-Policy's `connect-src` allows exactly that server's origin besides 'self'.
Every other header comes from the same data file the server reads (server/web/headers.json).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from vault.errors import IntegrityError

from .errors import ClientError
from .webverify import WebManifest, installed_manifest_path

HEADERS_NAME = "headers.json"
HEADERS_FORMAT = "kluis-web-headers/1"
CONFIG_PATH = "/config.json"
CONFIG_FORMAT = "kluis-web-config/1"
DEFAULT_PORT = 8765
LOOPBACK = "127.0.0.1"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


def server_origin(url: str) -> str:
    """The origin of the server `url` names (`https://host[:port]`, lower case); a `ClientError`
    for anything that is not an http(s) origin (a path, a query, user information)."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        raise ClientError(f"the server address {url!r} has a bad port") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ClientError(f"the server address {url!r} is not an http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise ClientError(f"the server address {url!r} must not carry a user name")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ClientError(
            f"the server address {url!r} has a path; the web app talks to a server at the root "
            "of its address (scheme://host[:port])"
        )
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port is not None else "")


def web_headers(origin: str | None, headers_file: Path | None = None) -> dict[str, str]:
    """The headers of every answer of the web app: those of server/web/headers.json, with the
    CSP's `connect-src` allowing `origin` besides 'self' (None: the server's own headers)."""
    path = headers_file or installed_manifest_path().parent.parent / HEADERS_NAME
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ClientError(f"the web app's headers ({path}) cannot be read: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != HEADERS_FORMAT:
        raise ClientError(f"{path} is not a {HEADERS_FORMAT} file")
    directives = list(document["content-security-policy"])
    if origin is not None:
        connect = [i for i, d in enumerate(directives) if d.split()[0] == "connect-src"]
        if len(connect) != 1 or directives[connect[0]] != "connect-src 'self'":
            raise ClientError(f"{path} has no single connect-src 'self'")
        directives[connect[0]] = f"connect-src 'self' {origin}"
    return {"content-security-policy": "; ".join(directives), **document["headers"]}


@dataclass(frozen=True)
class Bundle:
    """The checked bytes of the installed web app, by the path they are served at."""

    files: dict[str, bytes]


def load_checked_bundle(root: Path | None = None) -> Bundle:
    """Every file of the installed manifest, read once and compared with its size and SHA-384;
    an `IntegrityError` naming every file that differs or is missing."""
    manifest_path = installed_manifest_path() if root is None else root / "manifest.json"
    try:
        manifest = WebManifest.from_bytes(manifest_path.read_bytes())
    except FileNotFoundError:
        raise ClientError(
            f"this installation has no web app ({manifest_path}): build it (make web)"
        ) from None
    base = manifest_path.parent
    files: dict[str, bytes] = {}
    wrong: list[str] = []
    for entry in manifest.files:
        try:
            data = (base / entry.path).read_bytes()
        except OSError:
            wrong.append(f"{entry.path}: missing")
            continue
        if len(data) != entry.size or hashlib.sha384(data).hexdigest() != entry.sha384:
            wrong.append(f"{entry.path}: other bytes than the manifest's")
            continue
        files["/" if entry.path == "index.html" else "/" + entry.path] = data
    if wrong:
        raise IntegrityError(f"the web app installed in {base} was changed: " + "; ".join(wrong))
    return Bundle(files)


def make_server(
    bundle: Bundle, origin: str, port: int = DEFAULT_PORT, headers_file: Path | None = None
) -> ThreadingHTTPServer:
    """An HTTP server on 127.0.0.1:`port` (0: any free port) that answers the bundle's files,
    `/config.json` naming `origin`, and 404 for anything else (421 when the Host is not
    127.0.0.1:`port`); GET and HEAD only."""
    headers = web_headers(origin, headers_file)
    config = json.dumps({"format": CONFIG_FORMAT, "server": origin}).encode()
    files = {**bundle.files, CONFIG_PATH: config}

    class Handler(BaseHTTPRequestHandler):
        server_version = "kluis-web"
        sys_version = ""

        def _answer(self, body: bool) -> None:
            path = self.path.split("?", 1)[0]
            data = files.get(path)
            # Only under its own address: a page of another site whose name was pointed at
            # 127.0.0.1 (DNS rebinding) gets nothing.
            own = f"{LOOPBACK}:{cast(ThreadingHTTPServer, self.server).server_port}"
            status = 200 if data is not None else 404
            if self.headers.get("host") != own:
                status, data = 421, None
            if data is None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-type", "text/plain; charset=utf-8")
                self.send_header("content-length", "10")
                self.end_headers()
                if body:
                    self.wfile.write(b"not found\n")
                return
            suffix = Path(path).suffix if path != "/" else ".html"
            self.send_response(200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-type", MEDIA_TYPES.get(suffix, "application/octet-stream"))
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer(body=True)

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the terminal shows the address and nothing else

    return ThreadingHTTPServer((LOOPBACK, port), Handler)


def web_serve_command(
    server: str,
    port: int = DEFAULT_PORT,
    echo: Callable[[str], None] = print,
    started: Callable[[ThreadingHTTPServer], None] | None = None,
) -> None:
    """What `kluis web --server URL` does: check the installed bundle (IntegrityError, exit 3),
    serve it on 127.0.0.1 until interrupted, and print the local address."""
    origin = server_origin(server)
    bundle = load_checked_bundle()
    try:
        http = make_server(bundle, origin, port)
    except OSError as exc:
        raise ClientError(f"cannot listen on {LOOPBACK}:{port}: {exc.strerror or exc}") from exc
    local = f"http://{LOOPBACK}:{http.server_port}"
    echo(f"The web app of this Kluis package ({len(bundle.files)} files, checked), for {origin}:")
    echo(f"  {local}/")
    echo(f"The server must allow this page: KLUIS_WEB_ORIGINS={local} (docs/deployment.md).")
    echo("Stop with Ctrl-C.")
    if started is not None:
        started(http)
    try:
        http.serve_forever()
    finally:
        http.server_close()
