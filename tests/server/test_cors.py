"""CORS for `kluis web` (web/README.md, "Code delivery"): the operator names, in
KLUIS_WEB_ORIGINS, the exact origins whose pages may call the API from a browser; any other
origin, and every path outside the API, gets no CORS header at all, and `*` is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from server.app import create_app
from server.config import Settings

from .harness import FakeClock, TestClient, run_server

DATABASES = ("sqlite",)
ALLOWED = "http://127.0.0.1:8765"
OTHER = "https://evil.example"


@pytest.fixture
def cors_client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    configured = Settings(
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        web_origins=f"{ALLOWED}, http://localhost:9000",
    )
    with TestClient(create_app(configured, clock=clock)) as client:
        yield client


def cors_headers(response: object) -> dict[str, str]:
    headers = response.headers  # type: ignore[attr-defined]
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith("access-control-")}


def preflight(client: TestClient, origin: str, path: str = "/api/v1/auth/prelogin") -> object:
    return client.options(
        path,
        headers={
            "origin": origin,
            "access-control-request-method": "PUT",
            "access-control-request-headers": "authorization, content-type, kluis-part-blake3",
        },
    )


def test_an_allowed_origin_gets_a_preflight_answer(cors_client: TestClient) -> None:
    response = preflight(cors_client, ALLOWED, "/api/v1/uploads/" + "0" * 32 + "/parts/1")
    assert response.status_code == 200  # type: ignore[attr-defined]
    headers = cors_headers(response)
    assert headers["access-control-allow-origin"] == ALLOWED
    assert "PUT" in headers["access-control-allow-methods"]
    allowed_headers = headers["access-control-allow-headers"].lower()
    for name in ("authorization", "content-type", "kluis-part-blake3"):
        assert name in allowed_headers
    # The page sends a bearer token and `credentials: "omit"`: no cookies, so no credentials.
    assert "access-control-allow-credentials" not in headers


def test_an_allowed_origin_gets_the_header_on_a_real_request(cors_client: TestClient) -> None:
    response = cors_client.get("/api/v1/me", headers={"origin": ALLOWED})
    assert response.status_code == 401
    assert cors_headers(response)["access-control-allow-origin"] == ALLOWED
    assert "access-control-allow-credentials" not in cors_headers(response)
    response = cors_client.post(
        "/api/v1/auth/prelogin", json={"username": "nobody"}, headers={"origin": ALLOWED}
    )
    assert cors_headers(response)["access-control-allow-origin"] == ALLOWED


@pytest.mark.parametrize("origin", [OTHER, "http://127.0.0.1:8766", "null", "http://127.0.0.1"])
def test_another_origin_gets_no_cors_header(cors_client: TestClient, origin: str) -> None:
    assert cors_headers(preflight(cors_client, origin)) == {}
    assert cors_headers(cors_client.get("/api/v1/me", headers={"origin": origin})) == {}


def test_only_the_api_has_cors(cors_client: TestClient) -> None:
    for path in ("/healthz", "/", "/assets/main.js", "/log/checkpoint"):
        assert cors_headers(cors_client.get(path, headers={"origin": ALLOWED})) == {}, path
        assert cors_headers(preflight(cors_client, ALLOWED, path)) == {}, path


def test_no_setting_no_cors(client: TestClient) -> None:
    assert cors_headers(preflight(client, ALLOWED)) == {}
    assert cors_headers(client.get("/api/v1/me", headers={"origin": ALLOWED})) == {}


def test_origins_are_read_exactly(settings: Settings) -> None:
    configured = Settings(
        data_dir=settings.data_dir, web_origins=" HTTPS://Kluis.Example:8443 ,http://[::1]:80 "
    )
    assert configured.web_origin_list == ("https://kluis.example:8443", "http://[::1]:80")
    assert Settings(data_dir=settings.data_dir).web_origin_list == ()


@pytest.mark.parametrize(
    "value",
    [
        "*",
        "http://127.0.0.1:8765,*",
        "null",
        "127.0.0.1:8765",
        "ftp://example.org",
        "https://example.org/",
        "https://example.org/app",
        "https://user@example.org",
        "https://example.org?x=1",
        "https://*.example.org",
        "https://",
    ],
)
def test_a_wildcard_or_a_non_origin_is_refused(settings: Settings, value: str) -> None:
    with pytest.raises(ValidationError, match="web_origins"):
        Settings(data_dir=settings.data_dir, web_origins=value)


def test_a_wildcard_stops_the_server_at_start(tmp_path: Path) -> None:
    result = run_server("--port", "0", "--data-dir", str(tmp_path), env={"KLUIS_WEB_ORIGINS": "*"})
    assert result.returncode == 2
    assert "KLUIS_WEB_ORIGINS" in result.stderr
