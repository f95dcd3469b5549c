"""The HTTP layer: RFC 9457 problems become typed errors, anything else from the server is
checked before use, and a server that does not answer is `ServerUnreachable`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from client_sdk.errors import (
    ApiError,
    ClientError,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerUnreachable,
    Unauthorized,
)
from client_sdk.localserver import LocalServer
from client_sdk.transport import API_PREFIX, Api, unb64
from vault.errors import MalformedError, SecurityError

BASE = "http://kluis.test"
Handler = Callable[[httpx.Request], httpx.Response]


def api(handler: Handler, token: str | None = None, base: str = BASE) -> Api:
    return Api(base, token, transport=httpx.MockTransport(handler))


def answer(status: int, body: Any = None, **kwargs: Any) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if body is None:
            return httpx.Response(status, **kwargs)
        return httpx.Response(status, json=body, **kwargs)

    return handle


def problem(status: int, code: str, detail: str | None = None, title: str | None = None) -> Handler:
    body: dict[str, Any] = {"type": "about:blank", "status": status, "code": code}
    if detail is not None:
        body["detail"] = detail
    if title is not None:
        body["title"] = title

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status,
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/problem+json"},
        )

    return handle


# -- problems ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (413, PayloadTooLarge),
        (429, RateLimited),
    ],
)
def test_a_problem_becomes_its_error_with_code_and_detail(status: int, kind: type) -> None:
    with pytest.raises(kind) as raised:
        api(problem(status, "some_code", "what went wrong")).call("GET", "/dossiers")
    error = raised.value
    assert type(error) is kind
    assert (error.status, error.code, error.detail) == (
        status,
        "some_code",
        "server: what went wrong",
    )
    assert str(error) == "server: what went wrong"


@pytest.mark.parametrize("status", [400, 405, 410, 422, 500, 502, 503])
def test_other_problems_are_plain_api_errors(status: int) -> None:
    with pytest.raises(ApiError) as raised:
        api(problem(status, "other")).call("POST", "/dossiers", json={})
    assert type(raised.value) is ApiError
    assert (raised.value.status, raised.value.code) == (status, "other")


def test_api_errors_are_user_errors_not_security_failures() -> None:
    for kind in (ApiError, Unauthorized, Forbidden, NotFound, Conflict, RateLimited):
        assert issubclass(kind, ClientError)
        assert not issubclass(kind, SecurityError)
    assert issubclass(ServerUnreachable, ClientError)


def test_a_problem_without_detail_uses_its_title() -> None:
    with pytest.raises(NotFound, match="server: Not Found here"):
        api(problem(404, "not_found", title="Not Found here")).call("GET", "/users/x")


def test_a_problem_without_detail_or_title_uses_the_reason_phrase() -> None:
    with pytest.raises(Conflict, match="server: Conflict"):
        api(problem(409, "taken")).call("POST", "/users", json={})


def test_a_problem_without_a_code_is_code_error() -> None:
    with pytest.raises(Forbidden) as raised:
        api(answer(403, {"detail": "no"})).call("GET", "/dossiers")
    assert raised.value.code == "error"


@pytest.mark.parametrize(
    "content", [b"<html><body>502 Bad Gateway</body></html>", b"", b"\xff\xfe", b"[1, 2]"]
)
def test_an_error_that_is_not_a_problem_document_is_still_an_api_error(content: bytes) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, content=content, headers={"Content-Type": "text/html"})

    with pytest.raises(ApiError) as raised:
        api(handle).call("GET", "/dossiers")
    assert (raised.value.status, raised.value.code) == (502, "error")
    assert str(raised.value) == "server: Bad Gateway"


def test_a_rate_limit_detail_is_one_line() -> None:
    with pytest.raises(RateLimited) as raised:
        api(problem(429, "slow_down", "try again in 30 s")).call("POST", "/auth/login", json={})
    assert "\n" not in str(raised.value)


# -- answers that are not what the API promises ---------------------------------------------------
@pytest.mark.parametrize(
    "content", [b"<html>not json</html>", b"{truncated", b"\x00\x01", b"NaN-ish"]
)
def test_a_success_that_is_not_json_is_malformed(content: bytes) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=content)

    with pytest.raises(MalformedError, match="GET /dossiers is not JSON"):
        api(handle).call("GET", "/dossiers")


def test_no_content_is_none() -> None:
    assert api(answer(204)).call("POST", "/auth/logout") is None
    assert api(answer(200)).call("POST", "/auth/logout") is None


def test_json_is_returned_as_is() -> None:
    assert api(answer(200, [{"dossier_id": "ab"}])).call("GET", "/dossiers") == [
        {"dossier_id": "ab"}
    ]


def test_an_upload_answer_that_is_not_json_is_malformed() -> None:
    # Regression test of a bug since fixed in client_sdk. It was:
    # Api.upload calls response.json() unguarded: a non-JSON answer escapes as a bare
    # json.JSONDecodeError (a ValueError), unlike `call`, which raises MalformedError.
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>proxy says hi</html>")

    with pytest.raises(MalformedError):
        api(handle).upload([b"ciphertext"])


def test_an_upload_answer_that_is_not_an_object_is_malformed() -> None:
    # Regression test of a bug since fixed in client_sdk. It was:
    # Api.upload returns whatever JSON came back; `_encrypt_and_upload` then calls
    # answer.get(...) and a list or a string crashes the CLI with AttributeError (a traceback).
    for body in ([], "text", 42, None):

        def handle(request: httpx.Request, body: Any = body) -> httpx.Response:
            return httpx.Response(200, content=json.dumps(body).encode())

        with pytest.raises(MalformedError):
            api(handle).upload([b"ciphertext"])


# -- requests ------------------------------------------------------------------------------------
def test_requests_go_under_the_api_prefix_with_the_token() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    client = api(handle, token="tok-123", base=BASE + "/")
    client.call("GET", "/dossiers", params={"x": "1"})
    assert str(seen[0].url) == f"{BASE}{API_PREFIX}/dossiers?x=1"
    assert seen[0].headers["Authorization"] == "Bearer tok-123"


def test_no_token_no_authorization_header() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    api(handle).call("POST", "/auth/prelogin", json={"username": "anna"})
    assert "Authorization" not in seen[0].headers
    assert json.loads(seen[0].content) == {"username": "anna"}


def test_an_upload_streams_octet_stream() -> None:
    seen: list[tuple[str, bytes]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers["Content-Type"], request.read()))
        return httpx.Response(201, json={"upload_id": "u1", "size": 6, "blake3": "00"})

    result = api(handle, token="t").upload(iter([b"abc", b"def"]))
    assert result == {"upload_id": "u1", "size": 6, "blake3": "00"}
    assert seen == [("application/octet-stream", b"abcdef")]


def test_an_upload_refused_as_too_large_is_payload_too_large() -> None:
    with pytest.raises(PayloadTooLarge) as raised:
        api(problem(413, "too_large", "at most 1000 bytes")).upload([b"x" * 2000])
    assert raised.value.detail == "server: at most 1000 bytes"


def test_a_download_streams_the_bytes() -> None:
    payload = bytes(range(256)) * 5000

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=payload)

    with api(handle).download("/documents/x/versions/1/payload") as chunks:
        assert b"".join(chunks()) == payload


def test_a_download_refused_is_its_api_error() -> None:
    with (
        pytest.raises(NotFound, match="server: no such document"),
        api(problem(404, "not_found", "no such document")).download("/documents/x") as chunks,
    ):
        list(chunks())


# -- a server that does not answer -----------------------------------------------------------------
def test_connection_refused_is_server_unreachable(closed_port_url: str) -> None:
    client = Api(closed_port_url)
    with pytest.raises(ServerUnreachable) as raised:
        client.call("GET", "/dossiers")
    assert closed_port_url in str(raised.value)
    assert "ConnectError" in str(raised.value)
    with pytest.raises(ServerUnreachable):
        client.upload([b"x"])
    with pytest.raises(ServerUnreachable), client.download("/documents/x") as chunks:
        list(chunks())


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("closed mid-answer"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_transport_failures_are_server_unreachable(error: httpx.TransportError) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise error

    with pytest.raises(ServerUnreachable, match=type(error).__name__):
        api(handle).call("GET", "/dossiers")


class BrokenStream(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        yield b"first chunk"
        raise httpx.ReadError("connection reset")


def test_a_connection_lost_mid_download_is_server_unreachable() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=BrokenStream())

    with (
        pytest.raises(ServerUnreachable, match="ReadError"),
        api(handle).download("/documents/x/versions/1/payload") as chunks,
    ):
        list(chunks())


def test_a_server_that_went_away_is_server_unreachable(
    live_server: LocalServer,
) -> None:
    client = Api(live_server.url)
    assert client.call("POST", "/auth/prelogin", json={"username": "nobody"}) is not None
    live_server.kill()
    with pytest.raises(ServerUnreachable):
        client.call("POST", "/auth/prelogin", json={"username": "nobody"})


def test_the_real_server_answers_problems_the_client_understands(server: LocalServer) -> None:
    client = Api(server.url)
    with pytest.raises(NotFound) as missing:
        client.call("GET", "/no-such-route")
    assert (missing.value.status, missing.value.code) == (404, "not_found")
    with pytest.raises(Unauthorized) as anonymous:
        client.call("GET", "/dossiers")
    assert anonymous.value.code == "unauthorized"
    with pytest.raises(ApiError) as invalid:
        client.call("POST", "/users", json={})
    assert (invalid.value.status, invalid.value.code) == (422, "validation_error")
    assert "\n" not in str(invalid.value)


# -- base64 from the server ------------------------------------------------------------------------
def test_unb64_decodes_strict_base64() -> None:
    assert unb64("AAEC/w==", "x") == b"\x00\x01\x02\xff"
    assert unb64("", "x") == b""


@pytest.mark.parametrize("value", [None, 42, b"AAEC", ["AAEC"], {"b64": "AAEC"}])
def test_unb64_refuses_what_is_not_a_string(value: Any) -> None:
    with pytest.raises(MalformedError, match="identity is not a base64 string"):
        unb64(value, "identity")


@pytest.mark.parametrize("value", ["AAE", "AA=C", "AAEC\n", "AA EC", "AAE-_w==", "é"])
def test_unb64_refuses_what_is_not_valid_base64(value: str) -> None:
    with pytest.raises(MalformedError, match="grant is not valid base64"):
        unb64(value, "grant")


# -- start-up: no CA bundle for a server that speaks plain http (issue 21) -------------------------
@pytest.fixture
def ca_loads(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The CA files and folders loaded into an SSL context from now on."""
    import ssl

    loaded: list[object] = []
    real = ssl.SSLContext.load_verify_locations

    def recording(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loaded.append(args or kwargs)
        real(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", recording)
    return loaded


def test_a_plain_http_server_loads_no_ca_bundle(ca_loads: list[object]) -> None:
    Api("http://127.0.0.1:8000").close()
    assert ca_loads == []


def test_an_https_server_is_verified_against_the_ca_bundle(ca_loads: list[object]) -> None:
    Api("https://kluis.example").close()
    assert ca_loads, "an https:// server must be checked against trusted CAs"
