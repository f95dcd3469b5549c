"""`kluis web verify URL`: is a server serving the web app this package ships?

The web client's build (web/build.mjs) writes `manifest.json` next to the bundle: every file's
path, size and SHA-384. It ships inside the Python package with the bundle, and the server does
not serve it. `verify_web` fetches every file of that manifest from the server at `URL` (the page
at `/`, the rest at its path) and compares the bytes; it also checks that the page comes with the
two headers that keep the browser to those bytes (`Integrity-Policy`, and a Content-Security-Policy
whose `script-src` is `'self' 'wasm-unsafe-eval'` only).

Why this is enough for the code the page runs: index.html names main.js and style.css with their
SHA-384 (`integrity`), main.js carries worker.js's hash and checks the worker's bytes before it
runs them, and the passphrase list is checked by its SHA-256. So a page whose index.html is the
shipped one runs only the shipped scripts. What it cannot show: what the server sends to someone
else, or at another moment (a server can single out one user); run it from where the users are,
and more than once (docs/threat-model.md).

A mismatch is an `IntegrityError` naming each file that differs (the CLI exits 3); a server that
cannot be reached is `ServerUnreachable` (exit 1); a package without a manifest a `ClientError`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from vault.errors import IntegrityError

from .errors import ClientError, ServerUnreachable
from .transport import check_server_address

MANIFEST_FORMAT = "kluis-web-manifest/1"
MANIFEST_NAME = "manifest.json"
TIMEOUT = 30.0
# What the page's answer must say: scripts only from the server's own origin, with integrity.
REQUIRED_SCRIPT_SRC = ("'self'", "'wasm-unsafe-eval'")
REQUIRED_INTEGRITY_POLICY = "blocked-destinations=(script)"
_PATH = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,127})?")
_SHA384_HEX = re.compile(r"[0-9a-f]{96}")


@dataclass(frozen=True)
class ManifestFile:
    path: str
    size: int
    sha384: str  # hex


@dataclass(frozen=True)
class WebManifest:
    files: tuple[ManifestFile, ...]

    @classmethod
    def from_bytes(cls, data: bytes) -> WebManifest:
        """The manifest build.mjs writes; anything else is a `ClientError` (a damaged package)."""
        try:
            document = json.loads(data)
        except ValueError as exc:
            raise ClientError("the web app's manifest is not JSON") from exc
        if not isinstance(document, dict) or document.get("format") != MANIFEST_FORMAT:
            raise ClientError(f"the web app's manifest is not a {MANIFEST_FORMAT} manifest")
        entries = document.get("files")
        if not isinstance(entries, list) or not entries:
            raise ClientError("the web app's manifest lists no files")
        files: list[ManifestFile] = []
        for entry in entries:
            if not isinstance(entry, dict) or set(entry) != {"path", "size", "sha384"}:
                raise ClientError("the web app's manifest has a malformed entry")
            path, size, digest = entry["path"], entry["size"], entry["sha384"]
            if not isinstance(path, str) or not _PATH.fullmatch(path) or ".." in path:
                raise ClientError(f"the web app's manifest names an unsafe path: {path!r}")
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise ClientError(f"the web app's manifest gives {path} a bad size")
            if not isinstance(digest, str) or not _SHA384_HEX.fullmatch(digest):
                raise ClientError(f"the web app's manifest gives {path} a bad SHA-384")
            files.append(ManifestFile(path, size, digest))
        paths = [f.path for f in files]
        if len(set(paths)) != len(paths):
            raise ClientError("the web app's manifest lists a file twice")
        if "index.html" not in paths:
            raise ClientError("the web app's manifest does not list index.html")
        return cls(tuple(files))


def installed_manifest_path() -> Path:
    """Where the installed package keeps the bundle's manifest (found without importing the
    server's code)."""
    spec = importlib.util.find_spec("server")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ClientError("the Kluis server package with the web app is not installed")
    return Path(locations[0]) / "web" / "static" / MANIFEST_NAME


def load_installed_manifest() -> WebManifest:
    path = installed_manifest_path()
    try:
        return WebManifest.from_bytes(path.read_bytes())
    except FileNotFoundError:
        raise ClientError(
            f"this installation has no web app manifest ({path}): build the web app (make web)"
        ) from None


@dataclass(frozen=True)
class FileCheck:
    path: str
    url: str
    ok: bool
    problem: str = ""


@dataclass(frozen=True)
class WebVerifyReport:
    url: str
    files: tuple[FileCheck, ...]

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.files)


def file_url(base: str, path: str) -> str:
    """The address the server serves a bundle file at: the page at `/`, the rest at its path."""
    return base + "/" if path == "index.html" else f"{base}/{path}"


def _header_problems(response: httpx.Response) -> list[str]:
    problems: list[str] = []
    policy = response.headers.get("integrity-policy", "")
    if REQUIRED_INTEGRITY_POLICY not in policy.replace(" ", ""):
        problems.append(
            f"the Integrity-Policy header is {policy!r}, not {REQUIRED_INTEGRITY_POLICY!r}"
        )
    csp = response.headers.get("content-security-policy", "")
    directives = {
        parts[0].lower(): tuple(parts[1:]) for parts in (d.split() for d in csp.split(";")) if parts
    }
    script_src = directives.get("script-src", directives.get("default-src"))
    if script_src is None or sorted(script_src) != sorted(REQUIRED_SCRIPT_SRC):
        problems.append(
            "the Content-Security-Policy allows scripts from "
            f"{' '.join(script_src) if script_src else 'anywhere'!s}, "
            f"not only {' '.join(REQUIRED_SCRIPT_SRC)}"
        )
    return problems


def verify_web(
    url: str,
    *,
    manifest: WebManifest | None = None,
    transport: httpx.BaseTransport | None = None,
) -> WebVerifyReport:
    """Fetch every file of `manifest` (default: the installed package's) from the server at `url`
    and compare; an `IntegrityError` naming every file that differs, or the report."""
    base = check_server_address(url).rstrip("/")
    wanted = manifest or load_installed_manifest()
    checks: list[FileCheck] = []
    with httpx.Client(timeout=TIMEOUT, transport=transport, follow_redirects=False) as http:
        for entry in wanted.files:
            where = file_url(base, entry.path)
            try:
                response = http.get(where, headers={"cache-control": "no-cache"})
            except httpx.TransportError as exc:
                raise ServerUnreachable(f"cannot reach {where} ({type(exc).__name__})") from exc
            problems: list[str] = []
            if response.status_code != 200:
                problems.append(f"the server answered HTTP {response.status_code}")
            else:
                body = response.content
                got = hashlib.sha384(body).hexdigest()
                if got != entry.sha384:
                    problems.append(
                        f"other bytes than this package's ({len(body)} bytes, SHA-384 "
                        f"{got[:16]}..., expected {entry.size} bytes, {entry.sha384[:16]}...)"
                    )
                if entry.path == "index.html":
                    problems.extend(_header_problems(response))
            checks.append(FileCheck(entry.path, where, not problems, "; ".join(problems)))
    report = WebVerifyReport(base, tuple(checks))
    if not report.ok:
        wrong = [c for c in report.files if not c.ok]
        raise IntegrityError(
            f"{base} does not serve the web app of this Kluis package: "
            + "; ".join(f"{c.path}: {c.problem}" for c in wrong)
        )
    return report


def web_verify_command(url: str, echo: Callable[[str], None] = print) -> WebVerifyReport:
    """What `kluis web verify URL` does: check, print one line per file, and the verdict. A
    mismatch raises the `IntegrityError` (the CLI's exit 3) after naming each file."""
    try:
        report = verify_web(url)
    except IntegrityError:
        echo(f"{url}: NOT the web app of this Kluis package")
        raise
    for check in report.files:
        echo(f"ok  {check.path}")
    echo(f"{report.url} serves the web app of this Kluis package ({len(report.files)} files).")
    echo("This shows what the server sent to this computer now, not what it sends to others.")
    return report
