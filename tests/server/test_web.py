"""The browser client's bundle, served at `/` with a strict Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.app import create_app
from server.config import Settings
from server.routes import web

from .harness import FakeClock, TestClient, assert_problem

CSP_DIRECTIVES = {
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    # The vault worker runs from a blob: URL of bytes the page checked (web/README.md).
    "worker-src 'self' blob:",
    "style-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
}


def csp_of(response: object) -> set[str]:
    header = response.headers["content-security-policy"]  # type: ignore[attr-defined]
    return {part.strip() for part in header.split(";")}


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A stand-in for the built bundle: the route serves whatever `make web` put there."""
    root = tmp_path / "static"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text('<!doctype html><html lang="nl"><title>Kluis</title></html>')
    (root / "assets" / "main.js").write_text("export {};\n")
    (root / "assets" / "style.css").write_text("body {}\n")
    (root / "assets" / "notes.md").write_text("not served\n")
    return root


@pytest.fixture
def web_client(settings: Settings, clock: FakeClock, bundle: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=clock, web_dir=bundle)) as client:
        yield client


def test_the_page_is_served_at_the_root_with_a_strict_csp(web_client: TestClient) -> None:
    response = web_client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>Kluis</title>" in response.text
    assert csp_of(response) >= CSP_DIRECTIVES
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert "'unsafe-eval'" not in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cross-origin-opener-policy"] == "same-origin"
    # A browser that knows it refuses any script without Subresource Integrity.
    assert response.headers["integrity-policy"] == "blocked-destinations=(script)"
    # Decrypted photos are previewed as blob: URLs in <img>; nothing else beyond this origin.
    assert "img-src 'self' blob:" in csp_of(response)


def test_assets_are_served_with_their_types_and_the_same_csp(web_client: TestClient) -> None:
    script = web_client.get("/assets/main.js")
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert csp_of(script) >= CSP_DIRECTIVES
    style = web_client.get("/assets/style.css")
    assert style.headers["content-type"] == "text/css; charset=utf-8"


@pytest.mark.parametrize(
    "path",
    [
        "/assets/missing.js",
        "/assets/notes.md",  # not a type the bundle serves
        "/assets/..%2Findex.html",
        "/assets/.hidden.js",
        "/index.html",  # the page is at / only
    ],
)
def test_anything_else_is_a_problem_404(web_client: TestClient, path: str) -> None:
    assert_problem(web_client.get(path), 404, "not_found")


def test_without_a_bundle_the_root_is_a_problem_404(
    settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    with TestClient(create_app(settings, clock=clock, web_dir=tmp_path / "none")) as client:
        assert_problem(client.get("/"), 404, "not_found")
        assert client.get("/healthz").status_code == 200


BUILT = web.WEB_DIR / "index.html"


def test_the_built_bundle_is_served(settings: Settings, clock: FakeClock) -> None:
    # `make pytest` builds the bundle first; run `make web` before pytest on its own.
    assert BUILT.is_file(), f"the web bundle is not built ({BUILT}): run `make web`"
    with TestClient(create_app(settings, clock=clock)) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert '<html lang="nl">' in page.text
        assert 'src="assets/main.js"' in page.text
        assert csp_of(page) >= CSP_DIRECTIVES
        for name in ("main.js", "worker.js", "style.css"):
            asset = client.get(f"/assets/{name}")
            assert asset.status_code == 200, name
            assert csp_of(asset) >= CSP_DIRECTIVES
        # Nothing in the page loads from another origin.
        assert "http://" not in page.text and "https://" not in page.text
